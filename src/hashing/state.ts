import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicChunks } from '../fsutil/atomic.js';
import type { FileStat } from '../fsutil/walk.js';
import { hashBuffer } from './hash.js';

/**
 * An entry is recorded with the time its hashing started. A file whose mtime is not clearly
 * older than that may have been written again within the same timestamp tick after we read it
 * ("racily clean", as git calls it), so it is re-hashed once more and then recorded as settled.
 * Filesystem timestamps come from a coarse clock (a few ms per tick); 100 ms covers it.
 */
export const RACY_MS = 100;

/** Every oid a file can have is 64 hex digits (BLAKE3 and SHA-256 alike). */
const OID_LEN = 64;
const OID_RE = /^[0-9a-f]{64}$/;

/**
 * The entries in columns: one string of NUL-separated paths, one string of concatenated oids,
 * and four columns of numbers. On disk (v3, `<id>.state`) the columns are bytes after a one-line
 * header: a 50,000-file output loads with a few copies instead of parsing 6 MB of JSON, which
 * cost a checkout or status 100-150 ms (v2, `<id>.json`, JSON of the same columns, is still
 * read, and replaced on the next save).
 */
interface StateFile {
  algo: string;
  paths: string;
  ino: Float64Array;
  mtime: Float64Array;
  size: Float64Array;
  oids: string;
  at: Float64Array;
}

/** The JSON form rvc wrote before v3. */
interface StateFileV2 {
  v: 2;
  algo: string;
  paths: string;
  ino: number[];
  mtime: number[];
  size: number[];
  oids: string;
  at: number[];
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * The hash cache of one tracked output: what each file hashed to when its (path, inode, mtime,
 * size) were what they are now. It lets status and re-add skip reading unchanged files.
 *
 * Safety: the file is replaced atomically, so a killed process leaves the previous complete
 * state; an entry is only used when all four keys match and it is not racy, so a stale or
 * lost entry can only cost a re-hash, never give a wrong oid.
 *
 * Memory: a million files pass through here on `add` and `checkout`, so entries are kept in
 * columns (one array per field, numbers stored unboxed), not as an object per file. Loaded
 * rows are found without a map (see cursorRow) and updated in place when only their stat
 * changed; rows for new paths or contents are kept in columns too, their paths NUL-joined while
 * they come in order (a map from path to row only once one does not). Which loaded rows were
 * looked at is one byte per row.
 */
export class HashState {
  private base: StateFile | undefined;
  /** Rows in the loaded file. */
  private readonly baseRows: number;
  /**
   * Loaded rows are found by walking the NUL-separated path column alongside the caller, who
   * asks in path order (the order rows are saved in), so a million-row file costs no string and
   * no map entry per row; a path asked out of order falls back to a map built on first need.
   */
  private cursorRow = 0;
  private cursorOff = 0;
  /** The last path found, which set() asks again right after get(). */
  private lastRel: string | undefined;
  private lastRow = -1;
  private index: Map<string, number> | undefined;
  /** Offset of each loaded row's path in the path column, with the map. */
  private offsets: Float64Array | undefined;
  /** Per loaded row: 1 once get/set looked at its path in this run. */
  private readonly baseSeen: Uint8Array;
  /**
   * Rows recorded in this run (each was looked at, by definition), row c for the c-th path.
   * While paths come in increasing order (a checkout or add records in walk order) they are kept
   * NUL-joined in pieces, and "recorded already?" is one comparison with the last: a million new
   * paths cost no map entry each (nor keep the caller's path strings). The first path out of
   * order builds the map from path to row, used from then on.
   */
  private changedPieces: string[] = [];
  private changedPending: string[] = [];
  private lastChanged: string | undefined;
  private changedMap: Map<string, number> | undefined;
  private readonly cIno: number[] = [];
  private readonly cMtime: number[] = [];
  private readonly cSize: number[] = [];
  private readonly cAt: number[] = [];
  private readonly cOid: string[] = [];
  private dirty = false;

  private constructor(
    private readonly file: string,
    private readonly algo: string,
    base: StateFile | undefined,
    /** A v2 file to delete once this state is saved in its place. */
    private legacy?: string,
  ) {
    this.base = base;
    this.baseRows = base ? base.ino.length : 0;
    // A v2 file is written again as v3 (and removed) by the first save.
    if (legacy) this.dirty = true;
    this.baseSeen = new Uint8Array(this.baseRows);
  }

  /** State file for the output at repository-relative `outPath`. */
  static fileFor(stateDir: string, algo: string, outPath: string): string {
    return path.join(stateDir, `${HashState.idFor(algo, outPath)}.state`);
  }

  /** Where rvc before format v3 kept the same state (JSON). */
  private static legacyFileFor(stateDir: string, algo: string, outPath: string): string {
    return path.join(stateDir, `${HashState.idFor(algo, outPath)}.json`);
  }

  private static idFor(algo: string, outPath: string): string {
    return hashBuffer('blake3', `${algo}\0${outPath}`).slice(0, 32);
  }

  static load(stateDir: string, algo: string, outPath: string): HashState {
    const file = HashState.fileFor(stateDir, algo, outPath);
    let base = readStateFile(file, algo);
    let legacy: string | undefined;
    if (!base) {
      legacy = HashState.legacyFileFor(stateDir, algo, outPath);
      base = readLegacyStateFile(legacy, algo);
      if (!base && !fs.existsSync(legacy)) legacy = undefined;
    }
    return new HashState(file, algo, base, legacy);
  }

  /** Forgets the state of an output (its files were removed): the next run hashes anew. */
  static remove(stateDir: string, algo: string, outPath: string): void {
    fs.rmSync(HashState.fileFor(stateDir, algo, outPath), { force: true });
    fs.rmSync(HashState.legacyFileFor(stateDir, algo, outPath), { force: true });
  }

  /** Gives the state of an output that moved to its new path (`rvc move`), if it has one. */
  static rename(stateDir: string, algo: string, fromPath: string, toPath: string): void {
    for (const [from, to] of [
      [HashState.fileFor(stateDir, algo, fromPath), HashState.fileFor(stateDir, algo, toPath)],
      [HashState.legacyFileFor(stateDir, algo, fromPath), HashState.legacyFileFor(stateDir, algo, toPath)],
    ] as const) {
      if (fs.existsSync(from)) fs.renameSync(from, to);
    }
  }

  /** The loaded row of `rel`, or undefined. */
  private baseRow(rel: string): number | undefined {
    if (rel === this.lastRel) return this.lastRow;
    const i = this.findBaseRow(rel);
    if (i !== undefined) {
      this.lastRel = rel;
      this.lastRow = i;
    }
    return i;
  }

  private findBaseRow(rel: string): number | undefined {
    if (this.cursorRow >= this.baseRows) {
      if (this.cursorRow === 0) return undefined; // nothing loaded
    } else {
      const paths = this.base!.paths;
      const off = this.cursorOff;
      const end = off + rel.length;
      if (paths.startsWith(rel, off) && (end === paths.length || paths.charCodeAt(end) === 0)) {
        this.cursorRow++;
        this.cursorOff = end + 1;
        return this.cursorRow - 1;
      }
    }
    if (!this.index) {
      const paths = this.base!.paths;
      this.index = new Map();
      this.offsets = new Float64Array(this.baseRows + 1);
      let off = 0;
      for (let i = 0; i < this.baseRows; i++) {
        let nul = paths.indexOf('\0', off);
        if (nul === -1) nul = paths.length;
        this.offsets[i] = off;
        this.index.set(paths.slice(off, nul), i);
        off = nul + 1;
      }
      this.offsets[this.baseRows] = off;
    }
    const i = this.index.get(rel);
    if (i !== undefined) {
      this.cursorRow = i + 1;
      this.cursorOff = this.offsets![i + 1]!;
    }
    return i;
  }

  /** The recorded oid for `rel` if the file is provably unchanged since it was hashed. */
  get(rel: string, st: FileStat): string | undefined {
    const c = this.changedRow(rel);
    const b = this.baseRow(rel);
    const r = c !== undefined ? c : b !== undefined ? -1 - b : undefined;
    if (r === undefined || !this.matches(r, st)) return undefined;
    if (b !== undefined) this.baseSeen[b] = 1;
    return r >= 0 ? this.cOid[r]! : this.baseOid(-1 - r);
  }

  /** Keys equal and not racy. */
  private matches(r: number, st: FileStat): boolean {
    if (r >= 0) {
      return this.cIno[r] === st.ino && this.cMtime[r] === st.mtimeMs && this.cSize[r] === st.size && st.mtimeMs + RACY_MS < this.cAt[r]!;
    }
    const b = this.base!;
    const i = -1 - r;
    return b.ino[i] === st.ino && b.mtime[i] === st.mtimeMs && b.size[i] === st.size && st.mtimeMs + RACY_MS < b.at[i]!;
  }

  /**
   * The loaded oid of row i, or undefined when it is not 64 hex digits: a v3 file's oid column
   * is checked row by row when used, not all at load (a regular expression over 3 MB of oids
   * cost each load of 50,000 rows 13 ms).
   */
  private baseOid(i: number): string | undefined {
    const oid = this.base!.oids.slice(i * OID_LEN, (i + 1) * OID_LEN);
    return OID_RE.test(oid) ? oid : undefined;
  }

  /** `recordedAt` must be taken before the file was read (see RACY_MS). */
  set(rel: string, st: FileStat, oid: string, recordedAt: number): void {
    const c0 = this.changedRow(rel);
    const b = this.baseRow(rel);
    if (b !== undefined) this.baseSeen[b] = 1;
    const r = c0 !== undefined ? c0 : b !== undefined ? -1 - b : undefined;
    if (oid.length !== OID_LEN) return;
    if (r !== undefined && this.matches(r, st) && (r >= 0 ? this.cOid[r] === oid : this.base!.oids.startsWith(oid, (-1 - r) * OID_LEN))) return;
    if (c0 === undefined && b !== undefined && this.base!.oids.startsWith(oid, b * OID_LEN)) {
      // Same content, new stat (a checkout restored the file): the loaded row is updated in
      // place, which costs no map entry per file.
      const base = this.base!;
      base.ino[b] = st.ino;
      base.mtime[b] = st.mtimeMs;
      base.size[b] = st.size;
      base.at[b] = recordedAt;
      this.dirty = true;
      return;
    }
    let c = r !== undefined && r >= 0 ? r : undefined;
    if (c === undefined) {
      c = this.cOid.length;
      this.addChanged(rel, c);
    }
    this.cIno[c] = st.ino;
    this.cMtime[c] = st.mtimeMs;
    this.cSize[c] = st.size;
    this.cAt[c] = recordedAt;
    this.cOid[c] = oid;
    this.dirty = true;
  }

  /** The row recorded in this run for `rel`, or undefined. */
  private changedRow(rel: string): number | undefined {
    if (this.changedMap) return this.changedMap.get(rel);
    if (this.lastChanged === undefined || rel > this.lastChanged) return undefined;
    if (rel === this.lastChanged) return this.cOid.length - 1;
    return this.mapChanged().get(rel);
  }

  /** Records that row `c` (the next one) is `rel`'s, which has none yet. */
  private addChanged(rel: string, c: number): void {
    if (!this.changedMap && (this.lastChanged === undefined || rel > this.lastChanged)) {
      this.changedPending.push(rel);
      this.lastChanged = rel;
      if (this.changedPending.length === 4096) {
        this.changedPieces.push(this.changedPending.join('\0'));
        this.changedPending = [];
      }
      return;
    }
    this.mapChanged().set(rel, c);
  }

  /** The map from path to row of the rows recorded in this run, built from the pieces once. */
  private mapChanged(): Map<string, number> {
    if (this.changedMap) return this.changedMap;
    const map = new Map<string, number>();
    for (const p of this.changedPaths()) map.set(p, map.size);
    this.changedMap = map;
    this.changedPieces = [];
    this.changedPending = [];
    this.lastChanged = undefined;
    return map;
  }

  /** The paths of the rows recorded in this run, in row order. */
  private *changedPaths(): Generator<string> {
    if (this.changedMap) {
      // Keys come in insertion order, which is row order.
      yield* this.changedMap.keys();
      return;
    }
    for (const piece of this.changedPieces) yield* piece.split('\0');
    yield* this.changedPending;
  }

  /** With `prune`, forgets entries for files not looked at in this run (deleted files); saves if changed. */
  save(opts: { prune?: boolean } = {}): void {
    const n = this.baseRows;
    if (opts.prune && !this.dirty) {
      for (let i = 0; i < n; i++) {
        if (!this.baseSeen[i]) {
          this.dirty = true;
          break;
        }
      }
    }
    if (!this.dirty) return;
    // The kept loaded rows (read straight from the columns), then every changed row: each of
    // those was looked at in this run, so pruning never drops one. Kept rows go in runs of
    // neighbours, each written as one piece of every column (usually one run: all of them).
    const b = this.base;
    const paths = b?.paths ?? '';
    const keepBase = new Uint8Array(n);
    /** Where row i's path starts in `paths`; offs[n] is one past its end. */
    const offs = new Float64Array(n + 1);
    const anyChanged = this.cOid.length > 0;
    let off = 0;
    for (let i = 0; i < n; i++) {
      let nul = paths.indexOf('\0', off);
      if (nul === -1) nul = paths.length;
      offs[i] = off;
      if (!(opts.prune && !this.baseSeen[i]) && !(anyChanged && this.changedRow(paths.slice(off, nul)) !== undefined)) keepBase[i] = 1;
      off = nul + 1;
    }
    offs[n] = paths.length + 1;
    const runs: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      if (!keepBase[i]) continue;
      const last = runs[runs.length - 1];
      if (last && last[1] === i) last[1] = i + 1;
      else runs.push([i, i + 1]);
    }
    const changed = this.cOid.length;
    let rows = changed;
    let pathBytes = 0;
    let pieces = 0;
    for (const [i0, i1] of runs) {
      rows += i1 - i0;
      pathBytes += Buffer.byteLength(paths.substring(offs[i0]!, offs[i1]! - 1)) + (pieces++ ? 1 : 0);
    }
    for (const p of this.changedPaths()) pathBytes += Buffer.byteLength(p) + (pieces++ ? 1 : 0);
    // Written column by column in pieces of at most PIECE_ROWS rows or 1 MiB of text: for a
    // million files the whole file, built at once, would cost over 100 MB when memory peaks.
    const column = (write: (piece: string | Uint8Array) => void, fromBase: Float64Array | undefined, fromChanged: readonly number[]): void => {
      const piece = new Float64Array(Math.min(PIECE_ROWS, Math.max(1, rows)));
      const bytes = Buffer.from(piece.buffer);
      let k = 0;
      const put = (v: number): void => {
        if (LITTLE_ENDIAN) piece[k] = v;
        else bytes.writeDoubleLE(v, 8 * k);
        if (++k === piece.length) {
          write(bytes);
          k = 0;
        }
      };
      for (const [i0, i1] of runs) {
        if (!LITTLE_ENDIAN) {
          for (let i = i0; i < i1; i++) put(fromBase![i]!);
          continue;
        }
        for (let i = i0; i < i1; i += PIECE_ROWS) {
          const e = Math.min(i1, i + PIECE_ROWS);
          write(new Uint8Array(fromBase!.buffer, fromBase!.byteOffset + 8 * i, 8 * (e - i)));
        }
      }
      for (let c = 0; c < fromChanged.length; c++) put(fromChanged[c]!);
      if (k > 0) write(bytes.subarray(0, 8 * k));
    };
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      // The hash cache is an optimisation: no fsync, and a failed save is not an error.
      writeFileAtomicChunks(this.file, (write) => {
        write(`${JSON.stringify({ v: 3, algo: this.algo, rows, pathBytes })}\n`);
        column(write, b?.ino, this.cIno);
        column(write, b?.mtime, this.cMtime);
        column(write, b?.size, this.cSize);
        column(write, b?.at, this.cAt);
        for (const [i0, i1] of runs) writeText(write, b!.oids, i0 * OID_LEN, i1 * OID_LEN);
        for (let c = 0; c < changed; c++) write(this.cOid[c]!);
        let sep = '';
        for (const [i0, i1] of runs) {
          write(sep);
          writeText(write, paths, offs[i0]!, offs[i1]! - 1);
          sep = '\0';
        }
        for (const p of this.changedPaths()) {
          write(sep + p);
          sep = '\0';
        }
      }, { fsync: false });
      if (this.legacy) {
        fs.rmSync(this.legacy, { force: true });
        this.legacy = undefined;
      }
      // Memory still holds what is on disk (plus entries pruned from the file, which stay
      // correct for as long as their keys match).
      this.dirty = false;
    } catch {
      // ignore: the next run re-hashes
    }
  }
}

/**
 * Rows a NUL-separated path column of `n` rows must hold: n - 1 separators. The column alone
 * cannot tell no rows from one row whose path is '' (a single-file output), so the row count is
 * taken from the number columns and this only checks the paths agree with it.
 */
function pathsHoldRows(paths: string, n: number): boolean {
  if (n === 0) return paths === '';
  return countSeparators(paths) === n - 1;
}

function countSeparators(paths: string): number {
  let n = 0;
  for (let i = paths.indexOf('\0'); i !== -1; i = paths.indexOf('\0', i + 1)) n++;
  return n;
}

/**
 * Writes s[from, to) in pieces of about 1 MiB, never cutting between the two halves of a
 * surrogate pair (each half alone would be written as U+FFFD).
 */
function writeText(write: (piece: string) => void, s: string, from: number, to: number): void {
  for (let a = from; a < to;) {
    let e = Math.min(to, a + (1 << 20));
    if (e < to && e > a + 1) {
      const c = s.charCodeAt(e - 1);
      if (c >= 0xd800 && c <= 0xdbff) e--;
    }
    write(s.substring(a, e));
    a = e;
  }
}

/** Rows of each piece of a number column written at once (512 KiB). */
const PIECE_ROWS = 65536;

/**
 * Reads a v3 state file: the header line `{"v":3,"algo":…,"rows":N,"pathBytes":P}`, then the
 * columns ino, mtime, size and at (N little-endian float64 each), the oids (64·N ASCII hex digits)
 * and the NUL-separated paths (P bytes of UTF-8). Undefined when it is missing or not exactly
 * that (another length, another algorithm, non-hex oids, paths not N): only re-hashing follows.
 */
function readStateFile(file: string, algo: string): StateFile | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  const nl = buf.indexOf(10);
  if (nl < 0 || nl > 1024) return undefined;
  let head: unknown;
  try {
    head = JSON.parse(buf.toString('utf8', 0, nl));
  } catch {
    return undefined;
  }
  const h = head as { v?: unknown; algo?: unknown; rows?: unknown; pathBytes?: unknown } | null;
  if (!h || typeof h !== 'object' || h.v !== 3 || h.algo !== algo) return undefined;
  const rows = h.rows;
  const pathBytes = h.pathBytes;
  if (typeof rows !== 'number' || !Number.isSafeInteger(rows) || rows < 0) return undefined;
  if (typeof pathBytes !== 'number' || !Number.isSafeInteger(pathBytes) || pathBytes < 0) return undefined;
  let at = nl + 1;
  if (buf.length !== at + rows * (4 * 8 + OID_LEN) + pathBytes) return undefined;
  const column = (): Float64Array => {
    const a = new Float64Array(rows);
    if (LITTLE_ENDIAN) new Uint8Array(a.buffer).set(buf.subarray(at, at + 8 * rows));
    else for (let i = 0; i < rows; i++) a[i] = buf.readDoubleLE(at + 8 * i);
    at += 8 * rows;
    return a;
  };
  const ino = column();
  const mtime = column();
  const size = column();
  const recorded = column();
  // Decoded as UTF-8, which is quicker than latin1 for ASCII: any other byte decodes to a
  // character that is not a hex digit, which baseOid refuses.
  const oids = buf.toString('utf8', at, at + rows * OID_LEN);
  at += rows * OID_LEN;
  const paths = buf.toString('utf8', at, at + pathBytes);
  if (oids.length !== rows * OID_LEN || !pathsHoldRows(paths, rows)) return undefined;
  return { algo, paths, ino, mtime, size, oids, at: recorded };
}

/** Reads a v2 (JSON) state file into columns; undefined when it is missing or not sound. */
function readLegacyStateFile(file: string, algo: string): StateFile | undefined {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isStateFileV2(v, algo)) return undefined;
  return { algo, paths: v.paths, ino: Float64Array.from(v.ino), mtime: Float64Array.from(v.mtime), size: Float64Array.from(v.size), oids: v.oids, at: Float64Array.from(v.at) };
}

function isStateFileV2(v: unknown, algo: string): v is StateFileV2 {
  if (!v || typeof v !== 'object') return false;
  const s = v as StateFileV2;
  if (s.v !== 2 || s.algo !== algo || typeof s.paths !== 'string' || typeof s.oids !== 'string') return false;
  if (!Array.isArray(s.ino)) return false;
  const n = s.ino.length;
  // Numbers only: a column turned into numbers must not make a string "1" match inode 1.
  const numbers = (a: unknown): boolean => Array.isArray(a) && a.length === n && a.every((x) => typeof x === 'number');
  return pathsHoldRows(s.paths, n) && [s.ino, s.mtime, s.size, s.at].every(numbers) && s.oids.length === n * OID_LEN && /^[0-9a-f]*$/.test(s.oids);
}
