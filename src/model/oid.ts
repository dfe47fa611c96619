import { RvcError } from '../errors.js';

/** Hash algorithms a repository can use. Recorded in every pointer next to the oid. */
export type HashAlgo = 'blake3' | 'sha256';
export const HASH_ALGOS: readonly HashAlgo[] = ['blake3', 'sha256'];
export const DEFAULT_HASH: HashAlgo = 'blake3';

/** Both algorithms give 32-byte digests, written as 64 lowercase hex digits. */
export const HEX_LENGTH: Record<HashAlgo, number> = { blake3: 64, sha256: 64 };

/** Suffix that marks a tree manifest object: its name is the hash of the manifest bytes + this. */
export const TREE_SUFFIX = '.tree';

const HEX_RE = /^[0-9a-f]+$/;

export function isHashAlgo(s: unknown): s is HashAlgo {
  return typeof s === 'string' && (HASH_ALGOS as readonly string[]).includes(s);
}

export function assertHashAlgo(s: unknown, where?: string, line?: number): HashAlgo {
  if (!isHashAlgo(s)) {
    const shown = typeof s === 'string' ? s.slice(0, 80) : String(s);
    throw new RvcError('HASH_UNSUPPORTED', `unknown hash algorithm '${shown}'${where ? ` in ${where}${line !== undefined ? `:${line}` : ''}` : ''}`, {
      hint: `use one of: ${HASH_ALGOS.join(', ')}`,
      ...(where ? { path: where } : {}),
      ...(line !== undefined ? { line } : {}),
    });
  }
  return s;
}

export function isTreeOid(oid: string): boolean {
  return oid.endsWith(TREE_SUFFIX);
}

/** The hex digest part of an oid (without the `.tree` suffix). */
export function oidDigest(oid: string): string {
  return isTreeOid(oid) ? oid.slice(0, -TREE_SUFFIX.length) : oid;
}

/** True when `oid` is a well-formed object name for `algo` (hex digest, optional `.tree`). */
export function isValidOid(oid: unknown, algo: HashAlgo): oid is string {
  if (typeof oid !== 'string') return false;
  const d = oidDigest(oid);
  return d.length === HEX_LENGTH[algo] && HEX_RE.test(d);
}

export function assertOid(oid: unknown, algo: HashAlgo, where?: string, line?: number): string {
  if (!isValidOid(oid, algo)) {
    const shown = typeof oid === 'string' ? oid.slice(0, 80) : String(oid);
    throw new RvcError('OID_INVALID', `invalid ${algo} oid '${shown}'${where ? ` in ${where}${line !== undefined ? `:${line}` : ''}` : ''}`, {
      hint: `an oid is ${HEX_LENGTH[algo]} lowercase hex digits, with '${TREE_SUFFIX}' for a directory`,
      ...(where ? { path: where } : {}),
      ...(line !== undefined ? { line } : {}),
    });
  }
  return oid;
}

/**
 * Where an object lives relative to the cache (or remote) root: `<algo>/ab/cdef…`.
 * The same layout is used locally and on every remote.
 */
export function objectKey(algo: HashAlgo, oid: string): string {
  return `${algo}/${oid.slice(0, 2)}/${oid.slice(2)}`;
}

/** Inverse of objectKey for a key relative to the algo folder (`ab/cdef…`), or undefined. */
export function oidFromShardPath(shard: string, rest: string, algo: HashAlgo): string | undefined {
  const oid = shard + rest;
  return isValidOid(oid, algo) && shard.length === 2 ? oid : undefined;
}
