import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../fsutil/atomic.js';
import type { FileStat } from '../fsutil/walk.js';
import { hashBuffer } from './hash.js';

/**
 * An entry is recorded with the time its hashing started. A file whose mtime is not clearly
 * older than that may have been written again within the same timestamp tick after we read it
 * ("racily clean", as git calls it), so it is re-hashed once more and then recorded as settled.
 * Filesystem timestamps come from a coarse clock (a few ms per tick); 100 ms covers it.
 */
export const RACY_MS = 100;

/** [ino, mtimeMs, size, oid, recordedAtMs] */
type Entry = [number, number, number, string, number];

interface StateFile {
  v: 1;
  algo: string;
  entries: Record<string, Entry>;
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
  private entries: Record<string, Entry>;
  private dirty = false;
  private readonly seen = new Set<string>();

  private constructor(private readonly file: string, private readonly algo: string, entries: Record<string, Entry>) {
    this.entries = entries;
  }

  /** State file for the output at repository-relative `outPath`. */
  static fileFor(stateDir: string, algo: string, outPath: string): string {
    return path.join(stateDir, `${hashBuffer('blake3', `${algo}\0${outPath}`).slice(0, 32)}.json`);
  }

  static load(stateDir: string, algo: string, outPath: string): HashState {
    const file = HashState.fileFor(stateDir, algo, outPath);
    let entries: Record<string, Entry> = Object.create(null) as Record<string, Entry>;
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
      if (parsed && parsed.v === 1 && parsed.algo === algo && parsed.entries && typeof parsed.entries === 'object') {
        entries = Object.assign(Object.create(null) as Record<string, Entry>, parsed.entries);
      }
    } catch {
      // missing or unreadable state only costs re-hashing
    }
    return new HashState(file, algo, entries);
  }

  /** The recorded oid for `rel` if the file is provably unchanged since it was hashed. */
  get(rel: string, st: FileStat): string | undefined {
    const e = this.entries[rel];
    if (!e || !Array.isArray(e) || e.length !== 5) return undefined;
    if (e[0] !== st.ino || e[1] !== st.mtimeMs || e[2] !== st.size || typeof e[3] !== 'string') return undefined;
    if (st.mtimeMs + RACY_MS >= e[4]) return undefined;
    this.seen.add(rel);
    return e[3];
  }

  /** `recordedAt` must be taken before the file was read (see RACY_MS). */
  set(rel: string, st: FileStat, oid: string, recordedAt: number): void {
    const prev = this.entries[rel];
    if (prev && prev[0] === st.ino && prev[1] === st.mtimeMs && prev[2] === st.size && prev[3] === oid && !(st.mtimeMs + RACY_MS >= prev[4])) {
      this.seen.add(rel);
      return;
    }
    this.entries[rel] = [st.ino, st.mtimeMs, st.size, oid, recordedAt];
    this.seen.add(rel);
    this.dirty = true;
  }

  /** Forgets entries for files not looked at in this run (deleted files), then saves if changed. */
  save(opts: { prune?: boolean } = {}): void {
    if (opts.prune) {
      for (const k of Object.keys(this.entries)) {
        if (!this.seen.has(k)) {
          delete this.entries[k];
          this.dirty = true;
        }
      }
    }
    if (!this.dirty) return;
    const body: StateFile = { v: 1, algo: this.algo, entries: this.entries };
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      // The hash cache is an optimisation: no fsync, and a failed save is not an error.
      writeFileAtomic(this.file, JSON.stringify(body), { fsync: false });
      this.dirty = false;
    } catch {
      // ignore: the next run re-hashes
    }
  }
}
