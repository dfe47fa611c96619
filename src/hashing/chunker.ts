import { createHash } from 'node:crypto';

/**
 * Content-defined chunking (FastCDC: a gear rolling hash with normalized chunking). A cut point
 * depends only on the 32 bytes before it, so inserting or deleting bytes moves only the cut
 * points near the edit: the chunks before it and, once the hash meets an old cut point again,
 * those after it are unchanged and are not stored or sent again.
 *
 * The parameters and the gear table are part of the storage format (they decide which chunks a
 * file is cut into, and so whether a new version shares the old one's chunks): changing them
 * keeps every stored object readable but stops new versions from sharing chunks with old ones.
 */
export interface ChunkParams {
  /** No cut before this many bytes of a chunk (the gear hash does not even run there). */
  min: number;
  /** The expected size: a harder mask before it, an easier one after (normalized chunking). */
  avg: number;
  /** A chunk is cut here at the latest. */
  max: number;
}

/** 1 MiB on average, 256 KiB to 4 MiB (docs/file-formats.md says why). */
export const CHUNK_PARAMS: ChunkParams = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

/**
 * The gear table: entry i is the first 4 bytes (big-endian) of SHA-256 of the single byte i.
 * Made on first use, so commands that chunk nothing do not pay for it.
 */
let gearTable: Int32Array | undefined;
function gearTables(): [Int32Array, Int32Array] {
  if (!gearTable) {
    gearTable = new Int32Array(256);
    for (let i = 0; i < 256; i++) gearTable[i] = createHash('sha256').update(Buffer.from([i])).digest().readInt32BE(0);
    gearTable2 = gearTable.map((g) => g << 1);
  }
  return [gearTable, gearTable2!];
}
/** The gear table doubled, for the first byte of a two-byte step. */
let gearTable2: Int32Array | undefined;

/**
 * A mask of `bits` bits just below the top bit (bits 30 down): the gear hash's high bits see the
 * last 31 bytes, and leaving bit 31 out lets the loop test the hash doubled (half-way through a
 * two-byte step) with the mask shifted left, which is the same condition.
 */
function highMask(bits: number): number {
  return ((0xffffffff << (32 - bits)) >>> 1) | 0;
}

export interface Cutter {
  readonly params: ChunkParams;
  /**
   * The end (exclusive) of the chunk starting at `start`, given the bytes `buf[start, end)`. The
   * caller must pass at least `params.max` bytes unless they are the end of the input (`final`).
   */
  cut(buf: Uint8Array, start: number, end: number, final: boolean): number;
}

export function makeCutter(params: ChunkParams = CHUNK_PARAMS): Cutter {
  const { min, avg, max } = params;
  if (!(min > 0 && min < avg && avg < max)) throw new RangeError(`chunk sizes must satisfy 0 < min < avg < max (got ${min}, ${avg}, ${max})`);
  const bits = Math.round(Math.log2(avg));
  // Normalization level 2: two bits harder before the expected size, two easier after.
  const maskS = highMask(Math.min(30, bits + 2));
  const maskL = highMask(Math.max(1, bits - 2));
  const maskS2 = maskS << 1;
  const maskL2 = maskL << 1;
  const [gear, gear2] = gearTables();
  return {
    params,
    cut(buf: Uint8Array, start: number, end: number, final: boolean): number {
      const n = end - start;
      if (!final && n < max) throw new RangeError('chunker needs at least max bytes unless at the end of input');
      if (n <= min) return end;
      const stop = start + Math.min(n, max);
      const mid = start + Math.min(n, avg);
      // h is the gear hash h' = (h << 1) + gear[byte] of every byte from start + min on; two
      // bytes per step (the first one's hash tested doubled), which the JIT runs faster.
      let h = 0;
      let i = start + min;
      for (; i + 1 < mid; i += 2) {
        h = ((h << 2) + gear2[buf[i]!]!) | 0;
        if ((h & maskS2) === 0) return i + 1;
        h = (h + gear[buf[i + 1]!]!) | 0;
        if ((h & maskS) === 0) return i + 2;
      }
      if (i < mid) {
        h = ((h << 1) + gear[buf[i]!]!) | 0;
        if ((h & maskS) === 0) return i + 1;
        i++;
      }
      for (; i + 1 < stop; i += 2) {
        h = ((h << 2) + gear2[buf[i]!]!) | 0;
        if ((h & maskL2) === 0) return i + 1;
        h = (h + gear[buf[i + 1]!]!) | 0;
        if ((h & maskL) === 0) return i + 2;
      }
      return stop;
    },
  };
}

/** Every chunk of a buffer held whole, as [start, end) pairs covering it in order. */
export function chunkBuffer(buf: Uint8Array, params: ChunkParams = CHUNK_PARAMS): Array<[number, number]> {
  const c = params === CHUNK_PARAMS ? defaultCutter() : makeCutter(params);
  const out: Array<[number, number]> = [];
  let pos = 0;
  while (pos < buf.length) {
    const end = c.cut(buf, pos, buf.length, true);
    out.push([pos, end]);
    pos = end;
  }
  return out;
}

let cutter: Cutter | undefined;
/** The cutter of CHUNK_PARAMS, made once: one closure, so the JIT optimises it once. */
export function defaultCutter(): Cutter {
  return (cutter ??= makeCutter(CHUNK_PARAMS));
}
