import { LOCAL_PACK_ROOT } from '../odb/local-packs.js';
import fs from 'node:fs';
import path from 'node:path';
import { RvcError, fromFsError } from '../errors.js';
import { mergeConfig, parseConfigLayer, serializeConfigLayerChecked, defaultConfig, type Config, type ConfigLayer, type LinkType } from '../model/config.js';
import { outRepoPath, parsePointer, serializePointer, POINTER_EXT, type Pointer, type PointerOut } from '../model/pointer.js';
import { isInside, reservedComponentOf, toPosix } from '../model/paths.js';
import { writeFileAtomic, readTextIfExists, sweepStaleTemps, isStaleTempName } from '../fsutil/atomic.js';
import { parseLock, type LockFileEntry } from '../model/lock.js';
import { LOCK_FILE, PIPELINE_FILE, isLockFile, isPipelineFile } from '../model/names.js';
import { compareStrings } from '../model/values.js';
import { isFile } from '../fsutil/stat.js';
import { acquireLock, type LockHolder } from '../fsutil/lockfile.js';
import { IgnoreRules, IGNORE_FILE } from '../fsutil/walk.js';
import { HashState } from '../hashing/state.js';
import { Odb } from '../odb/odb.js';
import { livePins, removePin, writePin, type PinEntry } from '../odb/pins.js';
import { HASH_ALGOS, type HashAlgo } from '../model/oid.js';
import { gitListFiles } from '../scm/git.js';
import type { ProgressFn } from '../progress.js';

export const RVC_DIR = '.rvc';
export const CONFIG_FILE = 'config.yaml';
export const LOCAL_CONFIG_FILE = 'config.local.yaml';
/** The cache folder inside `.rvc/` unless `cache.dir` says otherwise. */
export const DEFAULT_CACHE_DIR = 'cache';
/** Temp files of objects being written or downloaded: inside the cache, so on its filesystem. */
const CACHE_TMP_DIR = 'tmp';

/**
 * The cache folder of the repository at `root`: `cache.dir` resolved against `.rvc/` (an
 * absolute path as it is), or `.rvc/cache`. The one place the cache's location is decided.
 */
export function cacheDirOf(root: string, config: Config): string {
  return path.resolve(root, RVC_DIR, config.cache.dir ?? DEFAULT_CACHE_DIR);
}

/** Options every library verb accepts. */
export interface CommonOptions {
  /** Folder the user is in; relative paths are resolved against it. Default: process.cwd(). */
  cwd?: string;
  onProgress?: ProgressFn;
  /** How long to wait for another rvc process holding the repository lock. */
  lockWaitMs?: number;
  onLockWait?: (holder: LockHolder | undefined) => void;
  /** Told about something the user should know that does not stop the command. */
  onWarning?: (message: string) => void;
}

export const DEFAULT_LOCK_WAIT_MS = 10_000;

/** One output tracked by a pointer file, with its places in the workspace. */
export interface TrackedOut {
  /** Repository-relative path of the pointer file. */
  pointerFile: string;
  pointer: Pointer;
  index: number;
  out: PointerOut;
  /** Repository-relative POSIX path of the data. */
  rel: string;
  abs: string;
}

/** git pathspecs of every pipeline and lock file, in any folder. */
const PIPELINE_PATTERNS = [PIPELINE_FILE, `*/${PIPELINE_FILE}`, LOCK_FILE, `*/${LOCK_FILE}`];

export class Repo {
  readonly rvcDir: string;
  readonly cacheDir: string;
  readonly tmpDir: string;
  readonly config: Config;
  /** The object database of the repository's hash algorithm (for new objects). */
  readonly odb: Odb;
  private readonly odbs = new Map<HashAlgo, Odb>();
  private ignoreRules?: IgnoreRules;
  /** Repositories in which this process found a lock left by a killed rvc (and swept). */
  private static recovered = new Set<string>();

  private constructor(readonly root: string, config: Config) {
    this.rvcDir = path.join(root, RVC_DIR);
    this.cacheDir = cacheDirOf(root, config);
    this.tmpDir = path.join(this.rvcDir, 'tmp');
    this.config = config;
    this.odb = this.newOdb(config.core.hash);
    this.odbs.set(config.core.hash, this.odb);
  }

  private newOdb(algo: HashAlgo): Odb {
    return new Odb(this.cacheDir, algo, path.join(this.cacheDir, CACHE_TMP_DIR), {
      shared: this.cacheShared,
      ...(this.config.cache.chunk_threshold !== undefined ? { chunkThreshold: this.config.cache.chunk_threshold } : {}),
    });
  }

  /** `cache.shared: group`: folders made in the cache are group-writable and setgid. */
  get cacheShared(): boolean {
    return this.config.cache.shared === 'group';
  }

  /**
   * The object database for `algo`. Pointers record their algorithm, so data added before
   * `core.hash` changed is still found under its own algorithm's folder.
   */
  odbFor(algo: HashAlgo): Odb {
    let o = this.odbs.get(algo);
    if (!o) {
      o = this.newOdb(algo);
      this.odbs.set(algo, o);
    }
    return o;
  }

  /** Object databases of every algorithm that has a folder in the cache (and the default). */
  allOdbs(): Odb[] {
    return HASH_ALGOS.filter((a) => a === this.odb.algo || fs.existsSync(path.join(this.cacheDir, a)) || fs.existsSync(path.join(this.cacheDir, LOCAL_PACK_ROOT, a))).map((a) => this.odbFor(a));
  }

  /** Finds the repository containing `cwd` (walking up to the first folder with `.rvc/`). */
  static open(cwd: string = process.cwd()): Repo {
    const root = Repo.findRoot(cwd);
    return new Repo(root, Repo.loadConfig(root));
  }

  /**
   * Opens the repository without reading its configuration, which may be one rvc refuses: only
   * for the verbs that edit the configuration itself (and so must be able to repair it). They
   * read the file they edit under the lock; `config` here is only the defaults.
   */
  static openUnconfigured(cwd: string = process.cwd()): Repo {
    return new Repo(Repo.findRoot(cwd), defaultConfig());
  }

  private static findRoot(cwd: string): string {
    let dir = path.resolve(cwd);
    for (;;) {
      if (fs.existsSync(path.join(dir, RVC_DIR, CONFIG_FILE)) || isRvcDir(path.join(dir, RVC_DIR))) return dir;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
    throw new RvcError('NOT_A_REPO', `not inside an rvc repository (no ${RVC_DIR}/ folder in '${path.resolve(cwd)}' or above)`, {
      hint: 'run `rvc init` at the top of your git repository first',
    });
  }

  static loadConfig(root: string): Config {
    return mergeConfig(...Repo.readConfigLayers(root));
  }

  static readConfigLayers(root: string): [ConfigLayer, ConfigLayer] {
    return [Repo.readConfigLayer(root, false), Repo.readConfigLayer(root, true)];
  }

  /** The repository-relative name of the tracked or the local config file. */
  static configFileName(local: boolean): string {
    return `${RVC_DIR}/${local ? LOCAL_CONFIG_FILE : CONFIG_FILE}`;
  }

  /** The text of the tracked or local config file, or undefined when there is none. */
  static readConfigText(root: string, local: boolean): string | undefined {
    return readTextIfExists(path.join(root, Repo.configFileName(local)));
  }

  static readConfigLayer(root: string, local: boolean): ConfigLayer {
    const text = Repo.readConfigText(root, local);
    return text ? parseConfigLayer(text, Repo.configFileName(local), Repo.configReadOptions(local)) : {};
  }

  static configReadOptions(local: boolean): { allowSecrets: boolean; fixWith: 'tracked' | 'local' } {
    return { allowSecrets: local, fixWith: local ? 'local' : 'tracked' };
  }

  /** Writes a config layer, after checking that it reads back (else nothing is written). */
  writeConfigLayer(local: boolean, layer: ConfigLayer): void {
    const text = serializeConfigLayerChecked(layer, Repo.configFileName(local), Repo.configReadOptions(local));
    this.writeConfigText(local, text);
  }

  /** Writes a config file's text as it is: only for repairs, whose callers check what they write. */
  writeConfigText(local: boolean, text: string): void {
    writeFileAtomic(path.join(this.root, Repo.configFileName(local)), text, local ? { mode: 0o600 } : {});
  }

  get scm(): boolean {
    return !this.config.core.no_scm;
  }

  get linkTypes(): LinkType[] {
    return this.config.cache.type;
  }

  /** `cache.jobs`: how many files a checkout copies at once (threads), when set. */
  get cacheJobs(): number | undefined {
    return this.config.cache.jobs;
  }

  get ignore(): IgnoreRules {
    return (this.ignoreRules ??= new IgnoreRules(this.root));
  }

  /** Takes the repository lock for a command that writes pointers or the cache. */
  async lock(command: string, opts: CommonOptions): Promise<() => void> {
    fs.mkdirSync(this.tmpDir, { recursive: true });
    return acquireLock(path.join(this.tmpDir, 'lock'), {
      command,
      waitMs: opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
      ...(opts.onLockWait ? { onWait: opts.onLockWait } : {}),
      onStale: () => this.recoverAfterCrash(),
    });
  }

  /** True once this process found (and cleared) a lock a killed rvc left in this repository. */
  get recoveredFromCrash(): boolean {
    return Repo.recovered.has(this.root);
  }

  /**
   * After finding a lock whose holder was killed: removes the temp files that process (or any
   * other dead one) left half-written — in rvc's transient folder, in the cache and run-cache
   * shards, and beside the pointers, .gitignore files and rvc.lock in the workspace. Only temp
   * files whose writer's PID is gone are touched, so a live process is never disturbed. It runs
   * once per process and costs one listing of the cache, paid only after a crash.
   */
  recoverAfterCrash(): void {
    if (this.recoveredFromCrash) return;
    Repo.recovered.add(this.root);
    const sweepTree = (dir: string): void => {
      let ents: fs.Dirent[];
      try {
        ents = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of ents) {
        // A git work tree inside (a copy `rvc verify` or a queued experiment runs in) is another
        // checkout with its own process: its leftovers go with the whole copy, never file by file.
        if (e.isDirectory()) {
          if (!fs.existsSync(path.join(dir, e.name, '.git'))) sweepTree(path.join(dir, e.name));
        } else if (e.name.endsWith('.tmp') && isStaleTempName(e.name)) {
          try {
            fs.rmSync(path.join(dir, e.name), { force: true });
          } catch {
            // best effort: gc and fsck --repair report what is left
          }
        }
      }
    };
    sweepTree(this.tmpDir);
    sweepTree(this.cacheDir);
    const dirs = new Set<string>([this.root]);
    try {
      for (const f of this.pointerFiles()) {
        dirs.add(path.dirname(path.join(this.root, f)));
        try {
          for (const t of this.outsOf(f)) dirs.add(path.dirname(t.abs));
        } catch {
          // a damaged pointer: its folder is swept anyway
        }
      }
    } catch {
      // no pointers to find: the root is still swept
    }
    try {
      for (const o of this.workspaceLockOuts()) dirs.add(path.dirname(path.join(this.root, o.path)));
    } catch {
      // a damaged rvc.lock is reported by the command that reads it
    }
    for (const d of dirs) sweepStaleTemps(d);
  }

  async withLock<T>(command: string, opts: CommonOptions, fn: () => Promise<T> | T): Promise<T> {
    const release = await this.lock(command, opts);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Every output the workspace's lock files record (none without one); a damaged file throws. */
  workspaceLockOuts(): LockFileEntry[] {
    const outs: LockFileEntry[] = [];
    for (const f of this.pipelineFiles().locks) {
      const text = readTextIfExists(path.join(this.root, f));
      if (text === undefined || text.trim() === '') continue;
      for (const st of Object.values(parseLock(text, f).stages)) for (const o of st.outs) outs.push(o);
    }
    return outs;
  }

  /** Where live processes record the objects they rely on (see src/odb/pins.ts). */
  get pinDir(): string {
    return path.join(this.tmpDir, 'pins');
  }

  /**
   * Holds `entries` safe from gc until `release()` is called — which the caller does once the
   * reference that keeps them (pointer, rvc.lock entry) is written. The pin is registered under
   * the repository lock, which gc holds for its whole run, so a gc either ended before (and may
   * have deleted some: they are returned in `missing`, and the caller stores them again — the pin
   * already covers them) or starts after and keeps every pinned object. Objects that already
   * existed before the writer came (identical content) are covered the same way.
   */
  async pinObjects(entries: readonly PinEntry[], command: string, opts: CommonOptions): Promise<{ missing: PinEntry[]; release: () => void }> {
    if (entries.length === 0) return { missing: [], release: () => {} };
    return this.withLock(command, opts, () => {
      const file = writePin(this.pinDir, command, entries);
      const missing = entries.filter((e) => !this.odbFor(e.hash).hasSync(e.oid));
      return { missing, release: () => removePin(file) };
    });
  }

  /**
   * Objects live processes have pinned, per algorithm. Call under the repository lock (gc does)
   * so the set cannot grow while it is used. A pin that cannot be read is refused, named.
   */
  pinnedObjects(): Map<HashAlgo, Set<string>> {
    const { objects, unreadable } = livePins(this.pinDir);
    if (unreadable.length) {
      throw new RvcError('IO', `cannot read '${path.relative(this.root, unreadable[0]!)}', which lists objects a running rvc process relies on; nothing was deleted`, {
        path: path.relative(this.root, unreadable[0]!), hint: 'if no rvc process is running, delete that file and run the command again',
      });
    }
    return objects;
  }

  stateFor(outRel: string, algo: HashAlgo = this.odb.algo): HashState {
    return HashState.load(path.join(this.tmpDir, 'state'), algo, outRel);
  }

  /**
   * Resolves a path the user typed (relative to `cwd`) to the repository, refusing anything
   * outside it or inside `.rvc/`.
   */
  resolve(userPath: string, cwd: string = process.cwd()): { abs: string; rel: string } {
    const abs = path.resolve(cwd, userPath);
    const relNative = path.relative(this.root, abs);
    if (relNative.startsWith('..') || path.isAbsolute(relNative)) {
      throw new RvcError('PATH_OUTSIDE_REPO', `'${userPath}' is outside the repository '${this.root}'`, {
        path: userPath, hint: 'move or copy the data into the repository first',
      });
    }
    // A backslash is a separator only on Windows; elsewhere it is part of a name.
    const rel = path.sep === '\\' ? toPosix(relNative) : relNative;
    const reserved = reservedComponentOf(rel);
    if (reserved !== undefined) {
      throw new RvcError('PATH_IS_INTERNAL', `refusing '${userPath}': '${reserved}' is a folder git or rvc keeps its own files in`, {
        path: userPath, hint: 'rvc cannot track or write the files of git or rvc themselves; name a path outside .git and .rvc',
      });
    }
    return { abs, rel };
  }

  /**
   * Repository-relative paths of every pointer file in the workspace. A pointer git still has in
   * its index but that is gone from the workspace (`rvc remove`, or deleted by hand, before the
   * deletion is committed) is not tracked any more: the workspace is what rvc works on.
   */
  pointerFiles(): string[] {
    if (this.scm) {
      try {
        // The pipeline files come in the same listing when they are not known yet: nearly every
        // command that lists pointers lists pipeline files next, and each git process costs a
        // few tens of milliseconds.
        const seedPipelines = this.pipelineFilesMemo === undefined;
        const listed = gitListFiles(this.root, seedPipelines ? [`*${POINTER_EXT}`, ...PIPELINE_PATTERNS] : [`*${POINTER_EXT}`]);
        if (seedPipelines) this.pipelineFilesMemo = this.sortPipelineFiles(this.gitPipelineFiles(listed));
        return listed
          .filter((f) => f.endsWith(POINTER_EXT) && !isInside(f, RVC_DIR) && isFile(path.join(this.root, f)))
          .sort();
      } catch (e) {
        if (!(e instanceof RvcError && e.code === 'GIT_FAILED')) throw e;
      }
    }
    return this.walkFor((name) => name.endsWith(POINTER_EXT) && name !== POINTER_EXT);
  }

  /**
   * Repository-relative paths of every pipeline file and every lock file in the workspace, in
   * any folder, sorted — found like pointer files (git's list, or a walk that skips tracked data
   * and ignored folders). A lock file whose pipeline file is gone is listed: it still records
   * outputs.
   */
  pipelineFiles(): { pipelines: string[]; locks: string[] } {
    // Asked by several parts of one command: listed once per Repo (one command), and forgotten
    // by the code that creates such a file (forgetPipelineFiles).
    this.pipelineFilesMemo ??= this.listPipelineFiles();
    return this.pipelineFilesMemo;
  }

  /**
   * Where `rel` really is when a symbolic link takes it outside the repository and the cache
   * (the real path), else undefined (inside, or missing). A cloned repository must not make rvc
   * read — and print, or record in rvc.lock — a file elsewhere on the machine: metrics, params,
   * pipeline and plot files are refused when this names a place.
   */
  linkOutside(rel: string): string | undefined {
    let real: string;
    try {
      real = fs.realpathSync(path.join(this.root, rel));
    } catch {
      return undefined; // missing: the caller says so its own way
    }
    const inside = (dir: string): boolean => {
      try {
        const d = fs.realpathSync(dir);
        return real === d || real.startsWith(d.endsWith(path.sep) ? d : d + path.sep);
      } catch {
        return false;
      }
    };
    return inside(this.root) || inside(this.cacheDir) ? undefined : real;
  }

  /** The folder `cwd` names, relative to the root ('.' for the root, or for a folder outside it). */
  dirOf(cwd: string): string {
    const rel = path.relative(this.root, path.resolve(cwd)).split(path.sep).join('/');
    return rel === '' || rel === '..' || rel.startsWith('../') || path.isAbsolute(rel) ? '.' : rel;
  }

  /** Call after creating or deleting a pipeline or lock file. */
  forgetPipelineFiles(): void {
    this.pipelineFilesMemo = undefined;
  }

  private pipelineFilesMemo: { pipelines: string[]; locks: string[] } | undefined;

  private listPipelineFiles(): { pipelines: string[]; locks: string[] } {
    let all: string[] | undefined;
    if (this.scm) {
      try {
        all = this.gitPipelineFiles(gitListFiles(this.root, PIPELINE_PATTERNS));
      } catch (e) {
        if (!(e instanceof RvcError && e.code === 'GIT_FAILED')) throw e;
      }
    }
    return this.sortPipelineFiles(all ?? this.walkFor((name) => name === PIPELINE_FILE || name === LOCK_FILE));
  }

  /** Of a git listing, the pipeline and lock files that are in the workspace. */
  private gitPipelineFiles(listed: readonly string[]): string[] {
    return listed.filter((f) => (isPipelineFile(f) || isLockFile(f)) && !isInside(f, RVC_DIR) && isFile(path.join(this.root, f)));
  }

  private sortPipelineFiles(all: string[]): { pipelines: string[]; locks: string[] } {
    // A pipeline file inside a folder named like git's or rvc's own (`x/.rvc/rvc.yaml`, any
    // spelling a filesystem folds to it) is not the project's: the one reserved-name check.
    all = all.filter((f) => reservedComponentOf(f) === undefined);
    // The root's files first (they are the project's main pipeline), then by path.
    const rootFirst = (a: string, b: string): number => Number(a.includes('/')) - Number(b.includes('/')) || compareStrings(a, b);
    const sorted = [...new Set(all)].sort(rootFirst);
    return { pipelines: sorted.filter(isPipelineFile), locks: sorted.filter(isLockFile) };
  }

  /**
   * Without git: walk the workspace for files whose name `wanted` accepts, but never descend
   * into a folder that a pointer beside it tracks, so a repository with a million data files is
   * not walked to find its pointers.
   */
  private walkFor(wanted: (name: string) => boolean): string[] {
    const out: string[] = [];
    const ig = this.ignore;
    const rec = (abs: string, rel: string): void => {
      if (rel) ig.load(rel);
      let ents: fs.Dirent[];
      try {
        ents = fs.readdirSync(abs, { withFileTypes: true });
      } catch {
        return;
      }
      const tracked = new Set<string>();
      for (const d of ents) {
        if (!d.isFile()) continue;
        if (d.name.endsWith(POINTER_EXT) && d.name !== POINTER_EXT) tracked.add(d.name.slice(0, -POINTER_EXT.length));
        if (!wanted(d.name)) continue;
        const r = rel ? `${rel}/${d.name}` : d.name;
        if (!ig.empty && ig.ignores(r, false)) continue;
        out.push(r);
      }
      for (const d of ents) {
        if (!d.isDirectory() || d.name === '.git' || d.name === RVC_DIR || d.name === 'node_modules' || tracked.has(d.name)) continue;
        const r = rel ? `${rel}/${d.name}` : d.name;
        if (!ig.empty && ig.ignores(r, true)) continue;
        rec(path.join(abs, d.name), r);
      }
    };
    ig.load('');
    rec(this.root, '');
    return out.sort();
  }

  readPointer(pointerFile: string): Pointer {
    const abs = path.join(this.root, pointerFile);
    let text: string;
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch (e) {
      throw fromFsError(e, pointerFile, 'read');
    }
    return parsePointer(text, pointerFile);
  }

  writePointer(pointerFile: string, p: Pointer): void {
    writeFileAtomic(path.join(this.root, pointerFile), serializePointer(p, pointerFile));
  }

  outsOf(pointerFile: string, pointer: Pointer = this.readPointer(pointerFile)): TrackedOut[] {
    return pointer.outs.map((out, index) => {
      const rel = outRepoPath(pointerFile, out.path);
      return { pointerFile, pointer, index, out, rel, abs: path.join(this.root, rel) };
    });
  }

  /** Every tracked output. Pointer files that fail to parse are errors, named. */
  allOuts(): TrackedOut[] {
    return this.pointerFiles().flatMap((f) => this.outsOf(f));
  }

  ignoreFileExists(): boolean {
    return fs.existsSync(path.join(this.root, IGNORE_FILE));
  }
}

/** A target inside a tracked output that names nothing recorded there nor in the workspace. */
export function subpathNotFound(userPath: string, t: { rel: string; pointerFile: string }, isDir: boolean): RvcError {
  return new RvcError('PATH_NOT_FOUND', isDir
    ? `'${userPath}' is not in the tracked folder '${t.rel}': neither in the workspace nor recorded in ${t.pointerFile}`
    : `'${userPath}' does not exist: '${t.rel}' (tracked by ${t.pointerFile}) is a file`, {
    path: userPath,
    hint: isDir ? `check the path; \`rvc status\` lists what is tracked, \`rvc ls . ${t.rel}\` the files recorded at HEAD` : 'check the path; `rvc status` lists what is tracked',
  });
}

function isRvcDir(p: string): boolean {
  try {
    return fs.statSync(path.join(p, DEFAULT_CACHE_DIR)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Refuses an output path (repository-relative, from `resolve`) that a pointer cannot name: a
 * backslash (a folder separator on Windows, refused in every pointer), or a name whose
 * `<name>.rvc` would be longer than the 255 bytes a file name may have. The same names a
 * folder's manifest refuses (walkFiles' `storable`), for the output itself; add and move check
 * it before changing anything.
 */
export function assertTrackableRel(userPath: string, rel: string): void {
  const cannot = (why: string): RvcError => new RvcError('PATH_UNSAFE', `'${userPath}' cannot be tracked: ${why}`, { path: userPath, hint: 'choose another name' });
  if (rel.includes('\\')) throw cannot('its path holds a backslash, a folder separator on Windows');
  const name = path.posix.basename(rel);
  if (Buffer.byteLength(name + POINTER_EXT) > 255) throw cannot(`its pointer file '${name}${POINTER_EXT}' would be longer than 255 bytes, the most a file name may have`);
}
