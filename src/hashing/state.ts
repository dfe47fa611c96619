import fs from 'node:fs';
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

/**
 * On disk the entries are stored as columns: one string of NUL-separated paths, one string of
 * concatenated oids, and arrays of numbers. Parsing that for 50,000 files creates a handful of
 * objects instead of 100,000 small arrays — the row form cost more to load (and to collect)
 * than the 50,000 lstat calls it saves.
 */
interface StateFile {
  v: 2;
  algo: string;
  paths: string;
  ino: number[];
  mtime: number[];
  size: number[];
  oids: string;
  at: number[];
}

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

  private constructor(private readonly file: string, private readonly algo: string, base: StateFile | undefined) {
    this.base = base;
    this.baseRows = base ? base.ino.length : 0;
    this.baseSeen = new Uint8Array(this.baseRows);
  }

  /** State file for the output at repository-relative `outPath`. */
  static fileFor(stateDir: string, algo: string, outPath: string): string {
    return path.join(stateDir, `${hashBuffer('blake3', `${algo}\0${outPath}`).slice(0, 32)}.json`);
  }

  static load(stateDir: string, algo: string, outPath: string): HashState {
    const file = HashState.fileFor(stateDir, algo, outPath);
    let base: StateFile | undefined;
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
      if (isStateFile(parsed, algo)) base = parsed;
    } catch {
      // missing or unreadable state only costs re-hashing
    }
    return new HashState(file, algo, base);
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

  private baseOid(i: number): string {
    return this.base!.oids.slice(i * OID_LEN, (i + 1) * OID_LEN);
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
    // those was looked at in this run, so pruning never drops one.
    const keepBase = new Uint8Array(n);
    eachPath(this.base?.paths ?? '', n, (p, i) => {
      if ((opts.prune && !this.baseSeen[i]) || this.changedRow(p) !== undefined) return;
      keepBase[i] = 1;
    });
    const b = this.base;
    const changedPaths = this.changedPaths();
    // Written column by column in pieces (see writeFileAtomicChunks): for a million files the
    // whole JSON text, built at once, cost several hundred MB at the moment memory peaks.
    const column = (write: (t: string) => void, fromBase: readonly number[] | undefined, fromChanged: readonly number[]): void => {
      let sep = '';
      for (let i = 0; i < n; i++) {
        if (!keepBase[i]) continue;
        write(sep + String(fromBase![i]!));
        sep = ',';
      }
      for (let c = 0; c < fromChanged.length; c++) {
        write(sep + String(fromChanged[c]!));
        sep = ',';
      }
    };
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      // The hash cache is an optimisation: no fsync, and a failed save is not an error.
      writeFileAtomicChunks(this.file, (write) => {
        write(`{"v":2,"algo":${JSON.stringify(this.algo)},"paths":"`);
        let sep = '';
        eachPath(b?.paths ?? '', n, (p, i) => {
          if (!keepBase[i]) return;
          write(sep + JSON.stringify(p).slice(1, -1));
          sep = '\\u0000';
        });
        for (const p of changedPaths) {
          write(sep + JSON.stringify(p).slice(1, -1));
          sep = '\\u0000';
        }
        write('","oids":"');
        for (let i = 0; i < n; i++) if (keepBase[i]) write(b!.oids.slice(i * OID_LEN, (i + 1) * OID_LEN));
        for (let c = 0; c < this.cOid.length; c++) write(this.cOid[c]!);
        write('","ino":[');
        column(write, b?.ino, this.cIno);
        write('],"mtime":[');
        column(write, b?.mtime, this.cMtime);
        write('],"size":[');
        column(write, b?.size, this.cSize);
        write('],"at":[');
        column(write, b?.at, this.cAt);
        write(']}');
      }, { fsync: false });
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

/** Calls `fn` with each of the `n` paths of a NUL-separated column and its row. */
function eachPath(paths: string, n: number, fn: (p: string, i: number) => void): void {
  let off = 0;
  for (let i = 0; i < n; i++) {
    let nul = paths.indexOf('\0', off);
    if (nul === -1) nul = paths.length;
    fn(paths.slice(off, nul), i);
    off = nul + 1;
  }
}

function isStateFile(v: unknown, algo: string): v is StateFile {
  if (!v || typeof v !== 'object') return false;
  const s = v as StateFile;
  if (s.v !== 2 || s.algo !== algo || typeof s.paths !== 'string' || typeof s.oids !== 'string') return false;
  if (!Array.isArray(s.ino)) return false;
  const n = s.ino.length;
  return pathsHoldRows(s.paths, n) && [s.ino, s.mtime, s.size, s.at].every((a) => Array.isArray(a) && a.length === n) && s.oids.length === n * OID_LEN && /^[0-9a-f]*$/.test(s.oids);
}
