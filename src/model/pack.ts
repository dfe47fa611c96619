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
import { HEX_LENGTH, isValidOid, type HashAlgo } from './oid.js';

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

/** The index text for a pack; entries are sorted here. */
export function formatPackIndex(index: PackIndex): string {
  const entries = [...index.entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  // Joined a few thousand lines at a time: an array of a million line strings cost more than
  // the text itself.
  const pieces = [`${PACK_INDEX_HEADER}\nalgo ${index.algo}\npack ${index.packHash} ${index.packSize}\n`];
  let lines: string[] = [];
  for (const e of entries) {
    lines.push(`${e.oid} ${e.offset} ${e.length}\n`);
    if (lines.length === 4096) {
      pieces.push(lines.join(''));
      lines = [];
    }
  }
  pieces.push(lines.join(''));
  return pieces.join('');
}

function bad(where: string, line: number, why: string): RvcError {
  return new RvcError('OBJECT_CORRUPT', `pack index ${where} is damaged: ${why} (line ${line})`, {
    path: where,
    line,
    hint: 'run `rvc gc --cloud` to drop the damaged pack, then `rvc push` to upload its objects again',
  });
}

function nonNegativeInt(s: string | undefined): number | undefined {
  if (s === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Parses and checks an index: header, algorithm, every oid well formed, sorted and unique, every
 * object inside the pack and no two overlapping. `where` names the index in errors (its key).
 */
export function parsePackIndex(text: string, algo: HashAlgo, where: string): PackIndex;
/** The same, each entry also carrying `id` (its pack's id): a reader's one object per entry. */
export function parsePackIndex(text: string, algo: HashAlgo, where: string, id: string): PackIndex<PackEntry & { id: string }>;
export function parsePackIndex(text: string, algo: HashAlgo, where: string, id?: string): PackIndex {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== PACK_INDEX_HEADER) throw bad(where, 1, `expected '${PACK_INDEX_HEADER}'`);
  if (lines[1] !== `algo ${algo}`) throw bad(where, 2, `expected 'algo ${algo}'`);
  const head = (lines[2] ?? '').split(' ');
  const packSize = nonNegativeInt(head[2]);
  if (head.length !== 3 || head[0] !== 'pack' || !ID_RE.test(head[1] ?? '') || head[1]!.length !== HEX_LENGTH[algo] || packSize === undefined) {
    throw bad(where, 3, "expected 'pack <hash> <size>'");
  }
  const entries: (PackEntry & { id?: string })[] = [];
  // Where each object starts and ends, in columns: a pair array per entry cost more than the
  // entries themselves at a million objects.
  const starts: number[] = [];
  const ends: number[] = [];
  let prev = '';
  for (let i = 3; i < lines.length; i++) {
    const f = lines[i]!.split(' ');
    const offset = nonNegativeInt(f[1]);
    const length = nonNegativeInt(f[2]);
    if (f.length !== 3 || !isValidOid(f[0], algo) || offset === undefined || length === undefined) throw bad(where, i + 1, "expected '<oid> <offset> <length>'");
    const oid = f[0]!;
    if (oid <= prev) throw bad(where, i + 1, 'entries not sorted or repeated');
    if (offset + length > packSize) throw bad(where, i + 1, `object ${oid} ends past the pack's ${packSize} bytes`);
    prev = oid;
    entries.push(id === undefined ? { oid, offset, length } : { oid, offset, length, id });
    if (length > 0) {
      starts.push(offset);
      ends.push(offset + length);
    }
  }
  const order = new Uint32Array(starts.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => starts[a]! - starts[b]!);
  for (let i = 1; i < order.length; i++) {
    if (starts[order[i]!]! < ends[order[i - 1]!]!) throw bad(where, 0, 'two objects overlap');
  }
  return { algo, packHash: head[1]!, packSize, entries };
}
