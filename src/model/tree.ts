import { RvcError } from '../errors.js';
import { HEX_LENGTH, assertOid, isTreeOid, type HashAlgo } from './oid.js';
import { unsafeRelPathReason, foldedPath } from './paths.js';
import { compareStrings } from './values.js';

/** One file in a directory manifest. Paths are POSIX, relative to the tracked directory. */
export interface TreeEntry {
  path: string;
  oid: string;
  size: number;
  exec?: boolean;
}

/**
 * The canonical bytes of a manifest: entries sorted by path, one JSON object per line in a
 * fixed key order. The tree's oid is the hash of exactly these bytes, so equal directories
 * get equal oids whoever builds them.
 */
export function serializeTree(entries: readonly TreeEntry[]): string {
  const parts: string[] = [];
  serializeTreeChunks(entries, (s) => parts.push(s));
  return parts.join('');
}

/** How much manifest text serializeTreeChunks gathers before handing it on. */
const CHUNK_CHARS = 1 << 20;

/**
 * The bytes of serializeTree, handed to `sink` in pieces of about 1 MiB, so a manifest of a
 * million files (over 100 MB of text) is hashed or written without ever being one string.
 */
export function serializeTreeChunks(entries: readonly TreeEntry[], sink: (text: string) => void): void {
  let sorted = entries;
  for (let i = 1; i < entries.length; i++) {
    if (compareStrings(entries[i - 1]!.path, entries[i]!.path) > 0) {
      sorted = [...entries].sort((a, b) => compareStrings(a.path, b.path));
      break;
    }
  }
  let out = '';
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.path === e.path) {
      throw new RvcError('TREE_INVALID', `duplicate path '${e.path}' in tree`, { hint: 'this is a bug in the caller' });
    }
    // Same bytes as JSON.stringify of {path, oid, size[, exec]}; only the path needs escaping
    // (oids are hex, sizes integers), and skipping the object allocation halves the cost.
    out += `{"path":${JSON.stringify(e.path)},"oid":"${e.oid}","size":${e.size}${e.exec ? ',"exec":true' : ''}}\n`;
    if (out.length >= CHUNK_CHARS) {
      sink(out);
      out = '';
    }
  }
  if (out !== '') sink(out);
}

const ENTRY_KEYS = new Set(['path', 'oid', 'size', 'exec']);

/**
 * Parses and validates a manifest from the cache or a remote. Everything that could make a
 * checkout write outside its folder is rejected here, before any file is touched: '..',
 * absolute paths, duplicates, entries colliding after case-folding/Unicode normalisation,
 * and a file that is also used as a folder.
 */
export function parseTree(text: string | Buffer, algo: HashAlgo, file: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  // Line by line, never the whole list of lines: a manifest of a million files is over 100 MB,
  // and splitting it kept a string per line alive until the last one was parsed. A Buffer is
  // decoded one line at a time ('\n' never occurs inside a UTF-8 sequence).
  const isText = typeof text === 'string';
  const nextNewline = (from: number): number => (isText ? text.indexOf('\n', from) : text.indexOf(10, from));
  const end = text.length;
  let pos = 0;
  for (let line = 1; pos < end; line++) {
    let nl = nextNewline(pos);
    if (nl === -1) nl = end;
    const fast = isText ? undefined : canonicalEntry(text, pos, nl, algo);
    if (fast) {
      pos = nl + 1;
      const why = unsafeRelPathReason(fast.path);
      if (why) {
        throw new RvcError('PATH_UNSAFE', `${file}:${line}: refusing tree entry '${fast.path.slice(0, 200)}' (${why})`, {
          path: file, line, hint: 'the manifest was crafted or damaged; it will not be checked out',
        });
      }
      entries.push(fast);
      continue;
    }
    const lineText = isText ? text.slice(pos, nl) : text.toString('utf8', pos, nl);
    pos = nl + 1;
    let raw: unknown;
    try {
      raw = JSON.parse(lineText);
    } catch {
      throw invalid(file, line, 'not a JSON object');
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(file, line, 'not a JSON object');
    const o = raw as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!ENTRY_KEYS.has(k)) throw invalid(file, line, `unknown field '${k}'`);
    if (typeof o.path !== 'string') throw invalid(file, line, "missing 'path'");
    const why = unsafeRelPathReason(o.path);
    if (why) {
      throw new RvcError('PATH_UNSAFE', `${file}:${line}: refusing tree entry '${o.path.slice(0, 200)}' (${why})`, {
        path: file, line, hint: 'the manifest was crafted or damaged; it will not be checked out',
      });
    }
    const oid = assertOid(o.oid, algo, file, line);
    if (isTreeOid(oid)) throw invalid(file, line, 'nested tree oids are not allowed in a manifest');
    if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw invalid(file, line, "'size' must be a non-negative integer");
    if (o.exec !== undefined && o.exec !== true) throw invalid(file, line, "'exec' must be true when present");
    entries.push(o.exec ? { path: o.path, oid, size: o.size, exec: true } : { path: o.path, oid, size: o.size });
  }
  validateTreePaths(entries, file);
  return entries;
}

const PATH_HEAD = Buffer.from('{"path":"');
const OID_HEAD = Buffer.from('","oid":"');
const SIZE_HEAD = Buffer.from('","size":');
const EXEC_TAIL = Buffer.from(',"exec":true}');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function bytesAt(buf: Buffer, at: number, what: Buffer): boolean {
  if (at + what.length > buf.length) return false;
  for (let i = 0; i < what.length; i++) if (buf[at + i] !== what[i]) return false;
  return true;
}

/**
 * A manifest line in exactly the form serializeTreeChunks writes — `{"path":"…","oid":"<hex>",
 * "size":<digits>}` or with `,"exec":true` — read from the bytes without JSON.parse: the same
 * entry JSON.parse would give (a path without escapes or control characters is its bytes as
 * UTF-8; a size without sign, fraction or exponent is its digits). Undefined for any other line,
 * which the JSON path reads and judges; a path's safety is checked by the caller either way.
 */
function canonicalEntry(buf: Buffer, pos: number, nl: number, algo: HashAlgo): TreeEntry | undefined {
  if (!bytesAt(buf, pos, PATH_HEAD)) return undefined;
  const pathStart = pos + PATH_HEAD.length;
  let i = pathStart;
  for (; i < nl; i++) {
    const c = buf[i]!;
    if (c === QUOTE) break;
    if (c === BACKSLASH || c < 0x20) return undefined;
  }
  if (i >= nl) return undefined;
  const pathEnd = i;
  if (!bytesAt(buf, pathEnd, OID_HEAD)) return undefined;
  const oidStart = pathEnd + OID_HEAD.length;
  const oidEnd = oidStart + HEX_LENGTH[algo];
  if (oidEnd > nl) return undefined;
  for (let k = oidStart; k < oidEnd; k++) {
    const c = buf[k]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return undefined;
  }
  if (!bytesAt(buf, oidEnd, SIZE_HEAD)) return undefined;
  const sizeStart = oidEnd + SIZE_HEAD.length;
  let k = sizeStart;
  while (k < nl && buf[k]! >= 0x30 && buf[k]! <= 0x39) k++;
  const digits = k - sizeStart;
  if (digits === 0 || digits > 15 || (digits > 1 && buf[sizeStart] === 0x30)) return undefined;
  let exec = false;
  if (k + 1 === nl && buf[k] === 0x7d) exec = false;
  else if (k + EXEC_TAIL.length === nl && bytesAt(buf, k, EXEC_TAIL)) exec = true;
  else return undefined;
  const size = Number(buf.toString('latin1', sizeStart, k));
  const path = buf.toString('utf8', pathStart, pathEnd);
  const oid = buf.toString('latin1', oidStart, oidEnd);
  return exec ? { path, oid, size, exec: true } : { path, oid, size };
}

/** Rejects unsorted, duplicate, colliding and file-as-folder entries. */
export function validateTreePaths(entries: readonly TreeEntry[], file: string): void {
  const folded = new Map<string, string>();
  const paths = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const p = entries[i]!.path;
    if (i > 0 && compareStrings(entries[i - 1]!.path, p) >= 0) {
      throw invalid(file, i + 1, `entries not in canonical order at '${p}'`);
    }
    const f = foldedPath(p);
    const other = folded.get(f);
    if (other !== undefined) {
      throw new RvcError('PATH_UNSAFE', `${file}:${i + 1}: tree entries '${other.slice(0, 200)}' and '${p.slice(0, 200)}' collide after case-folding or Unicode normalisation`, {
        path: file, line: i + 1, hint: 'such a tree would overwrite one file with another on many filesystems; it is refused',
      });
    }
    folded.set(f, p);
    paths.add(p);
  }
  // Entries of one folder lie together (sorted), so a folder's prefixes are looked up once for
  // the first file in it, not again for each of its files.
  let lastDir = -1;
  let lastPath = '';
  for (let i = 0; i < entries.length; i++) {
    const p = entries[i]!.path;
    const dir = p.lastIndexOf('/');
    if (dir !== -1 && dir === lastDir && p.startsWith(lastPath.slice(0, dir + 1))) continue;
    lastDir = dir;
    lastPath = p;
    let idx = p.indexOf('/');
    while (idx !== -1) {
      const dir = p.slice(0, idx);
      if (paths.has(dir)) {
        throw new RvcError('TREE_INVALID', `${file}:${i + 1}: '${dir.slice(0, 200)}' is both a file and a folder in the tree`, { path: file, line: i + 1, hint: 'the manifest was crafted or damaged' });
      }
      idx = p.indexOf('/', idx + 1);
    }
  }
}

function invalid(file: string, line: number, what: string): RvcError {
  return new RvcError('TREE_INVALID', `${file}:${line}: invalid tree manifest entry: ${what}`, {
    path: file, line, hint: 'the manifest is damaged; `rvc fsck --repair` removes it from the cache',
  });
}

export interface TreeDiff {
  added: TreeEntry[];
  modified: { old: TreeEntry; new: TreeEntry }[];
  deleted: TreeEntry[];
}

/** Differences between two manifests (both sorted). Mode-only changes count as modified. */
export function diffTrees(oldEntries: readonly TreeEntry[], newEntries: readonly TreeEntry[]): TreeDiff {
  const d: TreeDiff = { added: [], modified: [], deleted: [] };
  let i = 0;
  let j = 0;
  while (i < oldEntries.length || j < newEntries.length) {
    const a = oldEntries[i];
    const b = newEntries[j];
    const c = a && b ? compareStrings(a.path, b.path) : a ? -1 : 1;
    if (c < 0) {
      d.deleted.push(a!);
      i++;
    } else if (c > 0) {
      d.added.push(b!);
      j++;
    } else {
      if (a!.oid !== b!.oid || !!a!.exec !== !!b!.exec) d.modified.push({ old: a!, new: b! });
      i++;
      j++;
    }
  }
  return d;
}

export function treeSize(entries: readonly TreeEntry[]): number {
  let s = 0;
  for (const e of entries) s += e.size;
  return s;
}
