import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { HASH_ALGOS, type HashAlgo } from '../model/oid.js';
import { canonicalStage, parseLock, LOCK_SCHEMA, type LockStage } from '../model/lock.js';
import { isPlainObject } from '../model/values.js';
import { writeFileAtomic, makeDirs, tempPathFor } from '../fsutil/atomic.js';
import { hashBuffer } from '../hashing/hash.js';
import type { Repo } from './repo.js';

/**
 * The run-cache: for every run rvc has seen succeed, the stage fingerprint's hash names a file
 * holding the lock entry the run produced. When a stale stage's fingerprint (commands, wdir, dep
 * oids, params, env, output declarations) matches one, its outputs can be checked out from the
 * cache instead of running the command.
 *
 * Layout: `.rvc/cache/runs/<algo>/<ab>/<rest>` locally and `runs/<algo>/<ab>/<rest>` on a remote,
 * where `<ab><rest>` is the hash of the fingerprint text. An entry file is JSON:
 * `{"v": 1, "fingerprint": "<the canonical fingerprint text>", "stage": <lock entry>}`; the
 * fingerprint is kept so an entry can be verified against its name, like a cache object.
 */
export const RUNS_DIR = 'runs';
const ENTRY_VERSION = 1;

export function runKey(algo: HashAlgo, fingerprintText: string): string {
  return hashBuffer(algo, fingerprintText);
}

/** The key of an entry relative to a cache folder or remote root: `runs/<algo>/<ab>/<rest>`. */
export function runObjectKey(algo: HashAlgo, key: string): string {
  return `${RUNS_DIR}/${algo}/${key.slice(0, 2)}/${key.slice(2)}`;
}

export function runEntryPath(repo: Repo, algo: HashAlgo, key: string): string {
  return path.join(repo.cacheDir, ...runObjectKey(algo, key).split('/'));
}

/** Entry file text for a run. */
export function serializeRunEntry(fingerprintText: string, stage: LockStage): string {
  return `${JSON.stringify({ v: ENTRY_VERSION, fingerprint: fingerprintText, stage: canonicalStage(stage) })}\n`;
}

/**
 * Parses and verifies an entry: the fingerprint must hash to the name it was found under and
 * the stage must be a valid lock entry (paths, oids, algorithms), since entries can come from a
 * remote anyone may write to.
 */
export function parseRunEntry(text: string, algo: HashAlgo, key: string, file: string): LockStage {
  const bad = (why: string) => new RvcError('PIPELINE_INVALID', `run-cache entry ${file} is invalid: ${why}`, {
    path: file, hint: 'delete the file; the stage will simply run again',
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text) as unknown;
  } catch {
    throw bad('not JSON');
  }
  if (!isPlainObject(raw) || raw['v'] !== ENTRY_VERSION) throw bad('unknown version');
  const fp = raw['fingerprint'];
  if (typeof fp !== 'string' || runKey(algo, fp) !== key) throw bad('its fingerprint does not match its name');
  const lock = parseLock(JSON.stringify({ schema: LOCK_SCHEMA, stages: { run: raw['stage'] } }), file);
  const st = lock.stages['run'];
  if (!st) throw bad('no stage');
  return st;
}

export function readRunEntry(repo: Repo, algo: HashAlgo, key: string): LockStage | undefined {
  const file = runEntryPath(repo, algo, key);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // none, or unreadable: either way the stage runs
    return undefined;
  }
  try {
    return parseRunEntry(text, algo, key, path.relative(repo.root, file));
  } catch {
    // A damaged entry is as good as none: the stage runs and rewrites it.
    return undefined;
  }
}

export function saveRunEntry(repo: Repo, algo: HashAlgo, key: string, fingerprintText: string, stage: LockStage): void {
  writeRunEntryFile(repo, runEntryPath(repo, algo, key), serializeRunEntry(fingerprintText, stage));
}

/** Writes a run-cache entry (made here or downloaded) at `file`, readable by the group when the cache is shared. */
export function writeRunEntryFile(repo: Repo, file: string, text: string): void {
  makeDirs(path.dirname(file), repo.cacheShared);
  writeFileAtomic(file, text, { fsync: false, ...(repo.cacheShared ? { mode: 0o664 } : {}) });
}

export interface RunEntryRef {
  algo: HashAlgo;
  key: string;
  file: string;
}

/** Every entry in the local run-cache. */
export function listRunEntries(repo: Repo): RunEntryRef[] {
  const out: RunEntryRef[] = [];
  for (const algo of HASH_ALGOS) {
    const base = path.join(repo.cacheDir, RUNS_DIR, algo);
    let shards: string[];
    try {
      shards = fs.readdirSync(base);
    } catch {
      continue;
    }
    for (const shard of shards.sort()) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      let names: string[];
      try {
        names = fs.readdirSync(path.join(base, shard));
      } catch {
        continue;
      }
      for (const n of names.sort()) {
        if (!/^[0-9a-f]{62}$/.test(n)) continue;
        out.push({ algo, key: shard + n, file: path.join(base, shard, n) });
      }
    }
  }
  return out;
}

/**
 * Removes the entry at `file` if it still holds `text` (what gc judged). A repro that ran the
 * same inputs again may have rewritten it since, with other outputs: the entry is first moved
 * aside (a temp name carrying this process's PID, swept as stale if it is killed here), read
 * back, and when it changed it is linked back into place — never over an even newer one,
 * which a link cannot replace. Returns whether it was removed.
 */
export function removeRunEntryIf(file: string, text: string, rel: string = file): boolean {
  const aside = tempPathFor(file);
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw fromFsError(e, rel, 'remove');
  }
  try {
    if (fs.readFileSync(aside, 'utf8') === text) return true;
    try {
      fs.linkSync(aside, file);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw fromFsError(e, rel, 'restore');
    }
    return false;
  } finally {
    fs.rmSync(aside, { force: true });
  }
}
