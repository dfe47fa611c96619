import { RvcError } from '../errors.js';
import { assertHashAlgo, assertOid, isTreeOid, type HashAlgo } from './oid.js';
import { assertSafeRelPath } from './paths.js';
import { parseYaml, toYaml, isPlainObject, nearestLine } from './yaml.js';

/** Extension of pointer files: `data.rvc` tracks `data`. */
export const POINTER_EXT = '.rvc';

/** One tracked output: a file or a directory (whose oid names a tree manifest). */
export interface PointerOut {
  /** Relative to the folder holding the pointer file, POSIX separators. */
  path: string;
  hash: HashAlgo;
  oid: string;
  size: number;
  /** Number of files, for directories. */
  nfiles?: number;
  /** Executable bit of a single tracked file. */
  exec?: boolean;
}

export interface Pointer {
  outs: PointerOut[];
  desc?: string;
}

const TOP_KEYS = ['outs', 'desc'];
const OUT_KEYS = ['path', 'hash', 'oid', 'size', 'nfiles', 'exec'];

/** Parses a pointer file's text. Pure: `file` is only used in messages. */
export function parsePointer(text: string, file: string): Pointer {
  const doc = parseYaml(text, file, 'POINTER_INVALID');
  const v = doc.value;
  const bad = (msg: string, path: (string | number)[] = []): RvcError => {
    const line = nearestLine(doc, path);
    return new RvcError('POINTER_INVALID', `${file}:${line}: ${msg}`, {
      path: file, line,
      hint: 'a pointer file is written by `rvc add`; restore it from git or re-add the data',
    });
  };
  if (!isPlainObject(v)) throw bad('expected a mapping with an `outs` list');
  for (const k of Object.keys(v)) if (!TOP_KEYS.includes(k)) throw bad(`unknown field '${k}' (allowed: ${TOP_KEYS.join(', ')})`, [k]);
  if (!Array.isArray(v.outs) || v.outs.length === 0) throw bad('`outs` must be a non-empty list', ['outs']);
  if (v.desc !== undefined && typeof v.desc !== 'string') throw bad('`desc` must be a string', ['desc']);
  const outs: PointerOut[] = [];
  const seen = new Set<string>();
  v.outs.forEach((o: unknown, i: number) => {
    const at = ['outs', i];
    if (!isPlainObject(o)) throw bad(`outs[${i}] must be a mapping`, at);
    for (const k of Object.keys(o)) if (!OUT_KEYS.includes(k)) throw bad(`unknown field '${k}' in outs[${i}] (allowed: ${OUT_KEYS.join(', ')})`, [...at, k]);
    if (typeof o.path !== 'string') throw bad(`outs[${i}].path must be a string`, at);
    assertSafeRelPath(o.path, file, nearestLine(doc, [...at, 'path']));
    if (seen.has(o.path)) throw bad(`duplicate out '${o.path}'`, at);
    seen.add(o.path);
    const hash = (() => {
      try {
        return assertHashAlgo(o.hash, file);
      } catch (e) {
        throw bad(`outs[${i}].hash: ${(e as Error).message}`, [...at, 'hash']);
      }
    })();
    const oid = assertOid(o.oid, hash, file, nearestLine(doc, [...at, 'oid']));
    if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw bad(`outs[${i}].size must be a non-negative integer`, [...at, 'size']);
    const out: PointerOut = { path: o.path, hash, oid, size: o.size };
    if (o.nfiles !== undefined) {
      if (!isTreeOid(oid)) throw bad(`outs[${i}].nfiles is only valid for a directory`, [...at, 'nfiles']);
      if (typeof o.nfiles !== 'number' || !Number.isSafeInteger(o.nfiles) || o.nfiles < 0) throw bad(`outs[${i}].nfiles must be a non-negative integer`, [...at, 'nfiles']);
      out.nfiles = o.nfiles;
    }
    if (o.exec !== undefined) {
      if (typeof o.exec !== 'boolean') throw bad(`outs[${i}].exec must be true or false`, [...at, 'exec']);
      if (o.exec) out.exec = true;
    }
    outs.push(out);
  });
  const p: Pointer = { outs };
  if (typeof v.desc === 'string') p.desc = v.desc;
  return p;
}

/** Canonical pointer text: fixed field order, so re-adding unchanged data rewrites identical bytes. */
export function serializePointer(p: Pointer): string {
  const doc: Record<string, unknown> = {};
  if (p.desc !== undefined) doc.desc = p.desc;
  doc.outs = p.outs.map((o) => {
    const r: Record<string, unknown> = { path: o.path, hash: o.hash, oid: o.oid, size: o.size };
    if (o.nfiles !== undefined) r.nfiles = o.nfiles;
    if (o.exec) r.exec = true;
    return r;
  });
  return toYaml(doc);
}
