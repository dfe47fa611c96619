import { RvcError } from '../errors.js';
import { isValidOid, isTreeOid, objectKey, type HashAlgo } from './oid.js';

/**
 * A file stored in chunks: its oid is still the hash of its whole content, and beside where the
 * whole object would be (`<algo>/ab/<rest>.chunks`, in the cache and on every remote) a chunk
 * list names, in order, the objects whose concatenation is the file. Chunks are ordinary objects
 * named by their own hash. See docs/file-formats.md.
 */
export const CHUNKS_SUFFIX = '.chunks';

export interface ChunkEntry {
  oid: string;
  size: number;
}

const HEADER = 'rvc-chunks 1';

/**
 * `cache.chunk_threshold` by default: files of 64 MiB and more are chunked. Below that a new
 * version costs little to store and send whole, and a file of fewer than ~64 chunks gains little
 * from sharing them (see docs/file-formats.md).
 */
export const DEFAULT_CHUNK_THRESHOLD = 64 * 1024 * 1024;

/** The name (cache file or remote key, relative to the root) of `oid`'s chunk list. */
export function chunkListKey(algo: HashAlgo, oid: string): string {
  return objectKey(algo, oid) + CHUNKS_SUFFIX;
}

/** The bytes of a chunk list: a header line, then `<chunk oid> <size>` per chunk, in order. */
export function serializeChunkList(algo: HashAlgo, chunks: readonly ChunkEntry[]): string {
  let total = 0;
  for (const c of chunks) total += c.size;
  let out = `${HEADER} ${algo} ${total}\n`;
  for (const c of chunks) out += `${c.oid} ${c.size}\n`;
  return out;
}

/**
 * Parses a chunk list from the cache or a remote. Only its form is checked here: that the chunks
 * make up the file it is named after is proven by hashing them (Odb.chunksMatch).
 */
export function parseChunkList(text: string | Buffer, algo: HashAlgo, where: string): ChunkEntry[] {
  const lines = (typeof text === 'string' ? text : text.toString('utf8')).split('\n');
  const bad = (line: number, msg: string): RvcError =>
    new RvcError('OBJECT_CORRUPT', `chunk list ${where}:${line}: ${msg}`, {
      path: where, line, hint: '`rvc fsck --repair` removes it; then `rvc pull` fetches a good copy',
    });
  const head = lines[0]!.split(' ');
  if (head.length !== 4 || `${head[0]} ${head[1]}` !== HEADER) throw bad(1, `not a chunk list (expected '${HEADER} <algo> <size>')`);
  if (head[2] !== algo) throw bad(1, `chunk list of ${head[2]} objects where ${algo} was expected`);
  const total = Number(head[3]);
  if (!/^\d+$/.test(head[3]!) || !Number.isSafeInteger(total)) throw bad(1, `invalid total size '${head[3]}'`);
  if (lines[lines.length - 1] !== '') throw bad(lines.length, 'missing final newline');
  const out: ChunkEntry[] = [];
  let sum = 0;
  for (let i = 1; i < lines.length - 1; i++) {
    const parts = lines[i]!.split(' ');
    const [oid, size] = parts;
    if (parts.length !== 2 || !isValidOid(oid, algo) || isTreeOid(oid)) throw bad(i + 1, 'expected `<chunk oid> <size>`');
    const n = Number(size);
    if (!/^\d+$/.test(size!) || !Number.isSafeInteger(n) || n === 0) throw bad(i + 1, `invalid chunk size '${size}'`);
    out.push({ oid, size: n });
    sum += n;
  }
  if (sum !== total) throw bad(1, `chunks add up to ${sum} bytes, not ${total}`);
  return out;
}
