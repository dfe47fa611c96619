/**
 * Packs kept in the local cache: `<cache>/packed/<algo>/<id>.pack` and `<id>.idx`, the same two
 * formats as on a remote (`model/pack.ts`), where `<id>` is the hash of the index text. A fetch
 * that downloads a remote's pack whole and finds every object in it sound keeps it as it is
 * instead of writing one cache file per object; the objects of a local pack are "in the cache".
 *
 * The index is written (atomically) before its pack is renamed in, so a pack is never there
 * without its index except when gc or fsck was deleting it (index first, then pack): a pack file
 * without an index is a leftover; an index without its pack is ignored (its objects are absent).
 * This folder is apart from `packs/<algo>/`, the cached indexes of remotes' packs, which remote
 * reads sweep and prune: they can never drop the index of a pack the cache holds.
 *
 * The lookup is loaded once per store object, lazily (an index is read, checked against its name
 * and against its pack's size, and parsed straight into typed arrays), with an open-addressing
 * table of slots over them: a million packed objects cost no object or string each (about 65 MB
 * of typed arrays, loaded in about 1 s on a loaded 2-core machine; to be measured again).
 */
import fs from 'node:fs';
import path from 'node:path';
import { RvcError, errnoCode, fromFsError } from '../errors.js';
import { HEX_LENGTH, TREE_SUFFIX, oidDigest, type HashAlgo } from '../model/oid.js';
import { PACK_INDEX_HEADER, formatPackIndex, parsePackIndex, type PackIndex } from '../model/pack.js';
import { isStaleTempName, writeFileAtomic } from '../fsutil/atomic.js';

export const LOCAL_PACK_ROOT = 'packed';

/** Where an object lies in a local pack. */
export interface LocalPacked {
  id: string;
  /** The pack file. */
  file: string;
  offset: number;
  length: number;
  /** The pack's number in this lookup. */
  n: number;
}

/** Thrown by read when the pack vanished (a gc deleted it): the caller looks for a loose copy. */
export class PackGone extends Error {}

/** Hex digit values by character code; -1 for anything else (lowercase only). */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
const TREE_TAIL = Buffer.from('.tree');

/** One loaded pack index: digests as bytes and offsets and lengths in typed arrays, no object per entry. */
interface LoadedIndex {
  n: number;
  digests: Buffer;
  tree: Uint8Array;
  offsets: Float64Array;
  lengths: Float64Array;
}

export class LocalPacks {
  /**
   * An open-addressing table of slots (-1: empty) probed from an oid's first 28 bits, which are
   * kept beside each slot (`tableKeys`) so a probe compares whole oids only on a likely match.
   * A slot is `bases[p] + j`: entry j of pack p. Undefined until first used.
   */
  private table: Int32Array | undefined;
  private tableKeys = new Int32Array(0);
  private count = 0;
  private ids: string[] = [];
  private loaded: LoadedIndex[] = [];
  /** The first slot of each pack. */
  private bases: number[] = [];
  private nextSlot = 0;
  private readonly fds = new Map<number, number>();
  private readonly digestBytes: number;

  constructor(
    readonly dir: string,
    private readonly algo: HashAlgo,
    private readonly hash: (data: Uint8Array) => string,
  ) {
    this.digestBytes = HEX_LENGTH[algo] / 2;
  }

  private ensure(): Int32Array {
    if (this.table) return this.table;
    const found: [string, LoadedIndex][] = [];
    let total = 0;
    for (const p of this.scan().packs) {
      let text: Buffer;
      try {
        text = fs.readFileSync(p.idx);
      } catch {
        continue; // deleted meanwhile
      }
      if (this.hash(text) !== p.id) continue;
      const idx = this.parseLoaded(text, p.size);
      if (idx) {
        found.push([p.id, idx]);
        total += idx.n;
      }
    }
    this.resize(total);
    for (const [id, idx] of found) this.addLoaded(id, idx);
    return this.table!;
  }

  /** Makes the table room for `entries` at most half full, re-inserting what it holds. */
  private resize(entries: number): void {
    let cap = 1024;
    while (cap < entries * 2) cap *= 2;
    if (this.table && cap <= this.table.length) return;
    const old = this.table;
    const oldKeys = this.tableKeys;
    this.table = new Int32Array(cap).fill(-1);
    this.tableKeys = new Int32Array(cap);
    if (!old) return;
    const mask = cap - 1;
    for (let h = 0; h < old.length; h++) {
      if (old[h] === -1) continue;
      let g = oldKeys[h]! & mask;
      while (this.table[g] !== -1) g = (g + 1) & mask;
      this.table[g] = old[h]!;
      this.tableKeys[g] = oldKeys[h]!;
    }
  }

  /** The parsed index if it matches its name and its pack's size; undefined otherwise (fsck reports it). */
  private checkIndex(id: string, text: Buffer, packSize: number): PackIndex | undefined {
    if (this.hash(text) !== id) return undefined;
    try {
      const index = parsePackIndex(text.toString('utf8'), this.algo, path.join(this.dir, `${id}.idx`));
      return index.packSize === packSize ? index : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Reads an index (already checked against its name) straight from its bytes into typed arrays:
   * the header, then each line's digest (lowercase hex, `.tree` allowed), offset and length, in
   * oid order, every object inside the pack. Undefined if anything is off. (gc and fsck use
   * parsePackIndex, which also checks that no two objects overlap.)
   */
  private parseLoaded(text: Buffer, packSize: number): LoadedIndex | undefined {
    let nl = -1;
    for (let i = 0; i < 3; i++) {
      nl = text.indexOf(10, nl + 1);
      if (nl < 0) return undefined;
    }
    const head = text.toString('utf8', 0, nl).split('\n');
    const pack = (head[2] ?? '').split(' ');
    if (head[0] !== PACK_INDEX_HEADER || head[1] !== `algo ${this.algo}` || pack.length !== 3 || pack[0] !== 'pack' || Number(pack[2]) !== packSize) return undefined;
    let n = 0;
    for (let i = nl + 1; i < text.length; i++) if (text[i] === 10) n++;
    const B = this.digestBytes;
    const out: LoadedIndex = { n, digests: Buffer.alloc(n * B), tree: new Uint8Array(n), offsets: new Float64Array(n), lengths: new Float64Array(n) };
    let pos = nl + 1;
    const number = (): number => {
      let v = 0;
      let digits = 0;
      while (pos < text.length && text[pos]! >= 48 && text[pos]! <= 57) {
        v = v * 10 + (text[pos]! - 48);
        pos++;
        if (++digits > 16) return -1;
      }
      return digits === 0 || !Number.isSafeInteger(v) ? -1 : v;
    };
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < B; k++) {
        const hi = HEX_VALUE[text[pos + 2 * k] ?? 0]!;
        const lo = HEX_VALUE[text[pos + 2 * k + 1] ?? 0]!;
        if (hi < 0 || lo < 0) return undefined;
        out.digests[j * B + k] = (hi << 4) | lo;
      }
      pos += 2 * B;
      if (text[pos] === 0x2e) {
        if (!text.subarray(pos, pos + TREE_TAIL.length).equals(TREE_TAIL)) return undefined;
        out.tree[j] = 1;
        pos += TREE_TAIL.length;
      }
      if (text[pos++] !== 32) return undefined;
      const offset = number();
      if (offset < 0 || text[pos++] !== 32) return undefined;
      const length = number();
      if (length < 0 || text[pos++] !== 10 || offset + length > packSize) return undefined;
      out.offsets[j] = offset;
      out.lengths[j] = length;
      if (j > 0) {
        // Sorted by oid text: by digest, and a digest's file before its `.tree`.
        const c = out.digests.compare(out.digests, (j - 1) * B, j * B, j * B, (j + 1) * B);
        if (c < 0 || (c === 0 && !(out.tree[j - 1] === 0 && out.tree[j] === 1))) return undefined;
      }
    }
    return pos === text.length ? out : undefined;
  }

  private static fromIndex(index: PackIndex, B: number): LoadedIndex {
    const n = index.entries.length;
    const out: LoadedIndex = { n, digests: Buffer.alloc(n * B), tree: new Uint8Array(n), offsets: new Float64Array(n), lengths: new Float64Array(n) };
    index.entries.forEach((e, j) => {
      out.digests.write(oidDigest(e.oid), j * B, B, 'hex');
      out.tree[j] = e.oid.endsWith(TREE_SUFFIX) ? 1 : 0;
      out.offsets[j] = e.offset;
      out.lengths[j] = e.length;
    });
    return out;
  }

  private addLoaded(id: string, idx: LoadedIndex): void {
    this.resize(this.count + idx.n);
    const table = this.table!;
    const keys = this.tableKeys;
    const mask = table.length - 1;
    const p = this.ids.length;
    const base = this.nextSlot;
    this.ids.push(id);
    this.loaded.push(idx);
    this.bases.push(base);
    this.nextSlot += idx.n;
    const B = this.digestBytes;
    const d = idx.digests;
    next: for (let j = 0; j < idx.n; j++) {
      const key = ((d[j * B]! << 20) | (d[j * B + 1]! << 12) | (d[j * B + 2]! << 4) | (d[j * B + 3]! >> 4)) >>> 0;
      let h = key & mask;
      while (table[h] !== -1) {
        // The first pack listing an oid wins.
        if (keys[h] === key && this.oidOf(table[h]!) === this.oidAt(p, j)) continue next;
        h = (h + 1) & mask;
      }
      table[h] = base + j;
      keys[h] = key;
      this.count++;
    }
  }

  /** The pack a slot is in. */
  private packOfSlot(slot: number): number {
    let lo = 0;
    let hi = this.bases.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.bases[mid]! <= slot) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private oidAt(p: number, j: number): string {
    const idx = this.loaded[p]!;
    const hex = idx.digests.toString('hex', j * this.digestBytes, (j + 1) * this.digestBytes);
    return idx.tree[j] ? hex + TREE_SUFFIX : hex;
  }

  private oidOf(slot: number): string {
    const p = this.packOfSlot(slot);
    return this.oidAt(p, slot - this.bases[p]!);
  }

  private slotOf(oid: string): number | undefined {
    const table = this.ensure();
    if (this.count === 0) return undefined;
    const key = Number.parseInt(oid.slice(0, 7), 16);
    if (Number.isNaN(key)) return undefined;
    const mask = table.length - 1;
    for (let h = key & mask; table[h] !== -1; h = (h + 1) & mask) {
      if (this.tableKeys[h] === key && this.oidOf(table[h]!) === oid) return table[h];
    }
    return undefined;
  }

  find(oid: string): LocalPacked | undefined {
    const slot = this.slotOf(oid);
    if (slot === undefined) return undefined;
    const p = this.packOfSlot(slot);
    const j = slot - this.bases[p]!;
    const idx = this.loaded[p]!;
    return { id: this.ids[p]!, file: this.packFile(this.ids[p]!), offset: idx.offsets[j]!, length: idx.lengths[j]!, n: p };
  }

  has(oid: string): boolean {
    return this.slotOf(oid) !== undefined;
  }

  /**
   * The folder's packs: those with an index and a pack file (with the pack's size), and the pack
   * files without an index, or temp files of killed writers (leftovers).
   */
  scan(): { packs: { id: string; idx: string; pack: string; size: number }[]; leftovers: string[] } {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return { packs: [], leftovers: [] };
      throw fromFsError(e, this.dir, 'list');
    }
    const set = new Set(names);
    const packs: { id: string; idx: string; pack: string; size: number }[] = [];
    const leftovers: string[] = [];
    for (const n of names.sort()) {
      const m = /^([0-9a-f]+)\.pack$/.exec(n);
      if (m) {
        const file = path.join(this.dir, n);
        if (!set.has(`${m[1]}.idx`)) {
          leftovers.push(file);
          continue;
        }
        let size: number;
        try {
          size = fs.statSync(file).size;
        } catch {
          continue;
        }
        packs.push({ id: m[1]!, idx: path.join(this.dir, `${m[1]}.idx`), pack: file, size });
      } else if (isStaleTempName(n)) leftovers.push(path.join(this.dir, n));
    }
    return { packs, leftovers };
  }

  packFile(id: string): string {
    return path.join(this.dir, `${id}.pack`);
  }

  /**
   * Reads `oid`'s bytes out of its pack into `buf` at `at` (a Buffer of its length when
   * omitted). Throws PackGone when the pack is not there any more.
   */
  read(loc: LocalPacked, buf: Buffer = Buffer.allocUnsafe(loc.length), at = 0): Buffer {
    const p = loc.n;
    let fd = this.fds.get(p);
    if (fd === undefined) {
      try {
        fd = fs.openSync(loc.file, 'r');
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') throw new PackGone(loc.file);
        throw fromFsError(e, loc.file, 'read');
      }
      this.fds.set(p, fd);
    }
    let n = 0;
    while (n < loc.length) {
      let k: number;
      try {
        k = fs.readSync(fd, buf, at + n, loc.length - n, loc.offset + n);
      } catch (e) {
        throw fromFsError(e, loc.file, 'read');
      }
      if (k === 0) {
        throw new RvcError('OBJECT_CORRUPT', `pack ${loc.file} ends before the object at ${loc.offset} (${loc.length} bytes)`, {
          path: loc.file, hint: '`rvc fsck --repair` removes the damaged pack; then `rvc pull` fetches its objects again',
        });
      }
      n += k;
    }
    return buf.subarray(at, at + loc.length);
  }

  /**
   * Puts a downloaded pack (`tmpPack`, on the cache's filesystem, its objects already verified)
   * into the folder under the index `index`: the index first, then the pack by rename. Returns
   * the local id.
   */
  adopt(tmpPack: string, index: PackIndex, mode: number, makeDir: (dir: string) => void, indexText?: Uint8Array): string {
    // The caller's copy of the index text (the remote's, parsed into `index`) spares formatting it again.
    const text = indexText ?? Buffer.from(formatPackIndex(index));
    const id = this.hash(text);
    const idx = path.join(this.dir, `${id}.idx`);
    const pack = this.packFile(id);
    // Written even when a pack of this id is there: that copy may be damaged (a rename replaces
    // it whole; a reader holding it open keeps reading the old file).
    makeDir(this.dir);
    // A crash between the two leaves an index without its pack, which means nothing.
    writeFileAtomic(idx, text, { mode, fsync: false });
    try {
      fs.chmodSync(tmpPack, mode);
      fs.renameSync(tmpPack, pack);
    } catch (e) {
      // The caller removes its temp file (or reads the objects out of it one by one).
      throw fromFsError(e, pack, 'write cache pack');
    }
    if (this.table) this.addLoaded(id, LocalPacks.fromIndex(index, this.digestBytes));
    return id;
  }

  /** Every pack with its index as it is on disk (checked) or the reason it is not usable. */
  *packs(): Generator<{ id: string; file: string; index: PackIndex | undefined }> {
    for (const p of this.scan().packs) {
      let text: Buffer;
      try {
        text = fs.readFileSync(p.idx);
      } catch {
        continue;
      }
      yield { id: p.id, file: p.pack, index: this.checkIndex(p.id, text, p.size) };
    }
  }

  /** Deletes a pack: its index first, so no reader finds an index whose pack is gone. */
  deletePack(id: string): void {
    for (const f of [path.join(this.dir, `${id}.idx`), this.packFile(id)]) {
      try {
        fs.rmSync(f, { force: true });
      } catch (e) {
        throw fromFsError(e, f, 'remove');
      }
    }
  }

  /** Forgets the lookup (after packs were deleted): the next use reads the folder again. */
  reload(): void {
    for (const fd of this.fds.values()) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.fds.clear();
    this.table = undefined;
    this.tableKeys = new Int32Array(0);
    this.count = 0;
    this.ids = [];
    this.loaded = [];
    this.bases = [];
    this.nextSlot = 0;
  }
}
