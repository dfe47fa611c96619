import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fromFsError } from '../errors.js';

// One random draw per process, then a counter: a random draw per file cost ~6 µs, measurable
// when adding 50,000 small files.
const processTag = randomBytes(2).toString('hex');
let counter = 0;

/**
 * The longest name part (in UTF-8 bytes) a temp name keeps: a name may be 255 bytes, and
 * `.<name>.<pid>.<8 hex>.tmp` adds up to 22 (a PID has at most 7 digits on Linux), so a longer
 * name is cut here, on a character boundary, and the temp file still fits its folder.
 */
const TEMP_STEM_BYTES = 200;

/** The part of a temp name taken from the target's name: all of it, or its first 200 bytes. */
function tempStem(name: string): string {
  if (name.length <= TEMP_STEM_BYTES / 4 || Buffer.byteLength(name) <= TEMP_STEM_BYTES) return name;
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    bytes += Buffer.byteLength(ch);
    if (bytes > TEMP_STEM_BYTES) break;
    out += ch;
  }
  return out;
}

/** A unique name beside `target`, on the same filesystem so rename() is atomic. */
export function tempPathFor(target: string): string {
  counter = (counter + 1) % 0x10000;
  const name = `.${tempStem(path.basename(target))}.${process.pid}.${processTag}${counter.toString(16).padStart(4, '0')}.tmp`;
  // A plain concatenation where it gives path.join's answer (checkout makes one per file).
  const slash = target.lastIndexOf('/');
  if (path.sep === '/' && slash > 0 && slash < target.length - 1 && !target.includes('/.') && !target.includes('//')) return target.slice(0, slash + 1) + name;
  return path.join(path.dirname(target), name);
}

const TEMP_RE = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** True for names tempPathFor produces, so cleanup code can recognise leftovers of a killed run. */
export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

/**
 * True for a temp file whose writer is gone: its name carries the PID of the process that
 * made it, and no such process runs. A live writer's temp file is never judged stale, so this
 * is safe to use while other rvc processes work in the same repository.
 */
export function isStaleTempName(name: string): boolean {
  const m = TEMP_RE.exec(name);
  if (!m) return false;
  return processGone(Number(m[1]));
}

/**
 * True when no process `pid` runs on this machine (never for this process). Only meaningful for
 * a PID recorded on this machine: another host's PIDs say nothing here.
 */
export function processGone(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the temp files killed processes left directly in `dir` (optionally only those made
 * for files whose name is `forName`). Returns how many were removed; never throws.
 */
export function sweepStaleTemps(dir: string, forName?: string): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  const prefix = forName === undefined ? undefined : `.${tempStem(forName)}.`;
  for (const name of names) {
    if (!name.endsWith('.tmp') || (prefix !== undefined && !name.startsWith(prefix)) || !isStaleTempName(name)) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true, recursive: true });
      n++;
    } catch {
      // best effort: the next sweep tries again
    }
  }
  return n;
}

/**
 * Copies `src` into a new file `dest` (created exclusively; FICLONE makes it a reflink where the
 * filesystem can). Why not plain copyFile: without COPYFILE_EXCL, libuv truncates the new file
 * to be sure it is empty, and on ext4 a truncation to zero marks the file for "auto_da_alloc",
 * so its close starts writing the data back to disk at once. A thousand chunks copied that way
 * made a push or pull write a gigabyte out while it ran, where `cp` leaves it to the kernel's
 * usual writeback (measured: the copies' dirty pages were gone when the command ended). A
 * `dest` that exists (a retried download into the same temp file) is replaced.
 */
export function copyToNewFileSync(src: string, dest: string, flags = fs.constants.COPYFILE_FICLONE): void {
  try {
    fs.copyFileSync(src, dest, flags | fs.constants.COPYFILE_EXCL);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    fs.rmSync(dest, { force: true });
    fs.copyFileSync(src, dest, flags | fs.constants.COPYFILE_EXCL);
  }
}

/** copyToNewFileSync without blocking the thread. */
export async function copyToNewFile(src: string, dest: string, flags = fs.constants.COPYFILE_FICLONE): Promise<void> {
  try {
    await fs.promises.copyFile(src, dest, flags | fs.constants.COPYFILE_EXCL);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    await fs.promises.rm(dest, { force: true });
    await fs.promises.copyFile(src, dest, flags | fs.constants.COPYFILE_EXCL);
  }
}

/**
 * Writes all of `data` at the file's current position. One write(2) may store only part of a
 * buffer (a disk filling up, a file-size limit) and report the count instead of failing; the
 * next call then fails with the real error. Ignoring the count would leave a short file.
 */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

export interface AtomicWriteOptions {
  mode?: number;
  /** fsync before rename: metadata files (pointers, locks, config) are small, so this is cheap. */
  fsync?: boolean;
}

/**
 * Writes `data` to `target` so that readers (and a crash at any instant) see either the old
 * file or the complete new one, never a prefix.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  writeThroughTemp(target, opts, (fd) => writeAll(fd, data));
}

/** Creates a temp file beside `target`, lets `fill` write it, syncs it and renames it over `target`. */
function writeThroughTemp(target: string, opts: AtomicWriteOptions, fill: (fd: number) => void): void {
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o666);
    fill(fd);
    if (opts.fsync !== false) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    if (opts.mode !== undefined) fs.chmodSync(tmp, opts.mode);
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw fromFsError(e, target, 'write');
  }
}

/**
 * writeFileAtomic for content produced piece by piece: `produce` calls `write` as often as it
 * likes, with text (gathered into 1 MiB batches) or bytes (written as they come), so a large
 * file (the hash cache of a million files is over 100 MB) is never one piece in memory.
 */
export function writeFileAtomicChunks(target: string, produce: (write: (piece: string | Uint8Array) => void) => void, opts: AtomicWriteOptions = {}): void {
  writeThroughTemp(target, opts, (fd) => {
    let pending = '';
    produce((piece) => {
      if (typeof piece !== 'string') {
        // Bytes go as they are, after the text before them.
        if (pending) writeAll(fd, pending);
        pending = '';
        writeAll(fd, piece);
        return;
      }
      pending += piece;
      if (pending.length >= 1 << 20) {
        writeAll(fd, pending);
        pending = '';
      }
    });
    writeAll(fd, pending);
  });
}

/** Reads a text file, or undefined when it does not exist. */
export function readTextIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromFsError(e, file, 'read');
  }
}

/** Removes empty parent folders of `file` up to (not including) `stop`. */
export function pruneEmptyDirs(dir: string, stop: string): void {
  let d = dir;
  while (d.startsWith(stop + path.sep) && d !== stop) {
    try {
      fs.rmdirSync(d);
    } catch {
      return;
    }
    d = path.dirname(d);
  }
}

/** Folders of a cache shared with a group: group-writable, setgid so new files keep the folder's group. */
export const SHARED_DIR_MODE = 0o2775;

/**
 * Creates `dir` and its missing parents. With `shared`, each folder it created gets
 * SHARED_DIR_MODE whatever the umask; folders that existed are left as they are.
 */
export function makeDirs(dir: string, shared = false): void {
  const first = fs.mkdirSync(dir, { recursive: true });
  if (!shared || first === undefined) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    fs.chmodSync(d, SHARED_DIR_MODE);
    if (d === first || d === path.dirname(d)) break;
  }
}
