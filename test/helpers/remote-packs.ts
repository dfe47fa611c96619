/**
 * Packed remotes for tests: packs written with the library's PackWriter from the objects of a
 * real cache, and an independent reader of what a remote holds (loose objects and packed ones,
 * the pack indexes parsed here, every copy re-hashed here), so a test does not trust the code it
 * checks to tell it what is readable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { PackWriter } from '../../src/remote/packs.js';
import type { Remote } from '../../src/remote/index.js';

export function blake3(data: Uint8Array): string {
  return new Blake3Hasher().update(data).digest('hex');
}

/** A cache object's file: `<cache>/blake3/ab/cdef…`. */
export function cacheObject(repoDir: string, oid: string): string {
  return path.join(repoDir, '.rvc/cache/blake3', oid.slice(0, 2), oid.slice(2));
}

/**
 * Writes one pack per group of oids (blake3) from `repoDir`'s cache to `remote`, uploaded pack
 * then index as push does, and deletes the loose copies of the packed objects unless `keepLoose`
 * names them. Returns the pack ids in group order.
 */
export async function writePacks(repoDir: string, remote: Remote, groups: string[][], opts: { keepLoose?: string[] } = {}): Promise<string[]> {
  const ids: string[] = [];
  for (const group of groups) {
    // A writer per group: a writer packs each oid once, and groups may share objects.
    const writer = new PackWriter(remote, 'blake3', blake3, Number.MAX_SAFE_INTEGER, (w) => ids.push(w.id));
    for (const oid of group) {
      const file = cacheObject(repoDir, oid);
      await writer.add({ oid, file, size: fs.statSync(file).size });
    }
    await writer.flush();
  }
  const keep = new Set(opts.keepLoose ?? []);
  for (const oid of groups.flat()) if (!keep.has(oid)) await remote.delete(`blake3/${oid.slice(0, 2)}/${oid.slice(2)}`);
  return ids;
}

/** Sets the modification time of every file below `dir` whose name starts with one of `ids` + '.' to `days` ago. */
export function ageFiles(dir: string, ids: string[], days = 2): number {
  const when = new Date(Date.now() - days * 24 * 3600 * 1000);
  let n = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (ids.some((id) => e.name.startsWith(`${id}.`))) {
        fs.utimesSync(p, when, when);
        n++;
      }
    }
  };
  walk(dir);
  return n;
}

export interface RemoteView {
  /** Every object readable from the remote with the right bytes: oid → bytes. */
  objects: Map<string, Buffer>;
  /** Loose object oids. */
  loose: Set<string>;
  /** Pack ids with an index, and the oids each index lists. */
  packs: Map<string, string[]>;
  /** Keys under packs/ that are packs without an index. */
  orphans: string[];
}

/** Reads everything a remote holds for blake3, checking each copy against its oid. */
export async function viewRemote(remote: Remote, tmp: string): Promise<RemoteView> {
  fs.mkdirSync(tmp, { recursive: true });
  const objects = new Map<string, Buffer>();
  const loose = new Set<string>();
  const packs = new Map<string, string[]>();
  const get = async (key: string): Promise<Buffer> => {
    const f = path.join(tmp, 'got');
    await remote.download(key, f);
    const b = fs.readFileSync(f);
    fs.rmSync(f);
    return b;
  };
  const keys: string[] = [];
  for await (const k of remote.list('')) keys.push(k);
  for (const key of keys) {
    const m = /^blake3\/([0-9a-f]{2})\/([0-9a-f]{62}(?:\.tree)?)$/.exec(key);
    if (!m) continue;
    const oid = m[1]! + m[2]!;
    loose.add(oid);
    const data = await get(key);
    if (blake3(data) === oid.replace(/\.tree$/, '')) objects.set(oid, data);
  }
  const packKeys = new Set(keys.filter((k) => k.startsWith('packs/blake3/')));
  for (const key of packKeys) {
    const m = /^packs\/blake3\/([0-9a-f]{64})\.idx$/.exec(key);
    if (!m) continue;
    const id = m[1]!;
    const lines = (await get(key)).toString('utf8').split('\n').filter(Boolean);
    const oids: string[] = [];
    packs.set(id, oids);
    if (!packKeys.has(`packs/blake3/${id}.pack`)) continue;
    const pack = await get(`packs/blake3/${id}.pack`);
    for (const line of lines.slice(3)) {
      const [oid, offset, length] = line.split(' ');
      oids.push(oid!);
      const data = pack.subarray(Number(offset), Number(offset) + Number(length));
      if (blake3(data) === oid!.replace(/\.tree$/, '')) objects.set(oid!, Buffer.from(data));
    }
  }
  const orphans = [...packKeys].filter((k) => k.endsWith('.pack') && !packs.has(k.slice('packs/blake3/'.length, -'.pack'.length)));
  return { objects, loose, packs, orphans };
}
