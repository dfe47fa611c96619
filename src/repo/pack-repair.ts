/**
 * Damaged packs on a remote: reading what can be saved out of one (gc's repacking, and
 * `fsck --cloud --repair`), and replacing it.
 */
import { closeSync, fstatSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRvcError } from '../errors.js';
import { objectKey, oidDigest, type HashAlgo } from '../model/oid.js';
import { packIndexKey, packKey, type PackEntry } from '../model/pack.js';
import { tempPathFor } from '../fsutil/atomic.js';
import { hashBuffer } from '../hashing/hash.js';
import type { Odb } from '../odb/odb.js';
import { PACK_TARGET_SIZE, type Remote } from '../remote/index.js';
import { PackSet, PackWriter } from '../remote/packs.js';

/** The cache's copy of `oid` when it holds one that matches its oid. */
export function goodLocalCopy(odb: Odb, oid: string): Buffer | undefined {
  if (!odb.hasSync(oid)) return undefined;
  try {
    // Loose or in a pack the cache keeps (the objects packed on remotes are small: never chunked).
    const local = odb.readObject(oid);
    return hashBuffer(odb.algo, local) === oidDigest(oid) ? local : undefined;
  } catch {
    return undefined; // unreadable: no good copy to give
  }
}

/**
 * Reads `entries` of the remote pack `id` (downloaded whole into the cache's temp folder), each
 * checked against its oid, and hands each good copy to `each`, in order: the pack's bytes when
 * they match, else the cache's copy when it holds a good one. Returns the oids neither holds
 * intact (the pack is short or altered there and the cache lacks them). A pack that is gone
 * counts as empty; any other failure to read it is thrown.
 */
export async function salvagePack(
  odb: Odb, remote: Remote, algo: HashAlgo, id: string, entries: readonly PackEntry[],
  each: (oid: string, data: Buffer) => Promise<void>,
): Promise<string[]> {
  const file = tempPathFor(path.join(odb.tmpDir(), 'salvage'));
  const lost: string[] = [];
  let fd: number | undefined;
  try {
    try {
      await remote.download(packKey(algo, id), file);
      fd = openSync(file, 'r');
    } catch (e) {
      if (!isRvcError(e, 'OBJECT_MISSING')) throw e;
    }
    const size = fd === undefined ? 0 : fstatSync(fd).size;
    for (const e of entries) {
      let data: Buffer | undefined;
      // Checked before anything is allocated: an index may claim more than the pack holds.
      if (fd !== undefined && e.offset + e.length <= size) {
        const b = Buffer.alloc(e.length);
        if (readSync(fd, b, 0, e.length, e.offset) === e.length && hashBuffer(algo, b) === oidDigest(e.oid)) data = b;
      }
      data ??= goodLocalCopy(odb, e.oid);
      if (data) await each(e.oid, data);
      else lost.push(e.oid);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(file, { force: true });
  }
  return lost;
}

/** A damaged pack `fsck --cloud --repair` replaced. */
export interface RepairedPack {
  /** The pack's key on the remote (deleted, its index first). */
  key: string;
  /** Objects it held, written into new packs (its intact bytes, or the cache's good copies). */
  rewritten: number;
  /** Objects no copy of which is left on the remote: neither intact in it, nor in the cache, nor elsewhere there. */
  lost: string[];
}

/**
 * Replaces the damaged packs `ids` of `remote`: every object each one lists is read out of it
 * (`salvagePack`: its own bytes where they match, else the cache's good copy) and written into
 * new packs, pack then index, as push writes them; only then are the damaged packs' indexes
 * deleted, then their bytes. A kill before the deletions leaves both copies (gc later drops the
 * duplicates); after the first one, the objects saved are already in their new packs. An object
 * no copy of which remains is lost, unless the remote holds it elsewhere (another pack, or loose).
 * Once the index is gone no reader is sent to the pack, and an existence query says the lost
 * objects are absent, so a push from a cache holding them uploads them again.
 */
export async function repairPacks(odb: Odb, remote: Remote, ids: readonly string[]): Promise<RepairedPack[]> {
  const algo = odb.algo;
  if (!ids.length) return [];
  const hash = (b: Uint8Array): string => hashBuffer(algo, b);
  // Another damaged index is gc's to remove; it does not stop this repair.
  const set = await PackSet.load(remote, algo, hash, odb.packIndexDir(), { onDamaged: () => undefined });
  const damaged = new Set(ids);
  const inGoodPacks = new Set<string>();
  for (const p of set.packs.values()) if (!damaged.has(p.id)) for (const e of p.index) inGoodPacks.add(e.oid);
  const writer = new PackWriter(remote, algo, hash, PACK_TARGET_SIZE);
  const scratch = tempPathFor(path.join(odb.tmpDir(), 'repaired'));
  const out: RepairedPack[] = [];
  try {
    for (const id of ids) {
      const p = set.packs.get(id);
      if (!p) continue; // gone since it was read (another repair, or gc)
      let rewritten = 0;
      const unsaved = await salvagePack(odb, remote, algo, id, p.index.list(), async (oid, data) => {
        writeFileSync(scratch, data);
        await writer.add({ oid, file: scratch, size: data.length });
        rewritten++;
      });
      const rest = unsaved.filter((o) => !inGoodPacks.has(o));
      const loose = rest.length ? await remote.existing(rest.map((o) => objectKey(algo, o))) : new Set<string>();
      out.push({ key: packKey(algo, id), rewritten, lost: rest.filter((o) => !loose.has(objectKey(algo, o))) });
    }
    await writer.flush();
  } finally {
    writer.discard();
    rmSync(scratch, { force: true });
  }
  for (const r of out) {
    const id = r.key.slice(r.key.lastIndexOf('/') + 1, -'.pack'.length);
    await remote.delete(packIndexKey(algo, id));
    await remote.delete(r.key);
    rmSync(path.join(odb.packIndexDir(), `${id}.idx`), { force: true });
  }
  return out;
}
