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

interface Entry {
  ino: number;
  mtimeMs: number;
  size: number;
  oid: string;
  at: number;
}

/**
 * The hash cache of one tracked output: what each file hashed to when its (path, inode, mtime,
 * size) were what they are now. It lets status and re-add skip reading unchanged files.
 *
 * Safety: the file is replaced atomically, so a killed process leaves the previous complete
 * state; an entry is only used when all four keys match and it is not racy, so a stale or
 * lost entry can only cost a re-hash, never give a wrong oid.
 */
export class HashState {
  private base: StateFile | undefined;
  private index: Map<string, number> | undefined;
  private basePaths: string[] = [];
  private readonly changed = new Map<string, Entry>();
  private readonly seen = new Set<string>();
  private dirty = false;

  private constructor(private readonly file: string, private readonly algo: string, base: StateFile | undefined) {
    this.base = base;
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

  private baseIndex(): Map<string, number> {
    if (!this.index) {
      this.index = new Map();
      if (this.base) {
        this.basePaths = this.base.paths === '' ? [] : this.base.paths.split('\0');
        for (let i = 0; i < this.basePaths.length; i++) this.index.set(this.basePaths[i]!, i);
      }
    }
    return this.index;
  }

  private entry(rel: string): Entry | undefined {
    const c = this.changed.get(rel);
    if (c) return c;
    const i = this.baseIndex().get(rel);
    if (i === undefined || !this.base) return undefined;
    const b = this.base;
    return { ino: b.ino[i]!, mtimeMs: b.mtime[i]!, size: b.size[i]!, oid: b.oids.slice(i * OID_LEN, (i + 1) * OID_LEN), at: b.at[i]! };
  }

  /** The recorded oid for `rel` if the file is provably unchanged since it was hashed. */
  get(rel: string, st: FileStat): string | undefined {
    const e = this.entry(rel);
    if (!e || e.ino !== st.ino || e.mtimeMs !== st.mtimeMs || e.size !== st.size) return undefined;
    if (st.mtimeMs + RACY_MS >= e.at) return undefined;
    this.seen.add(rel);
    return e.oid;
  }

  /** `recordedAt` must be taken before the file was read (see RACY_MS). */
  set(rel: string, st: FileStat, oid: string, recordedAt: number): void {
    this.seen.add(rel);
    if (oid.length !== OID_LEN) return;
    const prev = this.entry(rel);
    if (prev && prev.ino === st.ino && prev.mtimeMs === st.mtimeMs && prev.size === st.size && prev.oid === oid && st.mtimeMs + RACY_MS < prev.at) return;
    this.changed.set(rel, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, oid, at: recordedAt });
    this.dirty = true;
  }

  /** With `prune`, forgets entries for files not looked at in this run (deleted files); saves if changed. */
  save(opts: { prune?: boolean } = {}): void {
    this.baseIndex();
    if (opts.prune && !this.dirty) {
      for (const p of this.basePaths) {
        if (!this.seen.has(p)) {
          this.dirty = true;
          break;
        }
      }
    }
    if (!this.dirty) return;
    // The kept entries: base rows by index (read straight from the columns) and changed ones.
    const b = this.base;
    const keepBase: number[] = [];
    for (let i = 0; i < this.basePaths.length; i++) {
      const p = this.basePaths[i]!;
      if (this.changed.has(p) || (opts.prune && !this.seen.has(p))) continue;
      keepBase.push(i);
    }
    const keepChanged: [string, Entry][] = [];
    for (const [p, e] of this.changed) {
      if (opts.prune && !this.seen.has(p)) continue;
      keepChanged.push([p, e]);
    }
    // Written column by column in pieces (see writeFileAtomicChunks): for a million files the
    // whole JSON text, built at once, cost several hundred MB at the moment memory peaks.
    const column = (write: (t: string) => void, fromBase: (i: number) => number, fromEntry: (e: Entry) => number): void => {
      let sep = '';
      for (const i of keepBase) {
        write(sep + String(fromBase(i)));
        sep = ',';
      }
      for (const [, e] of keepChanged) {
        write(sep + String(fromEntry(e)));
        sep = ',';
      }
    };
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      // The hash cache is an optimisation: no fsync, and a failed save is not an error.
      writeFileAtomicChunks(this.file, (write) => {
        write(`{"v":2,"algo":${JSON.stringify(this.algo)},"paths":"`);
        let sep = '';
        for (const i of keepBase) {
          write(sep + JSON.stringify(this.basePaths[i]!).slice(1, -1));
          sep = '\\u0000';
        }
        for (const [p] of keepChanged) {
          write(sep + JSON.stringify(p).slice(1, -1));
          sep = '\\u0000';
        }
        write('","oids":"');
        for (const i of keepBase) write(b!.oids.slice(i * OID_LEN, (i + 1) * OID_LEN));
        for (const [, e] of keepChanged) write(e.oid);
        write('","ino":[');
        column(write, (i) => b!.ino[i]!, (e) => e.ino);
        write('],"mtime":[');
        column(write, (i) => b!.mtime[i]!, (e) => e.mtimeMs);
        write('],"size":[');
        column(write, (i) => b!.size[i]!, (e) => e.size);
        write('],"at":[');
        column(write, (i) => b!.at[i]!, (e) => e.at);
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

function isStateFile(v: unknown, algo: string): v is StateFile {
  if (!v || typeof v !== 'object') return false;
  const s = v as StateFile;
  if (s.v !== 2 || s.algo !== algo || typeof s.paths !== 'string' || typeof s.oids !== 'string') return false;
  const n = s.paths === '' ? 0 : s.paths.split('\0', -1).length;
  return [s.ino, s.mtime, s.size, s.at].every((a) => Array.isArray(a) && a.length === n) && s.oids.length === n * OID_LEN && /^[0-9a-f]*$/.test(s.oids);
}
