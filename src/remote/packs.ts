/**
 * Reading and writing packs on a remote (format: `model/pack.ts`). The remote layer does not
 * hash by itself: the caller passes the hash function of the repository's algorithm (the local
 * object store has it), as it does for verifying downloads.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { RvcError, isRvcError } from '../errors.js';
import { assertOid, type HashAlgo } from '../model/oid.js';
import {
  PackColumnsBuilder, PackLookup, packIndexBytes, packIndexKey, packKey, packPrefix, parsePackColumns, parsePackKey,
  type PackColumns, type PackEntry,
} from '../model/pack.js';
import { sweepStaleTemps, writeFileAtomic } from '../fsutil/atomic.js';
import type { Remote } from './remote.js';

/** Hash of bytes with the algorithm of the packs concerned, as lowercase hex. */
export type HashBytes = (data: Uint8Array) => string;

/** Where one object lives in a pack. */
export interface PackedObject extends PackEntry {
  /** The pack's id (the hash of its index). */
  id: string;
}

/** One pack of a remote, as its index describes it (in columns: no object per entry). */
export interface RemotePack {
  id: string;
  index: PackColumns;
}

export interface LoadOptions {
  /**
   * Called for an index that does not match its name or does not parse, which is then left out
   * (with its pack) instead of failing the load: gc uses it to remove such indexes.
   */
  onDamaged?: (id: string, error: RvcError) => void;
}

/**
 * Every pack a remote holds for one algorithm: the indexes listed under `packs/<algo>/`. An
 * index is downloaded once: it is content-addressed, so the copy kept in `indexDir` (a folder of
 * the local cache) is checked against its name when read and never goes stale. A pack listed
 * without its index is not part of the set (a push still uploading it, or what an interrupted one
 * left): `orphans` names them for gc. Nor is an index listed without its pack (damage: writers
 * upload the pack first and gc deletes the index first): its objects count as absent, so a push
 * uploads them again, and `packless` names it for gc.
 */
/** Index folders already swept of killed readers' temp files by this process. */
const swept = new Set<string>();

export class PackSet {
  /** Pack number p of the lookup is `order[p]`. */
  private readonly lookup: PackLookup;
  private readonly order: RemotePack[];

  private constructor(
    readonly algo: HashAlgo,
    readonly packs: ReadonlyMap<string, RemotePack>,
    /** Pack ids listed without an index. */
    readonly orphans: readonly string[],
    /** Index ids listed without their pack (not in `packs`). */
    readonly packless: readonly string[] = [],
  ) {
    // The indexes' own columns, in the lookup every local pack uses too: no object or string per
    // entry (a Map of oid → entry object cost about 205 bytes an object).
    this.order = [...packs.values()];
    this.lookup = new PackLookup(this.order.reduce((a, p) => a + p.index.n, 0));
    for (const p of this.order) this.lookup.add(p.index);
  }

  static empty(algo: HashAlgo): PackSet {
    return new PackSet(algo, new Map(), []);
  }

  /**
   * Lists the remote's packs and reads their indexes (cached ones from `indexDir`, the others
   * downloaded, verified against their name and cached). An index that does not match its name
   * or does not parse throws OBJECT_CORRUPT naming its key.
   */
  static async load(remote: Remote, algo: HashAlgo, hash: HashBytes, indexDir: string, opts: LoadOptions = {}): Promise<PackSet> {
    // What a killed reader left while caching an index (its temp file names its PID) goes first.
    if (!swept.has(indexDir)) {
      sweepStaleTemps(indexDir);
      swept.add(indexDir);
    }
    const idxIds: string[] = [];
    const packIds = new Set<string>();
    for await (const key of remote.list(packPrefix(algo))) {
      const k = parsePackKey(algo, key);
      if (!k) continue;
      if (k.kind === 'idx') idxIds.push(k.id);
      else packIds.add(k.id);
    }
    const packs = new Map<string, RemotePack>();
    const packless: string[] = [];
    const ids = idxIds.sort().filter((id) => packIds.has(id) || (packless.push(id), false));
    // Several indexes are read at once (one after another, each GET waited for the one before);
    // they are taken in id order, which decides the pack an object is read from.
    const limit = pLimit(Math.max(1, remote.jobs));
    const read = await Promise.all(ids.map((id) => limit(() => readIndex(remote, algo, hash, indexDir, id).then(
      (index) => ({ id, index }), (e: unknown) => ({ id, e }),
    ))));
    for (const r of read) {
      if ('index' in r) packs.set(r.id, { id: r.id, index: r.index });
      else {
        if (!opts.onDamaged || !isRvcError(r.e, 'OBJECT_CORRUPT')) throw r.e;
        opts.onDamaged(r.id, r.e);
      }
    }
    const orphans = [...packIds].filter((id) => !packs.has(id)).sort();
    return new PackSet(algo, packs, orphans, packless);
  }

  /** Where `oid` is packed (the first pack listing it, by id order), or undefined. */
  find(oid: string): PackedObject | undefined {
    const at = this.lookup.find(oid);
    if (!at) return undefined;
    const p = this.order[at.p]!;
    return { oid, offset: small(p.index.offsets[at.j]!), length: small(p.index.lengths[at.j]!), id: p.id };
  }

  has(oid: string): boolean {
    return this.lookup.has(oid);
  }

  /** Distinct packed oids. */
  get size(): number {
    return this.lookup.size;
  }
}

/**
 * A number read from a Float64Array as a small integer where it is one: V8 stores a double in an
 * object as a heap number of its own (16 bytes more per field), which for a fetch's list of a
 * million packed objects was two each.
 */
function small(v: number): number {
  return v <= 0x3fffffff ? v | 0 : v;
}

async function readIndex(remote: Remote, algo: HashAlgo, hash: HashBytes, indexDir: string, id: string): Promise<PackColumns> {
  const key = packIndexKey(algo, id);
  const cached = path.join(indexDir, `${id}.idx`);
  let bytes: Buffer | undefined;
  try {
    bytes = await readFile(cached);
    if (hash(bytes) !== id) bytes = undefined; // a damaged local copy: fetch it again
  } catch {
    bytes = undefined;
  }
  if (!bytes) {
    mkdirSync(indexDir, { recursive: true });
    bytes = await remote.downloadBytes(key);
    if (hash(bytes) !== id) {
      throw new RvcError('OBJECT_CORRUPT', `pack index '${key}' on remote ${remote.url} does not match its name`, {
        path: key,
        hint: 'run `rvc gc --cloud` to drop the damaged pack, then `rvc push` to upload its objects again',
        details: { key, url: remote.url },
      });
    }
    // A copy kept to spare a download, checked against its name whenever read: a crash that
    // loses it costs that download again, so it is not flushed to disk (a flush per index).
    writeFileAtomic(cached, bytes, { fsync: false });
  }
  return parsePackColumns(bytes, algo, key);
}

/**
 * One object to put in a pack: its oid and the local file holding its bytes (read to its end;
 * `size`, when known, sizes the buffer and keeps a bounded pack within its target), or the bytes themselves (an object the cache keeps in a local pack, read
 * through the object store).
 */
export type PackInput =
  | { oid: string; file: string; size?: number }
  | { oid: string; bytes: Uint8Array }
  /**
   * An object of `length` bytes that `readInto` writes into the pending pack at `at` (an object
   * the cache keeps in a local pack, read there without a buffer of its own); it returns the
   * bytes written.
   */
  | { oid: string; length: number; readInto: (into: Buffer, at: number) => number };

/**
 * Buffers a PackWriter takes for its pending pack and gives back once the pack is uploaded:
 * a push reuses them from one pack to the next, where a buffer made afresh for each 8 MiB pack
 * cost more in first touches of new memory than copying the bytes into it.
 */
export interface BufferPool {
  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer;
  give(b: Buffer): void;
}

/** A BufferPool keeping at most `keep` buffers given back (one per concurrent user is enough). */
export class SpareBuffers implements BufferPool {
  private readonly spare: Buffer[] = [];
  constructor(private readonly keep: number) {}

  take(size: number): Buffer {
    const i = this.spare.findIndex((b) => b.length >= size);
    return i >= 0 ? this.spare.splice(i, 1)[0]! : Buffer.allocUnsafe(size);
  }

  give(b: Buffer): void {
    if (this.spare.length < this.keep) this.spare.push(b);
  }
}

/** The pack a PackWriter wrote and uploaded. */
export interface WrittenPack {
  id: string;
  /** Its index, in columns (sorted by oid). */
  index: PackColumns;
  /** Bytes of the index text uploaded. */
  indexSize: number;
}

/**
 * Writes objects into packs of about `targetSize` bytes and uploads each full pack: the pack
 * first, its index second, so a reader never sees an index whose pack is not there yet. `add`
 * reads the object's bytes at once; `flush` uploads what is pending. A pack is assembled in
 * memory (at most about `targetSize` bytes) and uploaded from there: a pack written to a local
 * file object by object, read back to be hashed and read again to be sent cost a write per
 * object and two more passes over every byte.
 */
export class PackWriter {
  /**
   * The pending pack's bytes, in one buffer that grows by doubling: a Buffer kept per object
   * cost about 90 bytes of heap each beside the object's own, a hundred megabytes for a push of
   * a million tiny files in one pack.
   */
  private buf: Buffer = Buffer.alloc(0);
  private offset = 0;
  /**
   * The pending objects' index entries, in columns that also tell what was added: an entry
   * object per object and a Set of their oids cost about 100 bytes of heap an object.
   */
  private readonly entries: PackColumnsBuilder;

  constructor(
    private readonly remote: Remote,
    private readonly algo: HashAlgo,
    private readonly hash: HashBytes,
    private readonly targetSize: number,
    private readonly onUploaded?: (pack: WrittenPack) => void,
    /** Counts the bytes sent and stops the uploads of a push. */
    private readonly upload: { onBytes?: (n: number) => void; signal?: AbortSignal } = {},
    /**
     * The bytes the caller expects to add (a push knows its pack's size): the buffer is made that
     * large at once instead of doubling its way there, copying what it held at every step.
     */
    private readonly sizeHint = 0,
    private readonly pool?: BufferPool,
  ) {
    this.entries = new PackColumnsBuilder(algo);
  }

  /** Bytes waiting in the current pack. */
  get pending(): number {
    return this.offset;
  }

  /**
   * Appends an object (once per oid; an oid not well formed for the algorithm throws OID_INVALID).
   * A pack is uploaded before it would outgrow the target size (S3 takes a pack within one part
   * in a single request), or once it reached it.
   */
  async add(input: PackInput): Promise<WrittenPack | undefined> {
    const oid = assertOid(input.oid, this.algo);
    if (this.entries.has(oid)) return undefined;
    // A file's size, when the caller did not say it, matters only to keep a bounded pack within
    // its target: a push's packs are cut by size beforehand and read each file to its end.
    const size = 'bytes' in input
      ? input.bytes.length
      : 'readInto' in input
        ? input.length
        : input.size ?? (Number.isFinite(this.targetSize) ? statSync(input.file).size : 0);
    let written: WrittenPack | undefined;
    if (this.offset > 0 && this.offset + size > this.targetSize) written = await this.flush();
    const at = this.offset;
    const length = 'bytes' in input ? this.append(input.bytes) : 'readInto' in input ? this.appendRead(input) : this.appendFile(input.file, size);
    this.entries.add(oid, at, length);
    this.offset += length;
    return this.offset >= this.targetSize ? this.flush() : written;
  }

  /**
   * Makes room for `n` more bytes after the pending ones (the buffer doubles as it grows),
   * keeping the first `filled` bytes (the pending ones and any of the object being read).
   */
  private reserve(n: number, filled = this.offset): void {
    if (this.offset + n <= this.buf.length) return;
    const size = Math.max(this.offset + n, this.buf.length * 2, this.sizeHint + 1, 64 * 1024);
    const grown = this.pool ? this.pool.take(size) : Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, filled);
    if (this.pool && this.buf.length > 0) this.pool.give(this.buf);
    this.buf = grown;
  }

  private append(data: Uint8Array): number {
    this.reserve(data.length);
    this.buf.set(data, this.offset);
    return data.length;
  }

  /** Lets the caller read an object of known length straight into the pending pack. */
  private appendRead(input: { oid: string; length: number; readInto: (into: Buffer, at: number) => number }): number {
    this.reserve(input.length);
    const n = input.readInto(this.buf, this.offset);
    if (n !== input.length) {
      throw new RvcError('OBJECT_CORRUPT', `object ${input.oid} in the local cache holds ${n} bytes where ${input.length} were expected`, {
        hint: '`rvc fsck --repair` removes the damaged copy; then `rvc pull` fetches it again',
      });
    }
    return n;
  }

  /**
   * Reads a file straight into the pending pack and returns its length: reading it whole first
   * cost a fresh buffer (and its page faults) per object and a second copy of every byte, most of
   * the CPU time of pushing a large file's chunks. `size` is what the caller knows of it; a file
   * that turns out longer is read to its end all the same.
   */
  private appendFile(file: string, size: number): number {
    // One byte more than expected, so that the read that finds the end fits in the buffer.
    this.reserve(size + 1);
    const fd = openSync(file, 'r');
    let n = 0;
    try {
      for (;;) {
        if (this.offset + n === this.buf.length) this.reserve(n + 1, this.offset + n);
        const got = readSync(fd, this.buf, this.offset + n, this.buf.length - this.offset - n, null);
        if (got === 0) return n;
        n += got;
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Uploads the pending pack (pack, then index); undefined when nothing is pending. */
  async flush(): Promise<WrittenPack | undefined> {
    if (this.entries.size === 0) return undefined;
    const whole = this.buf;
    const packBytes = whole.subarray(0, this.offset);
    this.buf = Buffer.alloc(0);
    this.offset = 0;
    // The written pack's index is these very columns, sorted, not a parse of the text.
    const index = this.entries.finish(this.hash(packBytes), packBytes.length);
    const text = packIndexBytes(index);
    const id = this.hash(text);
    try {
      await this.remote.uploadBytes(packKey(this.algo, id), packBytes, this.upload);
    } finally {
      // The upload is over either way: nothing reads the bytes any more.
      this.pool?.give(whole);
    }
    await this.remote.uploadBytes(packIndexKey(this.algo, id), text, this.upload.signal ? { signal: this.upload.signal } : {});
    const written = { id, index, indexSize: text.length };
    this.onUploaded?.(written);
    return written;
  }

  /** Drops the pending pack without uploading it. */
  discard(): void {
    if (this.pool && this.buf.length > 0) this.pool.give(this.buf);
    this.buf = Buffer.alloc(0);
    this.entries.clear();
    this.offset = 0;
  }
}

/** True when `e` says the remote lacks a key (a pack deleted by a gc since its index was read). */
export function isMissingKey(e: unknown): boolean {
  return isRvcError(e) && e.code === 'OBJECT_MISSING';
}

/** One request of a pack read: bytes [offset, offset + length) holding `entries`. */
export interface PackRead {
  offset: number;
  length: number;
  entries: PackEntry[];
}

/**
 * The requests that read `entries` out of a pack: objects that lie close together (at most
 * `maxGap` unwanted bytes between them) share one request of at most `maxSpan` bytes (a larger
 * object has a request of its own), so reading many neighbours costs one round trip and reading
 * one object reads only its bytes.
 */
export function coalesceReads(entries: readonly PackEntry[], maxGap: number, maxSpan: number): PackRead[] {
  const sorted = [...entries].sort((a, b) => a.offset - b.offset);
  const reads: PackRead[] = [];
  let cur: PackRead | undefined;
  for (const e of sorted) {
    const end = e.offset + e.length;
    if (cur && e.offset - (cur.offset + cur.length) <= maxGap && end - cur.offset <= maxSpan) {
      cur.length = Math.max(cur.length, end - cur.offset);
      cur.entries.push(e);
    } else {
      cur = { offset: e.offset, length: e.length, entries: [e] };
      reads.push(cur);
    }
  }
  return reads;
}
