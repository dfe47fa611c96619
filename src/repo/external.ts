import { PACK_ROOT } from '../model/pack.js';
import { LOCAL_PACK_ROOT } from '../odb/local-packs.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RvcError, isRvcError } from '../errors.js';
import { mergeConfig, parseConfigLayer, type Config } from '../model/config.js';
import { isTreeOid, type HashAlgo } from '../model/oid.js';
import { isInside, toPosix, unsafeRelPathReason } from '../model/paths.js';
import type { PointerOut } from '../model/pointer.js';
import { repoAddressKind, repoUrlProblem, redactRepoUrl } from '../model/repo-url.js';
import type { TreeEntry } from '../model/tree.js';
import { Odb } from '../odb/odb.js';
import { LocalRemote, fetch as fetchObjects, fetchObject, type Remote, type TransferResult } from '../remote/index.js';
import type { ProgressFn } from '../progress.js';
import { gitCloneBare, gitRun } from '../scm/git.js';
import { History } from './history.js';
import type { Output } from '../model/output.js';
import { openConfiguredRemote } from './remotes.js';
import { CONFIG_FILE, RVC_DIR, DEFAULT_CACHE_DIR, Repo, cacheDirOf, type CommonOptions } from './repo.js';

/** Where data comes from in another repository, and where it goes (get and import). */
export interface FromRepoOptions extends CommonOptions {
  /** Another repository: a local path or a URL git can clone. */
  repo: string;
  /** Path inside that repository: tracked data, a file or folder inside it (get: or a file git stores). */
  path: string;
  /** Branch, tag or commit of the source (default: its HEAD). */
  rev?: string;
  /** Destination; default: its name in `cwd`. For get, an existing folder receives it under its own name. */
  out?: string;
  /** Replace an existing destination (import: an existing pointer or workspace copy). */
  force?: boolean;
  jobs?: number;
}

export interface OpenExternalOptions {
  /** Folder a relative local path is resolved against. Default: process.cwd(). */
  baseDir?: string;
}

/** What a path in another repository names at one commit. */
export type SourceData =
  /** Data rvc tracks: a whole output, or a file or folder inside a tracked folder (`subpath`). */
  | { kind: 'rvc'; rel: string; out: PointerOut; subpath?: string; file: string }
  /** A file git itself stores. */
  | { kind: 'git'; rel: string; data: Buffer; exec: boolean };

/**
 * Checks a path inside another repository given by a user or read from a pointer, returning it
 * in POSIX form without './' or a trailing '/' ('' for the root).
 */
export function normaliseSourcePath(p: string): string {
  let s = toPosix(p).replace(/\/+$/, '');
  while (s.startsWith('./')) s = s.slice(2);
  if (s === '.' || s === '') return '';
  const why = unsafeRelPathReason(s);
  if (why) {
    throw new RvcError('PATH_UNSAFE', `refusing source path '${p.slice(0, 200)}' (${why})`, {
      hint: 'name a path relative to the root of the source repository, e.g. data/images',
    });
  }
  return s;
}

/** Refuses repository addresses carrying credentials (never echoing them). */
export function assertRepoAddress(repo: string): void {
  const problem = repoUrlProblem(repo);
  if (problem) {
    throw new RvcError('REMOTE_URL_INVALID', `cannot use repository '${redactRepoUrl(repo)}': ${problem}`, {
      hint: 'give a local path or a URL git can clone without credentials in it (use a git credential helper or ssh keys)',
    });
  }
}

/**
 * Another rvc repository, read without changing it: a local path is read in place with git
 * (its HEAD commit, so uncommitted changes there are invisible), a URL is cloned bare into a
 * temporary folder that close() removes. Files are read at revisions through History.
 */
export class ExternalRepo {
  private constructor(
    /** The address as given. */
    readonly address: string,
    /** Where git reads: the local repository or the temporary clone. */
    readonly gitDir: string,
    /** The source's working folder when it is a local path (its cache may be used). */
    readonly localRoot: string | undefined,
    /** The folder a relative folder remote in the source's config is relative to, if known. */
    readonly remoteBase: string | undefined,
    readonly history: History,
    private readonly tmp: string | undefined,
  ) {}

  static open(address: string, opts: OpenExternalOptions = {}): ExternalRepo {
    assertRepoAddress(address);
    const kind = repoAddressKind(address);
    if (kind.kind === 'path') {
      const expanded = address === '~' || address.startsWith('~/') ? path.join(os.homedir(), address.slice(1)) : address;
      const abs = path.resolve(opts.baseDir ?? process.cwd(), expanded);
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(abs);
      } catch {
        st = undefined;
      }
      if (!st?.isDirectory()) {
        throw new RvcError('PATH_NOT_FOUND', `repository '${address}' does not exist (looked for ${abs})`, {
          path: address, hint: 'give the path of an rvc repository or a URL git can clone',
        });
      }
      return new ExternalRepo(address, abs, abs, abs, openSourceHistory(abs, address), undefined);
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-source-'));
    try {
      const dir = path.join(tmp, 'repo.git');
      try {
        gitCloneBare(address, dir);
      } catch (e) {
        if (!isRvcError(e)) throw e;
        throw new RvcError('GIT_FAILED', `could not clone '${redactRepoUrl(address)}': ${redactRepoUrl(e.message)}`, {
          hint: 'check the URL and that git can reach it (`git ls-remote <url>`)',
        });
      }
      let base: string | undefined;
      if (kind.kind === 'url' && kind.scheme === 'file') {
        try {
          base = fileURLToPath(address);
        } catch {
          base = undefined;
        }
      }
      return new ExternalRepo(address, dir, undefined, base, openSourceHistory(dir, address), tmp);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** A short name for messages. */
  get label(): string {
    return redactRepoUrl(this.address);
  }

  close(): void {
    this.history.close();
    if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  /** The commit `rev` names in the source (default: its HEAD). */
  resolve(rev?: string): string {
    if (rev === undefined) {
      const head = this.history.head();
      if (!head) throw new RvcError('REV_NOT_FOUND', `repository '${this.label}' has no commits`, { hint: 'commit in the source repository first' });
      return head;
    }
    try {
      return this.history.resolve(rev);
    } catch (e) {
      if (isRvcError(e, 'REV_NOT_FOUND')) {
        throw new RvcError('REV_NOT_FOUND', `revision '${rev}' not found in '${this.label}'`, { hint: 'name a branch, tag or commit of the source repository' });
      }
      throw e;
    }
  }

  /** The source's tracked configuration as committed at `commit` (its config.local.yaml is never read). */
  async configAt(commit: string): Promise<Config> {
    const buf = await this.history.readFile(commit, `${RVC_DIR}/${CONFIG_FILE}`);
    const where = `${this.label}@${commit.slice(0, 8)}:${RVC_DIR}/${CONFIG_FILE}`;
    return mergeConfig(buf ? parseConfigLayer(buf.toString('utf8'), where, { allowSecrets: false }) : {});
  }

  /**
   * The outputs recorded at `commit` that can matter for `rel`: those of pointer files in a
   * folder above or below it (and rvc.lock). A damaged pointer elsewhere does not get in the way.
   */
  async outsNear(commit: string, rel: string): Promise<Output[]> {
    return this.history.outsAt(commit, `${this.label}@${commit.slice(0, 8)}`, (file) => {
      const dir = path.posix.dirname(file) === '.' ? '' : path.posix.dirname(file);
      return isInside(rel, dir) || isInside(dir, rel);
    });
  }

  /** What `rel` is at `commit`: rvc-tracked data (or a part of it), or a git file. */
  async findData(commit: string, rel: string): Promise<SourceData> {
    if (rel === '') throw new RvcError('USAGE', 'name a path inside the source repository', { hint: 'e.g. `rvc get <repo> data`' });
    for (const o of await this.outsNear(commit, rel)) {
      if (o.rel === rel) return { kind: 'rvc', rel, out: o.out, file: o.file };
      if (isInside(rel, o.rel)) return { kind: 'rvc', rel: o.rel, out: o.out, subpath: rel.slice(o.rel.length + 1), file: o.file };
    }
    const entry = this.gitEntry(commit, rel);
    if (entry?.type === 'blob') {
      const data = await this.history.readFile(commit, rel);
      if (data) return { kind: 'git', rel, data, exec: entry.mode === '100755' };
    }
    if (entry?.type === 'tree') {
      throw new RvcError('NOT_TRACKED', `'${rel}' is a folder stored in git in '${this.label}', not data rvc tracks`, {
        path: rel, hint: 'name a tracked output or a file; a git folder is best fetched with git itself',
      });
    }
    throw new RvcError('PATH_NOT_FOUND', `'${rel}' does not exist in '${this.label}' at ${commit.slice(0, 8)}`, {
      path: rel, hint: `list what is there with \`rvc ls ${this.label}\``,
    });
  }

  /** One entry of the git tree at `commit`, or undefined. */
  gitEntry(commit: string, rel: string): { mode: string; type: string } | undefined {
    const prefix = gitRun(this.gitDir, ['rev-parse', '--show-prefix']).trim();
    const out = gitRun(this.gitDir, ['ls-tree', '-z', '--full-tree', commit, '--', `${prefix}${rel}`]);
    const first = out.split('\0')[0];
    if (!first) return undefined;
    const [mode, type] = first.split('\t')[0]!.split(' ');
    return { mode: mode!, type: type! };
  }

  /** Entries of the git tree at `commit` below `rel` (one level, or every file with `recursive`). */
  gitList(commit: string, rel: string, recursive: boolean): { path: string; type: 'blob' | 'tree'; mode: string; size?: number }[] {
    const prefix = gitRun(this.gitDir, ['rev-parse', '--show-prefix']).trim();
    let out: string;
    try {
      out = gitRun(this.gitDir, ['ls-tree', '-z', '-l', ...(recursive ? ['-r'] : []), `${commit}:${prefix}${rel}`]);
    } catch (e) {
      if (isRvcError(e, 'GIT_FAILED')) return [];
      throw e;
    }
    const res: { path: string; type: 'blob' | 'tree'; mode: string; size?: number }[] = [];
    for (const rec of out.split('\0')) {
      if (!rec) continue;
      const tab = rec.indexOf('\t');
      const [mode, type, , size] = rec.slice(0, tab).split(/ +/);
      const name = rec.slice(tab + 1);
      if (type === 'blob') res.push({ path: name, type: 'blob', mode: mode!, size: Number(size) });
      else if (type === 'tree') res.push({ path: name, type: 'tree', mode: mode! });
    }
    return res;
  }

  /** Where the objects of this source at `commit` can come from. Call close() when done. */
  objects(commit: string, opts: { jobs?: number } = {}): SourceObjects {
    return new SourceObjects(this, commit, opts.jobs);
  }
}

function openSourceHistory(dir: string, address: string): History {
  try {
    return new History(dir);
  } catch (e) {
    if (isRvcError(e, 'GIT_FAILED')) {
      throw new RvcError('NOT_A_GIT_REPO', `'${redactRepoUrl(address)}' is not a git repository`, {
        path: address, hint: 'rvc reads other repositories through git: give the folder of a git clone, or a git URL',
      });
    }
    throw e;
  }
}

/**
 * The places a source's objects come from, in order: its local cache (only when the source is a
 * local path; read only) and then its default remote as configured at the commit. Every object
 * is verified by hash as it enters the destination store; nothing is ever written to the source.
 */
export class SourceObjects {
  private cacheRemote: Remote | null | undefined;
  private defaultRemote: { name: string; remote: Remote } | null | undefined;

  constructor(
    private readonly src: ExternalRepo,
    private readonly commit: string,
    private readonly jobs: number | undefined,
  ) {}

  private cache(): Remote | undefined {
    if (this.cacheRemote === undefined) {
      const dir = this.src.localRoot ? localCacheDir(this.src.localRoot) : undefined;
      // The source cache's own packs are in `packed/`; its `packs/` holds only copies of its
      // remotes' indexes, whose packs are not there.
      this.cacheRemote = dir && fs.existsSync(dir)
        ? new LocalRemote(dir, dir, { jobs: this.jobs ?? 8, alias: { from: `${PACK_ROOT}/`, to: `${LOCAL_PACK_ROOT}/` } })
        : null;
    }
    return this.cacheRemote ?? undefined;
  }

  private async remote(): Promise<{ name: string; remote: Remote } | undefined> {
    if (this.defaultRemote === undefined) {
      const config = await this.src.configAt(this.commit);
      const name = config.core.remote;
      if (!name) {
        this.defaultRemote = null;
      } else {
        const url = String(config.remote[name]?.url ?? '');
        const relativeFolder = url !== '' && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url) && !path.isAbsolute(url) && !url.startsWith('~');
        if (relativeFolder && !this.src.remoteBase) {
          throw new RvcError('REMOTE_URL_INVALID', `the default remote of '${this.src.label}' is a relative folder ('${url}'), which means nothing outside that repository`, {
            hint: 'give the source as a local path, or configure its remote with an absolute URL',
          });
        }
        this.defaultRemote = await openConfiguredRemote(config, name, this.src.remoteBase ?? process.cwd(), this.jobs !== undefined ? { jobs: this.jobs } : {});
      }
    }
    return this.defaultRemote ?? undefined;
  }

  private noSource(): RvcError {
    return new RvcError('REMOTE_NO_DEFAULT', `'${this.src.label}' has no default remote at ${this.commit.slice(0, 8)}${this.src.localRoot ? ' and its cache lacks the data' : ''}`, {
      hint: 'the source repository must push its data to a default remote (`rvc remote add -d`) and commit that config',
    });
  }

  /** Downloads the objects (trees with their files) that `store` lacks. */
  async fetchInto(store: Odb, oids: string[], opts: { onProgress?: ProgressFn } = {}): Promise<TransferResult> {
    const topts = { ...(this.jobs !== undefined ? { jobs: this.jobs } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
    let first: TransferResult | undefined;
    const cache = this.cache();
    if (cache) {
      try {
        first = await fetchObjects(store, cache, oids, topts);
        if (!first.failed.length) return first;
      } catch (e) {
        if (!isRvcError(e)) throw e;
      }
    }
    const remote = await this.remote();
    if (!remote) {
      if (first) return first;
      throw this.noSource();
    }
    const second = await fetchObjects(store, remote.remote, oids, topts);
    return {
      transferred: [...(first?.transferred ?? []), ...second.transferred],
      skipped: second.skipped,
      failed: second.failed,
      failedCount: second.failedCount,
      failedByCode: second.failedByCode,
    };
  }

  /**
   * Downloads one object (a manifest) without its children, verified by hash (`fetchObject`):
   * from the source's cache, else its default remote.
   */
  async fetchOne(store: Odb, oid: string): Promise<void> {
    if (store.hasSync(oid)) return;
    let lastError: unknown;
    const sources: (() => Promise<Remote | undefined>)[] = [async () => this.cache(), async () => (await this.remote())?.remote];
    for (const get of sources) {
      const remote = await get();
      if (!remote) continue;
      try {
        await fetchObject(store, remote, oid);
        return;
      } catch (e) {
        // A manifest that hashes right but is refused (PATH_UNSAFE, TREE_INVALID) is final.
        if (!isRvcError(e) || e.code === 'PATH_UNSAFE' || e.code === 'TREE_INVALID') throw e;
        lastError = e;
      }
    }
    if (lastError) throw lastError;
    throw this.noSource();
  }

  async close(): Promise<void> {
    await this.cacheRemote?.close();
    await this.defaultRemote?.remote.close();
  }
}

/** A throw-away object store for one algorithm in a temporary folder; remove() deletes it all. */
export function tempOdb(algo: HashAlgo, parent: string = os.tmpdir()): { odb: Odb; dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(parent, 'rvc-objects-'));
  return { odb: new Odb(path.join(dir, 'cache'), algo, path.join(dir, 'tmp')), dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The content a SourceData names, as one output called `name`: the source's own output when the
 * whole of it is wanted, or a file or sub-folder of a tracked folder (whose manifest, built from
 * the parent's, is written into `store`). `fetch` lists the objects to ask the source for: a
 * derived manifest exists only locally, so for it the files are asked for, not the manifest.
 */
export async function outForSource(data: Extract<SourceData, { kind: 'rvc' }>, name: string, store: Odb, objects: SourceObjects): Promise<{ out: PointerOut; fetch: string[] }> {
  const o = data.out;
  if (data.subpath === undefined) {
    // The manifest first, on its own: a crafted one is refused with the reason, before any file moves.
    if (isTreeOid(o.oid)) await objects.fetchOne(store, o.oid);
    const out: PointerOut = { path: name, hash: o.hash, oid: o.oid, size: o.size, ...(o.nfiles !== undefined ? { nfiles: o.nfiles } : {}), ...(o.exec ? { exec: true } : {}) };
    return { out, fetch: [o.oid] };
  }
  if (!isTreeOid(o.oid)) {
    throw new RvcError('PATH_NOT_FOUND', `'${data.rel}/${data.subpath}' does not exist: '${data.rel}' is a file`, { path: `${data.rel}/${data.subpath}` });
  }
  await objects.fetchOne(store, o.oid);
  const entries = store.readTree(o.oid);
  const sub = data.subpath;
  const file = entries.find((e) => e.path === sub);
  if (file) return { out: { path: name, hash: o.hash, oid: file.oid, size: file.size, ...(file.exec ? { exec: true } : {}) }, fetch: [file.oid] };
  const under: TreeEntry[] = entries.filter((e) => isInside(e.path, sub)).map((e) => ({ ...e, path: e.path.slice(sub.length + 1) }));
  if (!under.length) {
    throw new RvcError('PATH_NOT_FOUND', `'${data.rel}/${sub}' does not exist in the tracked folder '${data.rel}'`, { path: `${data.rel}/${sub}` });
  }
  const oid = store.writeTree(under);
  const out: PointerOut = { path: name, hash: o.hash, oid, size: under.reduce((s, e) => s + e.size, 0), nfiles: under.length };
  return { out, fetch: [...new Set(under.map((e) => e.oid))] };
}

/** Throws OBJECT_MISSING naming what could not be fetched, if anything. */
export function assertFetched(r: TransferResult, what: string, label: string): void {
  if (!r.failed.length) return;
  const f = r.failed[0]!;
  throw new RvcError(f.error.code === 'OBJECT_CORRUPT' ? 'OBJECT_CORRUPT' : 'OBJECT_MISSING', `${r.failedCount} object${r.failedCount > 1 ? 's' : ''} of '${what}' could not be fetched from '${label}': ${f.error.message}`, {
    hint: 'the source repository must have pushed this data to its default remote (or, for a local path, have it in its cache)',
    details: { failed: r.failed.map((x) => ({ oid: x.oid, code: x.error.code })) },
  });
}

/** The cache folder of a local source repository: its own `cache.dir`, or `.rvc/cache`. */
function localCacheDir(root: string): string {
  try {
    return cacheDirOf(root, Repo.loadConfig(root));
  } catch {
    // a damaged configuration: the objects are still looked for in the usual place
    return path.join(root, RVC_DIR, DEFAULT_CACHE_DIR);
  }
}

/** Whether `a` and `b` are the same folder or one holds the other. */
export function overlaps(a: string, b: string): boolean {
  const inside = (x: string, y: string): boolean => {
    const r = path.relative(y, x);
    return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
  };
  return inside(a, b) || inside(b, a);
}
