/** gc on the remote: deleting the remote objects a scope does not keep. */
import pLimit from 'p-limit';
import { HASH_ALGOS, isTreeOid, isValidOid, type HashAlgo } from '../model/oid.js';
import type { CommonOptions, Repo } from './repo.js';
import fs from 'node:fs';
import path from 'node:path';
import { RvcError, isRvcError } from '../errors.js';
import { CHUNKS_SUFFIX, chunkListKey, type ChunkEntry } from '../model/chunks.js';
import { tempPathFor } from '../fsutil/atomic.js';
import type { Odb } from '../odb/odb.js';
import { fetchObject, type Remote } from '../remote/index.js';
import { keepFor, type KeepSet } from './keep.js';
import { openRepoRemote } from './remotes.js';
import { listRemoteRunEntries } from './run-cache-transfer.js';

export interface CloudGcResult {
  remote: string;
  removed: string[];
  kept: number;
  dryRun: boolean;
  /** Run-cache entries (`runs/…` keys) removed from the remote (or, with dryRun, that would be), and the number kept. */
  runs: { removed: string[]; kept: number };
  /** Temp files of interrupted pushes removed from the remote (not with dryRun). */
  leftovers: number;
}

/**
 * Deletes remote objects that nothing in the scope references (`keep`, from the same scope as
 * the local gc). Manifests go first, so that a manifest on the remote still implies all its
 * files are there if this is interrupted. Each algorithm the scope uses (and the repository's
 * own) is listed under its prefix.
 *
 * Run-cache entries (`push --run-cache`) follow the local rule: an entry is kept when every
 * output it records is in `keep`; one that does not parse goes. Entries go before any object,
 * so an entry on the remote always implies its outputs are there. With `keepRunCache` every
 * entry stays and so do its outputs (a folder's manifest is fetched alone when the cache lacks
 * it, to keep its files). Each entry is downloaded to be read.
 */
export async function gcCloud(repo: Repo, keep: KeepSet, opts: { remote?: string; dryRun?: boolean; jobs?: number; keepRunCache?: boolean } & CommonOptions): Promise<CloudGcResult> {
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    const trees: string[] = [];
    const files: string[] = [];
    let kept = 0;
    const runs: CloudGcResult['runs'] = { removed: [], kept: 0 };
    for (const e of await listRemoteRunEntries(repo, remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {})) {
      if (opts.keepRunCache) {
        runs.kept++;
        for (const o of e.outs ?? []) await keepOutput(repo, remote, keep, o.hash, o.oid);
      } else if (e.outs?.every((o) => keep.get(o.hash)?.has(o.oid))) runs.kept++;
      else runs.removed.push(e.key);
    }
    for (const algo of HASH_ALGOS.filter((a) => a === repo.odb.algo || keep.has(a))) {
      const k = keepFor(keep, algo);
      const prefix = `${algo}/`;
      const candidates: [string, string][] = [];
      const liveLists: string[] = [];
      for await (const key of remote.list(prefix)) {
        const rest = key.slice(prefix.length);
        if (!/^[0-9a-f]{2}\/[^/]+$/.test(rest)) continue; // not an object key
        const oid = rest.replace('/', '');
        const listOf = oid.endsWith(CHUNKS_SUFFIX) ? oid.slice(0, -CHUNKS_SUFFIX.length) : undefined;
        if (listOf !== undefined && isValidOid(listOf, algo) && !isTreeOid(listOf)) {
          // A chunk list lives as long as its file, and keeps the chunks it names; lists go
          // with the manifests, before any chunk.
          if (k.has(listOf)) {
            kept++;
            if (!k.has(oid)) liveLists.push(listOf);
          } else trees.push(key);
          continue;
        }
        if (!isValidOid(oid, algo)) continue;
        if (k.has(oid)) kept++;
        else if (isTreeOid(oid)) trees.push(key);
        else candidates.push([oid, key]);
      }
      for (const f of liveLists) for (const c of await remoteChunkList(repo.odbFor(algo), remote, f)) k.add(c.oid);
      for (const [oid, key] of candidates) {
        if (k.has(oid)) kept++;
        else files.push(key);
      }
    }
    let leftovers = 0;
    if (!opts.dryRun) {
      const limit = pLimit(opts.jobs ?? remote.jobs);
      await Promise.all(runs.removed.map((k) => limit(() => remote.delete(k))));
      await Promise.all(trees.map((k) => limit(() => remote.delete(k))));
      await Promise.all(files.map((k) => limit(() => remote.delete(k))));
      leftovers = (await remote.sweepLeftovers?.({ everywhere: true })) ?? 0;
    }
    return { remote: name, removed: [...trees, ...files], kept, runs, dryRun: !!opts.dryRun, leftovers };
  } finally {
    await remote.close();
  }
}

/**
 * The chunks of a kept file's chunk list on the remote: the cache's copy of the list when it has
 * one, else the remote's, downloaded to be read. One that cannot be read stops gc before it
 * removes anything: its chunks could not be told apart from garbage.
 */
async function remoteChunkList(odb: Odb, remote: Remote, oid: string): Promise<ChunkEntry[]> {
  const local = odb.chunksListed(oid);
  if (local.length) return local;
  const key = chunkListKey(odb.algo, oid);
  const tmp = tempPathFor(path.join(odb.tmpDir(), `gc-${oid.slice(0, 16)}`));
  try {
    await remote.download(key, tmp);
    return odb.parseChunkListFile(tmp);
  } catch (e) {
    throw new RvcError('OBJECT_CORRUPT', `the chunk list '${key}' on remote ${remote.url} could not be read (${e instanceof Error ? e.message : String(e)}); gc cannot tell which chunks it needs, so it removed nothing from the remote`, {
      hint: 'check the remote with `rvc fsck --cloud`, or push the file again from a clone that has it',
      cause: e,
    });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Adds an output of a kept remote run-cache entry to `keep`, a folder with its files. A manifest
 * the cache lacks is fetched from this remote; one the remote lacks too implies no files there.
 */
async function keepOutput(repo: Repo, remote: Remote, keep: KeepSet, algo: HashAlgo, oid: string): Promise<void> {
  const k = keepFor(keep, algo);
  if (k.has(oid)) return;
  k.add(oid);
  if (!isTreeOid(oid)) return;
  const odb = repo.odbFor(algo);
  try {
    await fetchObject(odb, remote, oid);
    for (const e of odb.readTree(oid)) k.add(e.oid);
  } catch (e) {
    if (!isRvcError(e)) throw e;
  }
}
