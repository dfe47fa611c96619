import fs from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { isRvcError } from '../errors.js';
import { tempPathFor } from '../fsutil/atomic.js';
import { HASH_ALGOS, objectKey, type HashAlgo } from '../model/oid.js';
import type { Remote } from '../remote/index.js';
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
  for (const e of listRunEntries(repo)) {
    try {
      const st = parseRunEntry(fs.readFileSync(e.file, 'utf8'), e.algo, e.key, path.relative(repo.root, e.file));
      valid.push({ key: runObjectKey(e.algo, e.key), file: e.file, outs: st.outs.map((o) => objectKey(o.hash, o.oid)) });
    } catch {
      res.invalid++;
    }
  }
  if (!valid.length) return res;
  const there = await remote.existing(valid.map((v) => v.key));
  const outsThere = await remote.existing([...new Set(valid.flatMap((v) => v.outs))]);
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

/**
 * Downloads the remote's run-cache entries the local run-cache lacks, each verified against its
 * name before it is kept (a remote anyone may write to). Their outputs are fetched afterwards
 * with the rest of the run-cache's objects.
 */
export async function fetchRunEntries(repo: Repo, remote: Remote, opts: { jobs?: number } = {}): Promise<RunEntriesResult> {
  const res: RunEntriesResult = { transferred: 0, skipped: 0, invalid: 0 };
  const limit = pLimit(opts.jobs ?? remote.jobs);
  const jobs: Promise<void>[] = [];
  for await (const key of remote.list(`${RUNS_DIR}/`)) {
    const m = /^runs\/([a-z0-9]+)\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(key);
    const algo = m?.[1] as HashAlgo | undefined;
    if (!m || !algo || !HASH_ALGOS.includes(algo)) continue;
    const digest = m[2]! + m[3]!;
    const dest = runEntryPath(repo, algo, digest);
    if (fs.existsSync(dest)) {
      res.skipped++;
      continue;
    }
    jobs.push(limit(async () => {
      // Named with our PID, so the stale-temp sweep knows it once this process is gone.
      const tmp = tempPathFor(path.join(repo.odb.tmpDir(), `run-${digest.slice(0, 16)}`));
      try {
        fs.mkdirSync(path.dirname(tmp), { recursive: true });
        await remote.download(key, tmp);
        const text = fs.readFileSync(tmp, 'utf8');
        parseRunEntry(text, algo, digest, key);
        writeRunEntryFile(repo, dest, text);
        res.transferred++;
      } catch (e) {
        if (!isRvcError(e)) throw e;
        res.invalid++;
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    }));
  }
  await Promise.all(jobs);
  return res;
}
