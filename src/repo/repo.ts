import fs from 'node:fs';
import path from 'node:path';
import { RvcError, fromFsError } from '../errors.js';
import { mergeConfig, parseConfigLayer, serializeConfigLayer, type Config, type ConfigLayer, type LinkType } from '../model/config.js';
import { parsePointer, serializePointer, POINTER_EXT, type Pointer, type PointerOut } from '../model/pointer.js';
import { isInside, toPosix } from '../model/paths.js';
import { writeFileAtomic, readTextIfExists, sweepStaleTemps, isStaleTempName } from '../fsutil/atomic.js';
import { parseLock } from '../model/lock.js';
import { acquireLock, type LockHolder } from '../fsutil/lockfile.js';
import { IgnoreRules, IGNORE_FILE } from '../fsutil/walk.js';
import { HashState } from '../hashing/state.js';
import { Odb } from '../odb/odb.js';
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
    return new Odb(this.cacheDir, algo, path.join(this.cacheDir, CACHE_TMP_DIR), { shared: this.cacheShared });
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
    return HASH_ALGOS.filter((a) => a === this.odb.algo || fs.existsSync(path.join(this.cacheDir, a))).map((a) => this.odbFor(a));
  }

  /** Finds the repository containing `cwd` (walking up to the first folder with `.rvc/`). */
  static open(cwd: string = process.cwd()): Repo {
    let dir = path.resolve(cwd);
    for (;;) {
      if (fs.existsSync(path.join(dir, RVC_DIR, CONFIG_FILE)) || isRvcDir(path.join(dir, RVC_DIR))) {
        return new Repo(dir, Repo.loadConfig(dir));
      }
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
    const f = path.join(root, RVC_DIR, CONFIG_FILE);
    const l = path.join(root, RVC_DIR, LOCAL_CONFIG_FILE);
    const tracked = readTextIfExists(f);
    const local = readTextIfExists(l);
    return [
      tracked ? parseConfigLayer(tracked, `${RVC_DIR}/${CONFIG_FILE}`, { allowSecrets: false }) : {},
      local ? parseConfigLayer(local, `${RVC_DIR}/${LOCAL_CONFIG_FILE}`, { allowSecrets: true }) : {},
    ];
  }

  writeConfigLayer(local: boolean, layer: ConfigLayer): void {
    const file = path.join(this.rvcDir, local ? LOCAL_CONFIG_FILE : CONFIG_FILE);
    writeFileAtomic(file, serializeConfigLayer(layer), local ? { mode: 0o600 } : {});
  }

  get scm(): boolean {
    return !this.config.core.no_scm;
  }

  get linkTypes(): LinkType[] {
    return this.config.cache.type;
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
        if (e.isDirectory()) sweepTree(path.join(dir, e.name));
        else if (e.name.endsWith('.tmp') && isStaleTempName(e.name)) {
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
      const text = readTextIfExists(path.join(this.root, 'rvc.lock'));
      if (text !== undefined && text.trim() !== '') {
        for (const st of Object.values(parseLock(text, 'rvc.lock').stages)) {
          for (const o of st.outs) dirs.add(path.dirname(path.join(this.root, o.path)));
        }
      }
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
    const rel = toPosix(relNative);
    if (rel === RVC_DIR || isInside(rel, RVC_DIR)) {
      throw new RvcError('PATH_IS_INTERNAL', `'${userPath}' is inside rvc's own ${RVC_DIR}/ folder`, { path: userPath, hint: 'rvc cannot track its own files' });
    }
    return { abs, rel };
  }

  /** Repository-relative paths of every pointer file in the workspace. */
  pointerFiles(): string[] {
    if (this.scm) {
      try {
        return gitListFiles(this.root, [`*${POINTER_EXT}`]).filter((f) => f.endsWith(POINTER_EXT) && !isInside(f, RVC_DIR)).sort();
      } catch (e) {
        if (!(e instanceof RvcError && e.code === 'GIT_FAILED')) throw e;
      }
    }
    return this.walkPointerFiles();
  }

  /**
   * Without git: walk the workspace, but never descend into a folder that a pointer beside it
   * tracks, so a repository with a million data files is not walked to find its pointers.
   */
  private walkPointerFiles(): string[] {
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
        if (d.isFile() && d.name.endsWith(POINTER_EXT) && d.name !== POINTER_EXT) {
          const r = rel ? `${rel}/${d.name}` : d.name;
          if (!ig.empty && ig.ignores(r, false)) continue;
          out.push(r);
          tracked.add(d.name.slice(0, -POINTER_EXT.length));
        }
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
    writeFileAtomic(path.join(this.root, pointerFile), serializePointer(p));
  }

  outsOf(pointerFile: string, pointer: Pointer = this.readPointer(pointerFile)): TrackedOut[] {
    const dir = path.posix.dirname(pointerFile);
    return pointer.outs.map((out, index) => {
      const rel = dir === '.' ? out.path : `${dir}/${out.path}`;
      return { pointerFile, pointer, index, out, rel, abs: path.join(this.root, rel) };
    });
  }

  /** Every tracked output. Pointer files that fail to parse are errors, named. */
  allOuts(): TrackedOut[] {
    return this.pointerFiles().flatMap((f) => this.outsOf(f));
  }

  /**
   * Maps user targets to tracked outputs. A target may be a pointer file, a tracked path, a path
   * inside a tracked folder (giving a `subpath`), or a folder containing pointers.
   */
  resolveTargets(targets: string[], cwd: string = process.cwd()): { tracked: TrackedOut; subpath?: string }[] {
    const all = this.allOuts();
    if (targets.length === 0) return all.map((tracked) => ({ tracked }));
    const res: { tracked: TrackedOut; subpath?: string }[] = [];
    for (const t of targets) {
      const { rel } = this.resolve(t, cwd);
      let found = false;
      for (const tr of all) {
        const m = matchTarget(rel, tr.pointerFile, tr.rel);
        if (!m) continue;
        res.push(m.subpath !== undefined ? { tracked: tr, subpath: m.subpath } : { tracked: tr });
        found = true;
      }
      if (!found) {
        const ptr = rel.endsWith(POINTER_EXT) ? rel : `${rel}${POINTER_EXT}`;
        if (fs.existsSync(path.join(this.root, ptr))) {
          // A pointer git ignores (so not listed) but named explicitly.
          for (const tr of this.outsOf(ptr)) res.push({ tracked: tr });
          continue;
        }
        throw new RvcError('NOT_TRACKED', `'${t}' is not tracked by rvc`, { path: t, hint: `track it with \`rvc add ${t}\`` });
      }
    }
    return res;
  }

  ignoreFileExists(): boolean {
    return fs.existsSync(path.join(this.root, IGNORE_FILE));
  }
}

/**
 * Whether the repository-relative target `rel` selects the output at `outRel` recorded in
 * `file`: the pointer file or the data itself (or the repository root) select it whole, a path
 * inside a tracked folder selects part of it (`subpath`), a folder holding both the pointer and
 * the data selects it whole. Pure, so outputs read at git revisions match the same way.
 */
export function matchTarget(rel: string, file: string, outRel: string): { subpath?: string } | undefined {
  if (file === rel || outRel === rel || rel === '') return {};
  if (isInside(rel, outRel)) return { subpath: rel.slice(outRel.length + 1) };
  if (isInside(outRel, rel) && isInside(file, rel)) return {};
  return undefined;
}

function isRvcDir(p: string): boolean {
  try {
    return fs.statSync(path.join(p, DEFAULT_CACHE_DIR)).isDirectory();
  } catch {
    return false;
  }
}
