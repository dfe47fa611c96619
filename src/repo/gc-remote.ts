/** gc on the remote: deleting the remote objects a scope does not keep, and keeping packs dense. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { HASH_ALGOS, isTreeOid, isValidOid, objectKey, oidDigest, type HashAlgo } from '../model/oid.js';
import { packIndexKey, packKey, packPrefix, parsePackKey, type PackEntry } from '../model/pack.js';
import { tempPathFor } from '../fsutil/atomic.js';
import { hashBuffer } from '../hashing/hash.js';
import type { CommonOptions, Repo } from './repo.js';
import { RvcError, isRvcError } from '../errors.js';
import { CHUNKS_SUFFIX, chunkListKey, type ChunkEntry } from '../model/chunks.js';
import type { Odb } from '../odb/odb.js';
import { fetchObject, PACK_MAX_OBJECT, PACK_TARGET_SIZE, type Remote } from '../remote/index.js';
import { FOREIGN_TEMP_MAX_AGE_MS } from '../remote/local.js';
import { PackSet, PackWriter } from '../remote/packs.js';
import { goodLocalCopy, salvagePack } from './pack-repair.js';
import { keepFor, type KeepSet } from './keep.js';
import { openRepoRemote } from './remotes.js';
import { listRemoteRunEntries } from './run-cache-transfer.js';

/** A pack whose live objects fill less than this share of its bytes is repacked. */
export const REPACK_BELOW = 0.5;
/**
 * A pack or index written less than this long ago is left alone (not repacked, not removed, not
 * taken for an orphan): it may be a push in flight from another machine. The same day as the
 * folder remote's rule for another machine's temp files.
 */
export const PACK_GRACE_MS = FOREIGN_TEMP_MAX_AGE_MS;
/** `--repack` moves loose objects up to push's limit into packs, of push's size (one rule for both). */
const PACKABLE_MAX_BYTES = PACK_MAX_OBJECT;
/** Loose objects downloaded before they are packed, at most (each at most PACKABLE_MAX_BYTES). */
const LOOSE_BATCH = 64;
const PACK_TARGET_BYTES = PACK_TARGET_SIZE;

/** One pack gc removed (or, with dryRun, would remove): every live object it held is elsewhere. */
export interface PackAction {
  algo: HashAlgo;
  id: string;
  /**
   * `dead`: no live object; `repacked`: its live objects were written into new packs; `orphan`:
   * a pack without an index (or an index without its pack) older than the grace period;
   * `damaged`: an index that does not match its name or does not parse (its pack then goes as
   * an orphan once old). An index is written whole, so a damaged one is never an upload in flight.
   */
  action: 'dead' | 'repacked' | 'orphan' | 'damaged';
  /** Bytes of the pack and its index. */
  size: number;
}

export interface CloudPackGc {
  /** Packs removed, by reason (with dryRun: that would be). */
  removed: PackAction[];
  /** Packs written: the live objects of repacked packs and, with `repack`, small loose objects. */
  written: number;
  /** Loose copies removed because a pack holds the object (converted by `repack`, or packed twice). */
  looseDropped: number;
  /** Loose objects moved into packs (with `repack`). */
  packedLoose: number;
  /** Packs left as they are: dense enough, or younger than the grace period (`young`). */
  kept: number;
  young: number;
  /** Bytes removed from the remote minus bytes written to it (loose objects and packs). */
  bytes: number;
  /**
   * Packs gc meant to repack that are short or altered on the remote where the cache holds no
   * good copy of some live object they list (`unreadable`): left in place, since even a damaged
   * pack may be the only copy of the rest of its bytes, for `rvc fsck --cloud --repair`.
   */
  damaged: DamagedPack[];
}

/** A pack gc left in place because it could not read all its live objects (see CloudPackGc). */
export interface DamagedPack {
  algo: HashAlgo;
  id: string;
  /** The pack's key on the remote. */
  key: string;
  /** Live objects it lists that neither it (short or altered) nor the cache holds intact. */
  unreadable: string[];
}

export interface CloudGcResult {
  remote: string;
  removed: string[];
  kept: number;
  dryRun: boolean;
  /** Run-cache entries (`runs/…` keys) removed from the remote (or, with dryRun, that would be), and the number kept. */
  runs: { removed: string[]; kept: number };
  /** Temp files of interrupted pushes removed from the remote (not with dryRun). */
  leftovers: number;
  packs: CloudPackGc;
}

interface KeyInfo {
  size: number;
  modified: number;
}

/** What gc does to one algorithm's objects on the remote, decided before anything changes. */
interface Plan {
  algo: HashAlgo;
  deadTrees: string[];
  deadFiles: string[];
  /** Loose copies of objects a pack holds (now, or once `toPack` is written). */
  dropLoose: string[];
  toPack: { oid: string; key: string; size: number }[];
  /** Packs whose live objects are written anew before the pack goes. */
  repack: { id: string; entries: PackEntry[] }[];
  /** Packs and lone indexes that go, with the keys to delete (index keys first). */
  gone: PackAction[];
  goneIdx: string[];
  gonePacks: string[];
  kept: number;
  young: number;
  /** Live objects kept on the remote, loose or packed (each once). */
  objectsKept: number;
  removedBytes: number;
  /** Bytes the new packs will hold. */
  packBytes: number;
}

/**
 * Deletes remote objects that nothing in the scope references (`keep`, from the same scope as
 * the local gc), and keeps the remote's packs dense. Each algorithm the scope uses (and the
 * repository's own) is listed under its prefix.
 *
 * Packs (`packs/<algo>/`, see model/pack.ts): a live object held by several copies (loose and
 * packed, or in two packs, as an interrupted repack leaves it) counts once, in its canonical
 * copy: the pack whose live share is highest (then the lowest id); a loose copy is canonical only
 * when no pack holds the object. A pack with no canonical live object goes; one whose canonical
 * live objects fill less than REPACK_BELOW of it, or that holds a dead manifest, is repacked.
 * Packs younger than PACK_GRACE_MS are left alone, and so are packs without an index until
 * they are that old. With `repack`, live loose objects up to PACKABLE_MAX_BYTES are moved into
 * packs too.
 *
 * Order, so that a kill at any point loses nothing and keeps "a manifest on the remote implies
 * its files are there": new packs (pack, then index) are uploaded first; then dead loose
 * manifests go; then the indexes of the packs that go; then loose files (dead ones, and copies a
 * pack now holds); then those packs' bytes and old orphans. A re-run finds the new packs
 * canonical and finishes the work.
 *
 * Run-cache entries (`push --run-cache`) follow the local rule: an entry is kept when every
 * output it records is in `keep`; one that does not parse goes. Entries go before any object,
 * so an entry on the remote always implies its outputs are there. With `keepRunCache` every
 * entry stays and so do its outputs (a folder's manifest is fetched alone when the cache lacks
 * it, to keep its files). Each entry is downloaded to be read.
 */
export async function gcCloud(
  repo: Repo, keep: KeepSet,
  opts: { remote?: string; dryRun?: boolean; jobs?: number; keepRunCache?: boolean; repack?: boolean; now?: number } & CommonOptions,
): Promise<CloudGcResult> {
  const { name, remote } = await openRepoRemote(repo, opts.remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {});
  try {
    let kept = 0;
    const runs: CloudGcResult['runs'] = { removed: [], kept: 0 };
    for (const e of await listRemoteRunEntries(repo, remote, opts.jobs !== undefined ? { jobs: opts.jobs } : {})) {
      if (opts.keepRunCache) {
        runs.kept++;
        for (const o of e.outs ?? []) await keepOutput(repo, remote, keep, o.hash, o.oid);
      } else if (e.outs?.every((o) => keep.get(o.hash)?.has(o.oid))) runs.kept++;
      else runs.removed.push(e.key);
    }
    const now = opts.now ?? Date.now();
    const plans: Plan[] = [];
    for (const algo of HASH_ALGOS.filter((a) => a === repo.odb.algo || keep.has(a))) {
      plans.push(await planAlgo(repo, remote, algo, keep.get(algo) ?? new Set<string>(), now, !!opts.repack));
    }
    for (const p of plans) kept += p.objectsKept;
    const packs: CloudPackGc = {
      removed: plans.flatMap((p) => p.gone), written: 0, packedLoose: plans.reduce((n, p) => n + p.toPack.length, 0),
      looseDropped: plans.reduce((n, p) => n + p.dropLoose.length, 0), kept: plans.reduce((n, p) => n + p.kept, 0),
      young: plans.reduce((n, p) => n + p.young, 0), bytes: 0, damaged: [],
    };
    let written = plans.reduce((n, p) => n + p.packBytes, 0);
    let leftovers = 0;
    if (!opts.dryRun) {
      const limit = pLimit(opts.jobs ?? remote.jobs);
      const del = (keys: string[]): Promise<unknown> => Promise.all(keys.map((k) => limit(() => remote.delete(k))));
      await del(runs.removed);
      written = 0;
      for (const p of plans) {
        const w = await writePacks(repo, remote, p);
        packs.written += w.packs;
        written += w.bytes;
        packs.damaged.push(...w.damaged);
      }
      // A damaged pack stays: neither its index nor its bytes are deleted, nor loose copies of
      // what it could not give.
      if (packs.damaged.length) {
        packs.removed = plans.flatMap((p) => p.gone);
        packs.kept = plans.reduce((n, p) => n + p.kept, 0);
      }
      // Nothing was deleted until every new pack and its index were uploaded.
      for (const p of plans) await del(p.deadTrees);
      for (const p of plans) await del(p.goneIdx);
      for (const p of plans) await del([...p.deadFiles, ...p.dropLoose]);
      for (const p of plans) await del(p.gonePacks);
      // The cached copies of the indexes deleted are of no use any more.
      for (const p of plans) for (const g of p.gone) rmSync(path.join(packIndexDir(repo, p.algo), `${g.id}.idx`), { force: true });
      leftovers = (await remote.sweepLeftovers?.({ everywhere: true })) ?? 0;
    } else {
      packs.written = Math.ceil(written / PACK_TARGET_BYTES);
    }
    packs.bytes = plans.reduce((n, p) => n + p.removedBytes, 0) - written;
    const removed = plans.flatMap((p) => [...p.deadTrees, ...p.deadFiles]);
    return { remote: name, removed, kept, runs, dryRun: !!opts.dryRun, leftovers, packs };
  } finally {
    await remote.close();
  }
}

/** The local folder where a remote's pack indexes are kept (content-addressed, so one for all remotes). */
function packIndexDir(repo: Repo, algo: HashAlgo): string {
  return repo.odbFor(algo).packIndexDir();
}

async function planAlgo(repo: Repo, remote: Remote, algo: HashAlgo, live: Set<string>, now: number, repack: boolean): Promise<Plan> {
  const plan: Plan = {
    algo, deadTrees: [], deadFiles: [], dropLoose: [], toPack: [], repack: [], gone: [], goneIdx: [], gonePacks: [],
    kept: 0, young: 0, objectsKept: 0, removedBytes: 0, packBytes: 0,
  };
  const loose = new Map<string, { key: string; size: number }>();
  const prefix = `${algo}/`;
  const listed: { oid: string; key: string; size: number }[] = [];
  const chunkLists: { of: string; key: string; size: number }[] = [];
  for await (const d of remote.listDetailed(prefix)) {
    const rest = d.key.slice(prefix.length);
    if (!/^[0-9a-f]{2}\/[^/]+$/.test(rest)) continue; // not an object key
    const oid = rest.replace('/', '');
    const listOf = oid.endsWith(CHUNKS_SUFFIX) ? oid.slice(0, -CHUNKS_SUFFIX.length) : undefined;
    if (listOf !== undefined && isValidOid(listOf, algo) && !isTreeOid(listOf)) chunkLists.push({ of: listOf, key: d.key, size: d.size });
    else if (isValidOid(oid, algo)) listed.push({ oid, key: d.key, size: d.size });
  }
  // A chunk list lives as long as its file and keeps the chunks it names (loose or packed), so
  // the lists are read before any object is judged; a dead list goes with the manifests, before
  // any chunk. Lists are never packed.
  let listsKept = 0;
  for (const l of chunkLists) {
    if (live.has(l.of)) {
      listsKept++;
      for (const c of await remoteChunkList(repo.odbFor(algo), remote, l.of)) live.add(c.oid);
    } else {
      plan.deadTrees.push(l.key);
      plan.removedBytes += l.size;
    }
  }
  for (const { oid, key, size } of listed) {
    if (live.has(oid)) loose.set(oid, { key, size });
    else {
      (isTreeOid(oid) ? plan.deadTrees : plan.deadFiles).push(key);
      plan.removedBytes += size;
    }
  }
  const packInfo = new Map<string, KeyInfo>();
  const idxInfo = new Map<string, KeyInfo>();
  for await (const d of remote.listDetailed(packPrefix(algo))) {
    const k = parsePackKey(algo, d.key);
    if (k) (k.kind === 'pack' ? packInfo : idxInfo).set(k.id, { size: d.size, modified: d.modified });
  }
  const old = (...infos: (KeyInfo | undefined)[]): boolean => infos.every((i) => i !== undefined && now - i.modified >= PACK_GRACE_MS);
  const hash = (b: Uint8Array): string => hashBuffer(algo, b);
  const damaged: string[] = [];
  const set = packInfo.size || idxInfo.size
    ? await PackSet.load(remote, algo, hash, packIndexDir(repo, algo), { onDamaged: (id) => damaged.push(id) })
    : PackSet.empty(algo);
  const goes = (id: string, action: PackAction['action'], keys: { idx?: boolean; pack?: boolean }): void => {
    const size = (keys.pack ? packInfo.get(id)?.size ?? 0 : 0) + (keys.idx ? idxInfo.get(id)?.size ?? 0 : 0);
    plan.gone.push({ algo, id, action, size });
    plan.removedBytes += size;
    if (keys.idx) plan.goneIdx.push(packIndexKey(algo, id));
    if (keys.pack) plan.gonePacks.push(packKey(algo, id));
  };
  // Packs that can be read: an index with its pack (or with a pack listed too late to be seen
  // here: an index is uploaded after its pack, so one that appeared since is complete).
  const holders = [...set.packs.values()].filter((p) => packInfo.has(p.id) || !idxInfo.has(p.id));
  for (const p of set.packs.values()) {
    if (!holders.includes(p) && old(idxInfo.get(p.id))) goes(p.id, 'orphan', { idx: true });
  }
  // An index whose pack is gone is damage, whatever its age: writers upload the pack first and
  // gc deletes the index first, and a listing meets `<id>.idx` before `<id>.pack`, so no upload
  // in flight looks like this.
  for (const id of set.packless) goes(id, 'damaged', { idx: true });
  for (const id of damaged) goes(id, 'damaged', { idx: true });
  for (const id of packInfo.keys()) {
    if (!set.packs.has(id) && old(packInfo.get(id))) goes(id, 'orphan', { pack: true });
  }
  const liveShare = new Map<string, number>();
  for (const p of holders) {
    let bytes = 0;
    for (const e of p.index) if (live.has(e.oid)) bytes += e.length;
    liveShare.set(p.id, p.index.packSize > 0 ? bytes / p.index.packSize : 0);
  }
  const canonical = new Map<string, string>();
  const byShare = [...holders].sort((a, b) => liveShare.get(b.id)! - liveShare.get(a.id)! || (a.id < b.id ? -1 : 1));
  for (const p of byShare) for (const e of p.index) if (live.has(e.oid) && !canonical.has(e.oid)) canonical.set(e.oid, p.id);
  for (const p of holders) {
    if (!old(packInfo.get(p.id), idxInfo.get(p.id))) {
      plan.young++;
      continue;
    }
    const entries = p.index.list();
    const mine = entries.filter((e) => live.has(e.oid) && canonical.get(e.oid) === p.id);
    const bytes = mine.reduce((n, e) => n + e.length, 0);
    const deadTree = entries.some((e) => isTreeOid(e.oid) && !live.has(e.oid));
    if (mine.length === 0) goes(p.id, 'dead', { idx: true, pack: true });
    else if (deadTree || bytes < REPACK_BELOW * p.index.packSize) {
      plan.repack.push({ id: p.id, entries: mine });
      plan.packBytes += bytes;
      goes(p.id, 'repacked', { idx: true, pack: true });
    } else plan.kept++;
  }
  plan.objectsKept = canonical.size + listsKept; // live objects kept in packs and chunk lists; loose ones are counted below
  for (const [oid, l] of loose) {
    if (canonical.has(oid)) {
      plan.dropLoose.push(l.key);
      plan.removedBytes += l.size;
    } else if (repack && l.size <= PACKABLE_MAX_BYTES) {
      plan.toPack.push({ oid, key: l.key, size: l.size });
      plan.dropLoose.push(l.key);
      plan.removedBytes += l.size;
      plan.packBytes += l.size;
      plan.objectsKept++;
    } else plan.objectsKept++;
  }
  return plan;
}

/**
 * Writes the plan's new packs: each repacked pack is downloaded whole into the cache's temp
 * folder and cut with its index (`salvagePack`), each loose object downloaded alone; every object
 * is checked against its oid before it goes into a pack, and a damaged copy is replaced by the
 * cache's if it holds a good one. A repacked pack some live object of which has no good copy is
 * taken out of the plan (`unplanPack`) and returned as damaged; a damaged loose object stops gc
 * before it deletes anything.
 */
async function writePacks(repo: Repo, remote: Remote, plan: Plan): Promise<{ packs: number; bytes: number; damaged: DamagedPack[] }> {
  const damaged: DamagedPack[] = [];
  if (!plan.repack.length && !plan.toPack.length) return { packs: 0, bytes: 0, damaged };
  const { algo } = plan;
  const odb = repo.odbFor(algo);
  const tmpDir = odb.tmpDir();
  const hash = (b: Uint8Array): string => hashBuffer(algo, b);
  let packs = 0;
  let bytes = 0;
  const writer = new PackWriter(remote, algo, hash, PACK_TARGET_BYTES, (w) => {
    packs++;
    bytes += w.index.packSize + w.indexSize;
  });
  const temps = new Set<string>();
  const tmp = (stem: string): string => {
    const t = tempPathFor(path.join(tmpDir, stem));
    temps.add(t);
    return t;
  };
  // One scratch file for every object: PackWriter.add reads it before it awaits anything. A
  // scratch file needs no fsync (a crash loses nothing but it).
  const scratch = tmp('packed');
  const add = async (oid: string, data: Buffer, where: string): Promise<void> => {
    if (hash(data) !== oidDigest(oid)) {
      const local = goodLocalCopy(odb, oid);
      if (!local) {
        throw new RvcError('OBJECT_CORRUPT', `${where} on remote ${remote.url} holds a damaged copy of ${oid}, and the cache has no good one: gc removed nothing`, {
          path: where,
          hint: `fetch ${oid} from another remote or clone into the cache (\`rvc fetch\`), then run \`rvc gc --cloud\` again: it packs the cache's copy instead`,
        });
      }
      data = local;
    }
    writeFileSync(scratch, data);
    await writer.add({ oid, file: scratch, size: data.length });
  };
  try {
    for (const r of plan.repack) {
      const unreadable = await salvagePack(odb, remote, algo, r.id, r.entries, (oid, data) => add(oid, data, packKey(algo, r.id)));
      if (unreadable.length) {
        unplanPack(plan, r.id, unreadable);
        damaged.push({ algo, id: r.id, key: packKey(algo, r.id), unreadable });
      }
    }
    // Loose objects are downloaded `jobs` at a time, in batches of LOOSE_BATCH (memory: that many
    // objects of at most PACKABLE_MAX_BYTES), and packed in order.
    const limit = pLimit(remote.jobs);
    for (let i = 0; i < plan.toPack.length; i += LOOSE_BATCH) {
      const group = plan.toPack.slice(i, i + LOOSE_BATCH);
      const got = await Promise.allSettled(group.map((l) => limit(async () => {
        const file = tmp('loose');
        try {
          await remote.download(objectKey(algo, l.oid), file);
          return readFileSync(file);
        } finally {
          rmSync(file, { force: true });
        }
      })));
      for (let j = 0; j < group.length; j++) {
        const g = got[j]!;
        if (g.status === 'rejected') throw g.reason;
        await add(group[j]!.oid, g.value, group[j]!.key);
      }
    }
    await writer.flush();
  } finally {
    writer.discard();
    for (const t of temps) rmSync(t, { force: true });
  }
  return { packs, bytes, damaged };
}

/**
 * Takes a pack gc cannot read whole out of the plan: neither its index nor its bytes are
 * deleted, nor the loose copies of the objects it could not give (they may be the good ones).
 */
function unplanPack(plan: Plan, id: string, unreadable: readonly string[]): void {
  const gone = plan.gone.filter((g) => g.id === id);
  for (const g of gone) plan.removedBytes -= g.size;
  plan.gone = plan.gone.filter((g) => g.id !== id);
  plan.goneIdx = plan.goneIdx.filter((k) => k !== packIndexKey(plan.algo, id));
  plan.gonePacks = plan.gonePacks.filter((k) => k !== packKey(plan.algo, id));
  const keepLoose = new Set(unreadable.map((o) => objectKey(plan.algo, o)));
  plan.dropLoose = plan.dropLoose.filter((k) => !keepLoose.has(k));
  plan.kept++;
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
    rmSync(tmp, { force: true });
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
