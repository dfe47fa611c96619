/**
 * Packs on remotes: many small objects stored in one remote file, so a push of 50,000 small
 * files is a few dozen requests instead of 50,000. Pure format code (text in, text out); the
 * remote layer (`remote/packs.ts`) reads and writes packs.
 *
 * Layout on a remote, beside the loose objects (`<algo>/ab/cdef…`):
 *
 *   packs/<algo>/<id>.pack   the objects' bytes, one after another, nothing between them
 *   packs/<algo>/<id>.idx    the pack index (text, below)
 *
 * `<id>` is the hash (with `<algo>`) of the index's bytes, so an index is verified by its name
 * when it is downloaded, and the index records the hash and size of its pack. Each object read
 * out of a pack is still verified against its own oid before it enters a cache, so a pack whose
 * bytes do not match its index can never put wrong content in a cache.
 *
 * Index text (UTF-8, `\n` line ends):
 *
 *   rvc-pack-index 1
 *   algo <algo>
 *   pack <pack hash> <pack size>
 *   <oid> <offset> <length>        one line per object, sorted by oid, no duplicates
 *
 * Objects do not overlap and lie inside the pack. A writer uploads the pack first and its index
 * second, so a reader that sees an index can read its pack (until a gc that repacks deletes both,
 * index first; see docs/reliability.md).
 */
import { RvcError } from '../errors.js';
import { HEX_LENGTH, TREE_SUFFIX, isTreeOid, oidDigest, type HashAlgo } from './oid.js';

export const PACK_ROOT = 'packs';
export const PACK_INDEX_HEADER = 'rvc-pack-index 1';

export interface PackEntry {
  oid: string;
  offset: number;
  length: number;
}

export interface PackIndex<E extends PackEntry = PackEntry> {
  algo: HashAlgo;
  /** Hash of the whole pack file. */
  packHash: string;
  packSize: number;
  /** Sorted by oid. */
  entries: E[];
}

/** The folder of a remote that holds the packs of one algorithm (`packs/<algo>/`). */
export function packPrefix(algo: HashAlgo): string {
  return `${PACK_ROOT}/${algo}/`;
}

export function packKey(algo: HashAlgo, id: string): string {
  return `${packPrefix(algo)}${id}.pack`;
}

export function packIndexKey(algo: HashAlgo, id: string): string {
  return `${packPrefix(algo)}${id}.idx`;
}

const ID_RE = /^[0-9a-f]+$/;

/** What a key under `packs/<algo>/` names: a pack or an index and its id; undefined for anything else. */
export function parsePackKey(algo: HashAlgo, key: string): { kind: 'pack' | 'idx'; id: string } | undefined {
  const prefix = packPrefix(algo);
  if (!key.startsWith(prefix)) return undefined;
  const m = /^([0-9a-f]+)\.(pack|idx)$/.exec(key.slice(prefix.length));
  if (!m || m[1]!.length !== HEX_LENGTH[algo]) return undefined;
  return { kind: m[2] as 'pack' | 'idx', id: m[1]! };
}

/** The index text for a pack (entries are sorted here); see packIndexBytes. */
export function formatPackIndex(index: PackIndex | PackColumns): string {
  return packIndexBytes(index).toString('latin1');
}

const HEX_DIGITS = Buffer.from('0123456789abcdef');

/**
 * The index text for a pack as bytes, written straight from columns or entries (sorted here
 * unless they are already): no string per line nor one for the whole text, which at a million
 * entries cost a few hundred megabytes of heap for an 80 MB index.
 */
export function packIndexBytes(index: PackIndex | PackColumns): Buffer {
  const head = Buffer.from(`${PACK_INDEX_HEADER}\nalgo ${index.algo}\npack ${index.packHash} ${index.packSize}\n`, 'latin1');
  let out: Buffer;
  let pos = head.length;
  const decimal = (v: number): void => {
    const end = pos + decimalDigits(v);
    for (let i = end - 1; i >= pos; i--) {
      out[i] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
    pos = end;
  };
  if (index instanceof PackColumns) {
    const c = index;
    const B = c.digestBytes;
    let size = head.length;
    for (let j = 0; j < c.n; j++) size += 2 * B + (c.tree[j] ? TREE_TAIL.length : 0) + decimalDigits(c.offsets[j]!) + decimalDigits(c.lengths[j]!) + 3;
    out = Buffer.allocUnsafe(size);
    const d = c.digests;
    for (let j = 0; j < c.n; j++) {
      for (let k = j * B; k < (j + 1) * B; k++) {
        out[pos++] = HEX_DIGITS[d[k]! >> 4]!;
        out[pos++] = HEX_DIGITS[d[k]! & 15]!;
      }
      if (c.tree[j]) pos += TREE_TAIL.copy(out, pos);
      out[pos++] = 32;
      decimal(c.offsets[j]!);
      out[pos++] = 32;
      decimal(c.lengths[j]!);
      out[pos++] = 10;
    }
  } else {
    let entries = index.entries;
    const byOid = (a: PackEntry, b: PackEntry): number => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0);
    for (let j = 1; j < entries.length; j++) {
      if (byOid(entries[j - 1]!, entries[j]!) > 0) {
        entries = [...entries].sort(byOid);
        break;
      }
    }
    let size = head.length;
    for (const e of entries) size += e.oid.length + decimalDigits(e.offset) + decimalDigits(e.length) + 3;
    out = Buffer.allocUnsafe(size);
    for (const e of entries) {
      pos += out.write(e.oid, pos, 'latin1');
      out[pos++] = 32;
      decimal(e.offset);
      out[pos++] = 32;
      decimal(e.length);
      out[pos++] = 10;
    }
  }
  head.copy(out, 0);
  return out;
}

function decimalDigits(v: number): number {
  let n = 1;
  while (v >= 10) {
    v = Math.floor(v / 10);
    n++;
  }
  return n;
}

function bad(where: string, line: number, why: string): RvcError {
  return new RvcError('OBJECT_CORRUPT', `pack index ${where} is damaged: ${why} (line ${line})`, {
    path: where,
    line,
    hint: 'run `rvc gc --cloud` to drop the damaged pack, then `rvc push` to upload its objects again',
  });
}

/** Hex digit values by character code; -1 for anything else (lowercase only). */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
const TREE_TAIL = Buffer.from(TREE_SUFFIX);

/**
 * A pack index held in columns — digests as bytes, a `.tree` flag, offsets and lengths in typed
 * arrays — sorted by oid: no object or string per entry (about 49 bytes an object, where an
 * entry object with its oid string cost about 200). What every reader of indexes keeps: the
 * local packs' lookup and the set of a remote's packs.
 */
export class PackColumns {
  constructor(
    readonly algo: HashAlgo,
    /** Hash of the whole pack file. */
    readonly packHash: string,
    readonly packSize: number,
    readonly n: number,
    /** Entry j's digest: bytes [j·B, (j+1)·B), B the digest's size. */
    readonly digests: Buffer,
    /** 1 where entry j is a manifest (`<digest>.tree`). */
    readonly tree: Uint8Array,
    readonly offsets: Float64Array,
    readonly lengths: Float64Array,
  ) {}

  /** Columns of an index's entries (sorted here). */
  static of(index: PackIndex): PackColumns {
    const entries = [...index.entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
    const B = HEX_LENGTH[index.algo] / 2;
    const n = entries.length;
    const c = new PackColumns(index.algo, index.packHash, index.packSize, n, Buffer.alloc(n * B), new Uint8Array(n), new Float64Array(n), new Float64Array(n));
    entries.forEach((e, j) => {
      c.digests.write(oidDigest(e.oid), j * B, B, 'hex');
      c.tree[j] = e.oid.endsWith(TREE_SUFFIX) ? 1 : 0;
      c.offsets[j] = e.offset;
      c.lengths[j] = e.length;
    });
    return c;
  }

  /** Bytes of one digest. */
  get digestBytes(): number {
    return HEX_LENGTH[this.algo] / 2;
  }

  oid(j: number): string {
    const B = this.digestBytes;
    const hex = this.digests.toString('hex', j * B, (j + 1) * B);
    return this.tree[j] ? hex + TREE_SUFFIX : hex;
  }

  entry(j: number): PackEntry {
    return { oid: this.oid(j), offset: this.offsets[j]!, length: this.lengths[j]! };
  }

  /** The entries as objects, made one at a time. */
  *[Symbol.iterator](): Generator<PackEntry> {
    for (let j = 0; j < this.n; j++) yield this.entry(j);
  }

  /** The entries as an array of objects (for a few packs at a time: gc, repairs). */
  list(): PackEntry[] {
    return Array.from(this);
  }

  /** Entry j's first 28 bits: the key a lookup hashes. */
  key(j: number): number {
    const d = this.digests;
    const i = j * this.digestBytes;
    return ((d[i]! << 20) | (d[i + 1]! << 12) | (d[i + 2]! << 4) | (d[i + 3]! >> 4)) >>> 0;
  }

  /** True when entry j is `oid` (well formed or not). */
  is(j: number, oid: string): boolean {
    const B = this.digestBytes;
    if (oid.length !== 2 * B + (this.tree[j] ? TREE_SUFFIX.length : 0)) return false;
    if (this.tree[j] && !oid.endsWith(TREE_SUFFIX)) return false;
    const d = this.digests;
    const at = j * B;
    for (let k = 0; k < B; k++) {
      const hi = HEX_VALUE[oid.charCodeAt(2 * k) & 0xff]!;
      const lo = HEX_VALUE[oid.charCodeAt(2 * k + 1) & 0xff]!;
      if (oid.charCodeAt(2 * k) > 0xff || oid.charCodeAt(2 * k + 1) > 0xff || hi < 0 || lo < 0 || d[at + k] !== ((hi << 4) | lo)) return false;
    }
    return true;
  }
}

/**
 * The columns of a pack being written, in the order its objects are added: digests as bytes, the
 * `.tree` flag, offsets and lengths, in arrays that grow by doubling, and a table of what was
 * added so an oid goes in once (open addressing over the entries' numbers, probed by a digest's
 * first 32 bits and checked against the digests column). `finish` sorts them into the index's
 * `PackColumns`. No object or string per entry: 57 to 65 bytes an object (before the arrays'
 * room to grow), off the heap, where an entry object and a `Set` of the oids cost about 80 bytes
 * of heap beside the oid strings.
 */
export class PackColumnsBuilder {
  private count = 0;
  private digests = Buffer.alloc(0);
  private tree = new Uint8Array(0);
  private offsets = new Float64Array(0);
  private lengths = new Float64Array(0);
  /** Entry number + 1 per slot; 0: empty. At most half full. */
  private table = new Int32Array(0);
  /** An oid's digest, parsed for a probe. */
  private readonly probe: Buffer;

  constructor(readonly algo: HashAlgo) {
    this.probe = Buffer.alloc(this.digestBytes);
  }

  /** Objects added. */
  get size(): number {
    return this.count;
  }

  private get digestBytes(): number {
    return HEX_LENGTH[this.algo] / 2;
  }

  /** True when `oid` (well formed for the algorithm) was added. */
  has(oid: string): boolean {
    const h = this.slotOf(oid);
    return h >= 0 && this.table[h] !== 0;
  }

  /** Adds `oid` (well formed for the algorithm, not added yet) at `offset`, `length` bytes. */
  add(oid: string, offset: number, length: number): void {
    const B = this.digestBytes;
    const j = this.count;
    if (j === this.offsets.length) this.grow(Math.max(1024, 2 * j));
    if ((j + 1) * 2 > this.table.length) this.rehash(this.table.length * 2 || 2048);
    const h = this.slotOf(oid); // also parses the digest into `probe`
    this.probe.copy(this.digests, j * B);
    this.tree[j] = isTreeOid(oid) ? 1 : 0;
    this.offsets[j] = offset;
    this.lengths[j] = length;
    this.table[h] = j + 1;
    this.count++;
  }

  /**
   * The index's columns, sorted by oid (by digest, and a digest's file before its `.tree`):
   * the builder's own arrays, sorted in place (no second copy of the columns), after which it
   * starts empty.
   */
  finish(packHash: string, packSize: number): PackColumns {
    const n = this.count;
    const B = this.digestBytes;
    const { digests: d, tree: t, offsets: off, lengths: len } = this;
    this.table = new Int32Array(0);
    // The order by the digests' first 32 bits, then whole digests where those tie.
    const order = new Uint32Array(n);
    {
      const keys = new Uint32Array(n);
      for (let j = 0; j < n; j++) {
        keys[j] = d.readUInt32BE(j * B);
        order[j] = j;
      }
      order.sort((a, b) => keys[a]! - keys[b]! || d.compare(d, b * B, (b + 1) * B, a * B, (a + 1) * B) || t[a]! - t[b]!);
    }
    // Entry order[i] moves to place i, a cycle of the permutation at a time; a place moved into
    // is marked done by order[k] = k.
    const saved = Buffer.allocUnsafe(B);
    for (let i = 0; i < n; i++) {
      if (order[i] === i) continue;
      d.copy(saved, 0, i * B, (i + 1) * B);
      const st = t[i]!;
      const so = off[i]!;
      const sl = len[i]!;
      for (let k = i; ;) {
        const j = order[k]!;
        order[k] = k;
        if (j === i) {
          saved.copy(d, k * B);
          t[k] = st;
          off[k] = so;
          len[k] = sl;
          break;
        }
        d.copy(d, k * B, j * B, (j + 1) * B);
        t[k] = t[j]!;
        off[k] = off[j]!;
        len[k] = len[j]!;
        k = j;
      }
    }
    this.clear();
    return new PackColumns(this.algo, packHash, packSize, n, d.subarray(0, n * B), t.subarray(0, n), off.subarray(0, n), len.subarray(0, n));
  }

  /** Forgets every object. */
  clear(): void {
    this.count = 0;
    this.digests = Buffer.alloc(0);
    this.tree = new Uint8Array(0);
    this.offsets = new Float64Array(0);
    this.lengths = new Float64Array(0);
    this.table = new Int32Array(0);
  }

  /**
   * The slot holding `oid`, or the empty slot where it would go; -1 while the table is empty.
   * Leaves the oid's digest in `probe`.
   */
  private slotOf(oid: string): number {
    const B = this.digestBytes;
    this.probe.write(oid, 0, B, 'hex');
    if (this.table.length === 0) return -1;
    const tree = isTreeOid(oid) ? 1 : 0;
    const key = this.probe.readUInt32BE(0);
    const mask = this.table.length - 1;
    for (let h = key & mask; ; h = (h + 1) & mask) {
      const e = this.table[h]! - 1;
      if (e < 0) return h;
      if (this.tree[e] === tree && this.digests.readUInt32BE(e * B) === key && this.probe.compare(this.digests, e * B, (e + 1) * B) === 0) return h;
    }
  }

  private grow(cap: number): void {
    const B = this.digestBytes;
    const digests = Buffer.allocUnsafe(cap * B);
    this.digests.copy(digests, 0, 0, this.count * B);
    this.digests = digests;
    const tree = new Uint8Array(cap);
    tree.set(this.tree.subarray(0, this.count));
    this.tree = tree;
    const offsets = new Float64Array(cap);
    offsets.set(this.offsets.subarray(0, this.count));
    this.offsets = offsets;
    const lengths = new Float64Array(cap);
    lengths.set(this.lengths.subarray(0, this.count));
    this.lengths = lengths;
  }

  private rehash(cap: number): void {
    const B = this.digestBytes;
    const table = new Int32Array(cap);
    const mask = cap - 1;
    for (let e = 0; e < this.count; e++) {
      let h = this.digests.readUInt32BE(e * B) & mask;
      while (table[h] !== 0) h = (h + 1) & mask;
      table[h] = e + 1;
    }
    this.table = table;
  }
}

/**
 * Parses and checks an index straight from its bytes into columns: header, algorithm, every oid
 * well formed (lowercase hex, `.tree` allowed), sorted and unique, every object inside the pack
 * and (unless `overlap` is false) no two overlapping. `where` names the index in errors (its key).
 */
export function parsePackColumns(text: Buffer, algo: HashAlgo, where: string, opts: { overlap?: boolean } = {}): PackColumns {
  let pos = 0;
  const headLine = (): string => {
    let nl = text.indexOf(10, pos);
    if (nl < 0) nl = text.length;
    const line = text.toString('utf8', pos, nl);
    pos = Math.min(nl + 1, text.length + 1);
    return line;
  };
  const l1 = pos <= text.length ? headLine() : '';
  if (l1 !== PACK_INDEX_HEADER) throw bad(where, 1, `expected '${PACK_INDEX_HEADER}'`);
  const l2 = pos <= text.length ? headLine() : '';
  if (l2 !== `algo ${algo}`) throw bad(where, 2, `expected 'algo ${algo}'`);
  const head = (pos <= text.length ? headLine() : '').split(' ');
  const packSize = nonNegativeInt(head[2]);
  if (head.length !== 3 || head[0] !== 'pack' || !ID_RE.test(head[1] ?? '') || head[1]!.length !== HEX_LENGTH[algo] || packSize === undefined) {
    throw bad(where, 3, "expected 'pack <hash> <size>'");
  }
  // One entry per line; the last may lack its line end.
  let n = 0;
  for (let i = pos; i < text.length; i++) if (text[i] === 10) n++;
  if (pos < text.length && text[text.length - 1] !== 10) n++;
  const B = HEX_LENGTH[algo] / 2;
  const c = new PackColumns(algo, head[1]!, packSize, n, Buffer.alloc(n * B), new Uint8Array(n), new Float64Array(n), new Float64Array(n));
  let line = 3;
  const malformed = (): RvcError => bad(where, line, "expected '<oid> <offset> <length>'");
  const number = (): number => {
    const start = pos;
    let v = 0;
    while (pos < text.length && text[pos]! >= 48 && text[pos]! <= 57) v = v * 10 + (text[pos++]! - 48);
    const digits = pos - start;
    if (digits === 0 || digits > 16 || (digits > 1 && text[start] === 48) || !Number.isSafeInteger(v)) throw malformed();
    return v;
  };
  for (let j = 0; j < n; j++) {
    line++;
    for (let k = 0; k < B; k++) {
      const hi = HEX_VALUE[text[pos + 2 * k] ?? 0]!;
      const lo = HEX_VALUE[text[pos + 2 * k + 1] ?? 0]!;
      if (hi < 0 || lo < 0) throw malformed();
      c.digests[j * B + k] = (hi << 4) | lo;
    }
    pos += 2 * B;
    if (text[pos] === 0x2e) {
      if (!text.subarray(pos, pos + TREE_TAIL.length).equals(TREE_TAIL)) throw malformed();
      c.tree[j] = 1;
      pos += TREE_TAIL.length;
    }
    if (text[pos++] !== 32) throw malformed();
    const offset = number();
    if (text[pos++] !== 32) throw malformed();
    const length = number();
    if (pos < text.length && text[pos++] !== 10) throw malformed();
    c.offsets[j] = offset;
    c.lengths[j] = length;
    if (j > 0) {
      // Sorted by oid text: by digest, and a digest's file before its `.tree`.
      const o = c.digests.compare(c.digests, (j - 1) * B, j * B, j * B, (j + 1) * B); // entry j against j - 1
      if (o < 0 || (o === 0 && !(c.tree[j - 1] === 0 && c.tree[j] === 1))) throw bad(where, line, 'entries not sorted or repeated');
    }
    if (offset + length > packSize) throw bad(where, line, `object ${c.oid(j)} ends past the pack's ${packSize} bytes`);
  }
  if (opts.overlap !== false) checkOverlap(c, where);
  return c;
}

/**
 * Throws when two objects (of at least one byte) overlap. Starts and ends are sorted apart (two
 * numeric sorts, no comparator): the objects are disjoint exactly when every object's start,
 * in order, is at or past the end before it in order.
 */
function checkOverlap(c: PackColumns, where: string): void {
  let m = 0;
  for (let j = 0; j < c.n; j++) if (c.lengths[j]! > 0) m++;
  const starts = new Float64Array(m);
  const ends = new Float64Array(m);
  m = 0;
  for (let j = 0; j < c.n; j++) {
    if (c.lengths[j]! > 0) {
      starts[m] = c.offsets[j]!;
      ends[m++] = c.offsets[j]! + c.lengths[j]!;
    }
  }
  starts.sort();
  ends.sort();
  for (let i = 1; i < m; i++) if (starts[i]! < ends[i - 1]!) throw bad(where, 0, 'two objects overlap');
}

function nonNegativeInt(s: string | undefined): number | undefined {
  if (s === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses and checks an index (`parsePackColumns`) into entry objects. */
export function parsePackIndex(text: string, algo: HashAlgo, where: string): PackIndex {
  const c = parsePackColumns(Buffer.from(text, 'utf8'), algo, where);
  return { algo, packHash: c.packHash, packSize: c.packSize, entries: c.list() };
}

/**
 * Where oids lie in a list of packs' columns: an open-addressing table of slots (-1: empty)
 * probed from an oid's first 28 bits, which are kept beside each slot so a probe compares whole
 * oids only on a likely match. A slot is `bases[p] + j`: entry j of pack p. The first pack added
 * that lists an oid is the one it is found in. About 8 bytes a slot, two to four slots an object.
 */
export class PackLookup {
  private table = new Int32Array(0);
  private keys = new Int32Array(0);
  private count = 0;
  private readonly cols: PackColumns[] = [];
  /** The first slot of each pack. */
  private readonly bases: number[] = [];
  private nextSlot = 0;

  /** `expected`: the objects about to be added, so the table is sized once. */
  constructor(expected = 0) {
    this.resize(expected);
  }

  /** Distinct oids held. */
  get size(): number {
    return this.count;
  }

  /** The packs' columns, in the order added (a pack's number). */
  get packs(): readonly PackColumns[] {
    return this.cols;
  }

  /** Adds a pack's columns; returns its number. */
  add(c: PackColumns): number {
    this.resize(this.count + c.n);
    const table = this.table;
    const keys = this.keys;
    const mask = table.length - 1;
    const p = this.cols.length;
    const base = this.nextSlot;
    this.cols.push(c);
    this.bases.push(base);
    this.nextSlot += c.n;
    next: for (let j = 0; j < c.n; j++) {
      const key = c.key(j);
      let h = key & mask;
      while (table[h] !== -1) {
        if (keys[h] === key && this.sameOid(table[h]!, c, j)) continue next;
        h = (h + 1) & mask;
      }
      table[h] = base + j;
      keys[h] = key;
      this.count++;
    }
    return p;
  }

  /** Where `oid` is: its pack's number and its entry there, or undefined. */
  find(oid: string): { p: number; j: number } | undefined {
    if (this.count === 0 || oid.length < 7) return undefined;
    const key = Number.parseInt(oid.slice(0, 7), 16);
    if (Number.isNaN(key)) return undefined;
    const table = this.table;
    const mask = table.length - 1;
    for (let h = key & mask; table[h] !== -1; h = (h + 1) & mask) {
      if (this.keys[h] !== key) continue;
      const p = this.packOfSlot(table[h]!);
      const j = table[h]! - this.bases[p]!;
      if (this.cols[p]!.is(j, oid)) return { p, j };
    }
    return undefined;
  }

  has(oid: string): boolean {
    return this.find(oid) !== undefined;
  }

  /** Makes the table room for `entries` at most half full, re-inserting what it holds. */
  private resize(entries: number): void {
    let cap = 1024;
    while (cap < entries * 2) cap *= 2;
    if (cap <= this.table.length) return;
    const old = this.table;
    const oldKeys = this.keys;
    this.table = new Int32Array(cap).fill(-1);
    this.keys = new Int32Array(cap);
    const mask = cap - 1;
    for (let h = 0; h < old.length; h++) {
      if (old[h] === -1) continue;
      let g = oldKeys[h]! & mask;
      while (this.table[g] !== -1) g = (g + 1) & mask;
      this.table[g] = old[h]!;
      this.keys[g] = oldKeys[h]!;
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

  private sameOid(slot: number, c: PackColumns, j: number): boolean {
    const p = this.packOfSlot(slot);
    const o = this.cols[p]!;
    const i = slot - this.bases[p]!;
    const B = c.digestBytes;
    return o.tree[i] === c.tree[j] && o.digests.compare(c.digests, j * B, (j + 1) * B, i * B, (i + 1) * B) === 0;
  }
}
