import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError, isRvcError } from '../errors.js';
import { isTreeOid, type HashAlgo } from '../model/oid.js';
import type { LockFileEntry } from '../model/lock.js';
import { parseParamsFile } from '../model/params.js';
import { pathsOverlap } from '../model/paths.js';
import { buildOut, type BuiltOut } from '../odb/build.js';
import type { HashState } from '../hashing/state.js';
import type { Repo } from '../repo/repo.js';
import { refuseLinkOutside } from '../repo/project.js';

/**
 * What one command run knows about the workspace: the hash of each path it looked at and the
 * parsed params files. A stage's output is usually the next stage's dependency, so each path
 * is hashed once per run (and, through the hash cache, not re-read at all when unchanged).
 * Running a stage invalidates what its outputs overlap.
 */
export class Workspace {
  private readonly states = new Map<string, HashState>();
  private readonly built = new Map<string, BuiltOut | null>();
  private readonly params = new Map<string, Record<string, unknown> | RvcError>();

  constructor(readonly repo: Repo) {}

  abs(rel: string): string {
    return path.join(this.repo.root, rel);
  }

  state(rel: string, algo: HashAlgo = this.repo.odb.algo): HashState {
    const key = `${algo}\0${rel}`;
    let s = this.states.get(key);
    if (!s) {
      s = this.repo.stateFor(rel, algo);
      this.states.set(key, s);
    }
    return s;
  }

  /** Hash of a workspace file or folder (not stored), or null when it does not exist. */
  hash(rel: string, algo: HashAlgo = this.repo.odb.algo): BuiltOut | null {
    const key = `${algo}\0${rel}`;
    if (this.built.has(key)) return this.built.get(key)!;
    let res: BuiltOut | null = null;
    let exists = true;
    try {
      fs.lstatSync(this.abs(rel));
    } catch (e) {
      const c = errnoCode(e);
      if (c !== 'ENOENT' && c !== 'ENOTDIR') throw fromFsError(e, rel, 'read');
      exists = false;
    }
    if (exists) {
      let b: BuiltOut;
      try {
        b = buildOut(this.abs(rel), rel, {
          odb: this.repo.odbFor(algo), state: this.state(rel, algo), ignore: this.repo.ignore, repoRoot: this.repo.root, store: false,
        });
      } catch (e) {
        // Gone between the look and the read: another process is rewriting it (a stage's outputs
        // go before its command runs). As if it were not there, and not remembered: the stage's
        // output locks settle who runs, and the check after waiting looks again.
        if (isRvcError(e, 'PATH_NOT_FOUND') && !fs.existsSync(this.abs(rel))) return null;
        throw e;
      }
      // Manifests are only needed while comparing; keeping thousands of entries per path is waste.
      const { entries: _entries, ...rest } = b;
      res = rest;
    }
    this.built.set(key, res);
    return res;
  }

  /** Records what a stage just wrote, so downstream stages need not hash it again. */
  remember(rel: string, algo: HashAlgo, b: BuiltOut): void {
    const { entries: _drop, ...rest } = b;
    this.built.set(`${algo}\0${rel}`, rest);
  }

  /** Forgets every path overlapping `rels` (a stage is about to write them). */
  invalidate(rels: readonly string[]): void {
    for (const key of [...this.built.keys()]) {
      const rel = key.slice(key.indexOf('\0') + 1);
      if (rels.some((r) => pathsOverlap(r, rel))) this.built.delete(key);
    }
    for (const rel of [...this.params.keys()]) {
      if (rels.some((r) => pathsOverlap(r, rel))) this.params.delete(rel);
    }
  }

  /** A params file, parsed (errors are kept so each stage reading it reports the same one). */
  paramsFile(rel: string): Record<string, unknown> {
    let v = this.params.get(rel);
    if (v === undefined) {
      try {
        let text: string;
        refuseLinkOutside(this.repo, rel);
        try {
          text = fs.readFileSync(this.abs(rel), 'utf8');
        } catch (e) {
          if (errnoCode(e) === 'ENOENT') {
            throw new RvcError('PARAMS_INVALID', `params file '${rel}' does not exist`, {
              path: rel, hint: `create ${rel}, or change the stage's params in rvc.yaml`,
            });
          }
          throw fromFsError(e, rel, 'read');
        }
        v = parseParamsFile(text, rel);
      } catch (e) {
        if (!(e instanceof RvcError)) throw e;
        v = e;
      }
      this.params.set(rel, v);
    }
    if (v instanceof RvcError) throw v;
    return v;
  }

  /**
   * True when the cache holds the content of `e` completely (for a folder: its manifest and
   * every file it lists). A complete folder is marked so the next check is one stat.
   */
  inCache(e: Pick<LockFileEntry, 'hash' | 'oid'>): boolean {
    const odb = this.repo.odbFor(e.hash);
    if (!odb.hasSync(e.oid)) return false;
    if (!isTreeOid(e.oid) || odb.isMarkedComplete(e.oid)) return true;
    const gen = odb.markGeneration();
    try {
      const ok = odb.readTree(e.oid).every((x) => odb.hasSync(x.oid));
      if (ok) odb.markComplete(e.oid, gen);
      return ok;
    } catch {
      return false;
    }
  }
}

/** A lock entry for a path from what buildOut returned. */
export function entryFromBuilt(rel: string, algo: HashAlgo, b: BuiltOut): LockFileEntry {
  const e: LockFileEntry = { path: rel, hash: algo, oid: b.oid, size: b.size };
  if (b.nfiles !== undefined) e.nfiles = b.nfiles;
  if (b.exec) e.exec = true;
  return e;
}
