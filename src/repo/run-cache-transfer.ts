import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { isRvcError } from '../errors.js';
import { tempPathFor } from '../fsutil/atomic.js';
import { HASH_ALGOS, TREE_SUFFIX, objectKey, type HashAlgo } from '../model/oid.js';
import { CHUNKS_SUFFIX } from '../model/chunks.js';
import { existingObjects, type Remote } from '../remote/index.js';
import type { LockFileEntry } from '../model/lock.js';
import type { Repo } from './repo.js';
import { RUNS_DIR, listRunEntries, parseRunEntry, runEntryPath, runObjectKey, writeRunEntryFile } from './run-cache.js';

/** Run-cache entries moved, already there, and skipped as invalid. */
export interface RunEntriesResult {
  transferred: number;
  skipped: number;
  invalid: number;
}

/**
 * Uploads the local run-cache entries whose outputs the remote holds (push them first: the
 * objects of `--run-cache` are part of push's object set). An entry on a remote so implies its
 * outputs are there. Entries that do not parse count as invalid.
 */
export async function pushRunEntries(repo: Repo, remote: Remote, opts: { jobs?: number } = {}): Promise<RunEntriesResult> {
  const res: RunEntriesResult = { transferred: 0, skipped: 0, invalid: 0 };
  const valid: { key: string; file: string; outs: string[] }[] = [];
  const outsByAlgo = new Map<HashAlgo, Set<string>>();
  for (const e of listRunEntries(repo)) {
    try {
      const st = parseRunEntry(fs.readFileSync(e.file, 'utf8'), e.algo, e.key, path.relative(repo.root, e.file));
      valid.push({ key: runObjectKey(e.algo, e.key), file: e.file, outs: st.outs.map((o) => objectKey(o.hash, o.oid)) });
      for (const o of st.outs) outsByAlgo.set(o.hash, (outsByAlgo.get(o.hash) ?? new Set()).add(o.oid));
    } catch {
      res.invalid++;
    }
  }
  if (!valid.length) return res;
  const there = await remote.existing(valid.map((v) => v.key));
  // An output counts as there when it is loose or in one of the remote's packs, or, for a file
  // the remote lacks whole, when its chunk list is there (lists are never packed).
  const outsThere = new Set<string>();
  for (const [algo, oids] of outsByAlgo) {
    for (const oid of await existingObjects(repo.odbFor(algo), remote, [...oids])) outsThere.add(objectKey(algo, oid));
  }
  const notWhole = [...new Set(valid.flatMap((v) => v.outs))].filter((k) => !outsThere.has(k) && !k.endsWith(TREE_SUFFIX)).map((k) => k + CHUNKS_SUFFIX);
  if (notWhole.length) for (const k of await remote.existing(notWhole)) outsThere.add(k.slice(0, -CHUNKS_SUFFIX.length));
  const limit = pLimit(opts.jobs ?? remote.jobs);
  await Promise.all(valid.map((v) => limit(async () => {
    if (there.has(v.key)) {
      res.skipped++;
      return;
    }
    if (v.outs.some((k) => !outsThere.has(k))) return;
    await remote.upload(v.key, v.file);
    res.transferred++;
  })));
  return res;
}

/** The run-cache entry keys on a remote (`runs/<algo>/<ab>/<rest>`), with the algorithm and digest. */
async function* remoteRunKeys(remote: Remote): AsyncGenerator<{ key: string; algo: HashAlgo; digest: string }> {
  for await (const key of remote.list(`${RUNS_DIR}/`)) {
    const m = /^runs\/([a-z0-9]+)\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(key);
    const algo = m?.[1] as HashAlgo | undefined;
    if (!m || !algo || !HASH_ALGOS.includes(algo)) continue;
    yield { key, algo, digest: m[2]! + m[3]! };
  }
}

/** Downloads the entry at `key` into a temp file of this process and returns its text. */
async function downloadRunEntry(repo: Repo, remote: Remote, key: string, digest: string): Promise<string> {
  // Named with our PID, so the stale-temp sweep knows it once this process is gone.
  const tmp = tempPathFor(path.join(repo.odb.tmpDir(), `run-${digest.slice(0, 16)}`));
  try {
    fs.mkdirSync(path.dirname(tmp), { recursive: true });
    await remote.download(key, tmp);
    return fs.readFileSync(tmp, 'utf8');
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** A run-cache entry on a remote: its key and the outputs it records (undefined when it does not parse). */
export interface RemoteRunEntry {
  key: string;
  outs: LockFileEntry[] | undefined;
}

/** Every run-cache entry on the remote, each downloaded and verified against its name. */
export async function listRemoteRunEntries(repo: Repo, remote: Remote, opts: { jobs?: number } = {}): Promise<RemoteRunEntry[]> {
  const limit = pLimit(opts.jobs ?? remote.jobs);
  const jobs: Promise<RemoteRunEntry>[] = [];
  for await (const { key, algo, digest } of remoteRunKeys(remote)) {
    jobs.push(limit(async () => {
      const text = await downloadRunEntry(repo, remote, key, digest);
      try {
        return { key, outs: parseRunEntry(text, algo, digest, key).outs };
      } catch (e) {
        if (!isRvcError(e)) throw e;
        return { key, outs: undefined };
      }
    }));
  }
  return Promise.all(jobs);
}

/**
 * Downloads the remote's run-cache entries the local run-cache lacks, each verified against its
 * name before it is kept (a remote anyone may write to). Their outputs are fetched afterwards
 * with the rest of the run-cache's objects.
 */
export async function fetchRunEntries(repo: Repo, remote: Remote, opts: { jobs?: number } = {}): Promise<RunEntriesResult> {
  const res: RunEntriesResult = { transferred: 0, skipped: 0, invalid: 0 };
  const limit = pLimit(opts.jobs ?? remote.jobs);
  const jobs: Promise<void>[] = [];
  for await (const { key, algo, digest } of remoteRunKeys(remote)) {
    const dest = runEntryPath(repo, algo, digest);
    if (fs.existsSync(dest)) {
      res.skipped++;
      continue;
    }
    jobs.push(limit(async () => {
      try {
        const text = await downloadRunEntry(repo, remote, key, digest);
        parseRunEntry(text, algo, digest, key);
        writeRunEntryFile(repo, dest, text);
        res.transferred++;
      } catch (e) {
        if (!isRvcError(e)) throw e;
        res.invalid++;
      }
    }));
  }
  await Promise.all(jobs);
  return res;
}
