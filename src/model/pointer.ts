import { RvcError } from '../errors.js';
import { assertHashAlgo, assertOid, isTreeOid, type HashAlgo } from './oid.js';
import { assertSafeRelPath, reservedComponentOf } from './paths.js';
import { parseYaml, toYaml, nearestLine } from './yaml.js';
import { isPlainObject } from './values.js';
import { repoUrlProblem, redactRepoUrl } from './repo-url.js';

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

/** Where an imported output comes from (`rvc import`): another git repository at a revision. */
export interface PointerImport {
  /** The source repository as given (a URL), or a local path (relative ones are relative to the repository root). */
  repo: string;
  /** The path inside the source repository (POSIX, relative to its root). */
  path: string;
  /** The revision asked for (branch, tag, commit); absent means the source's HEAD. */
  rev?: string;
  /** The commit `rev` resolved to when the data was last imported or updated. */
  rev_lock: string;
}

export interface Pointer {
  outs: PointerOut[];
  desc?: string;
  /** Present on pointers written by `rvc import`. */
  import?: PointerImport;
}

const TOP_KEYS = ['outs', 'desc', 'import'];
const IMPORT_KEYS = ['repo', 'path', 'rev', 'rev_lock'];
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
  if (v.import !== undefined) {
    const im = v.import;
    const at = ['import'];
    if (!isPlainObject(im)) throw bad('`import` must be a mapping with repo, path and rev_lock', at);
    for (const k of Object.keys(im)) if (!IMPORT_KEYS.includes(k)) throw bad(`unknown field '${k}' in import (allowed: ${IMPORT_KEYS.join(', ')})`, [...at, k]);
    if (typeof im.repo !== 'string') throw bad('import.repo must be a string', [...at, 'repo']);
    const problem = repoUrlProblem(im.repo);
    if (problem) throw bad(`import.repo '${redactRepoUrl(im.repo).slice(0, 200)}' is not usable: ${problem}`, [...at, 'repo']);
    if (typeof im.path !== 'string') throw bad('import.path must be a string', [...at, 'path']);
    assertSafeRelPath(im.path, file, nearestLine(doc, [...at, 'path']));
    if (im.rev !== undefined && (typeof im.rev !== 'string' || im.rev === '' || im.rev.startsWith('-') || /[\0\n\r]/.test(im.rev))) {
      throw bad('import.rev must be a git revision name', [...at, 'rev']);
    }
    if (typeof im.rev_lock !== 'string' || !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(im.rev_lock)) {
      throw bad('import.rev_lock must be a full git commit id (40 or 64 hex digits)', [...at, 'rev_lock']);
    }
    if (outs.length !== 1) throw bad('an imported pointer has exactly one out', ['outs']);
    p.import = { repo: im.repo, path: im.path, ...(typeof im.rev === 'string' ? { rev: im.rev } : {}), rev_lock: im.rev_lock };
  }
  return p;
}

/**
 * The repository-relative path of an out of the pointer file `pointerFile` (both POSIX). The out
 * path itself was checked when the pointer was parsed; a pointer file kept in a folder spelled
 * like `.git` or `.rvc` (`.RVC/x.rvc`, which is rvc's own folder on macOS and Windows) would still
 * write there, so its folder is checked too (PATH_UNSAFE, naming the pointer file).
 */
export function outRepoPath(pointerFile: string, outPath: string, shownAs: string = pointerFile): string {
  const slash = pointerFile.lastIndexOf('/');
  if (slash === -1) return outPath;
  const dir = pointerFile.slice(0, slash);
  const reserved = reservedComponentOf(dir);
  if (reserved !== undefined) {
    throw new RvcError('PATH_UNSAFE', `${shownAs}: refusing a pointer file inside '${reserved}', a folder git or rvc keeps its own files in`, {
      path: shownAs, hint: 'pointer files belong in the workspace; remove this one',
    });
  }
  return `${dir}/${outPath}`;
}

/** Canonical pointer text: fixed field order, so re-adding unchanged data rewrites identical bytes. */
export function serializePointer(p: Pointer, file = 'pointer file'): string {
  const doc: Record<string, unknown> = {};
  if (p.desc !== undefined) doc.desc = p.desc;
  if (p.import) {
    doc.import = { repo: p.import.repo, path: p.import.path, ...(p.import.rev !== undefined ? { rev: p.import.rev } : {}), rev_lock: p.import.rev_lock };
  }
  doc.outs = p.outs.map((o) => {
    const r: Record<string, unknown> = { path: o.path, hash: o.hash, oid: o.oid, size: o.size };
    if (o.nfiles !== undefined) r.nfiles = o.nfiles;
    if (o.exec) r.exec = true;
    return r;
  });
  return toYaml(doc, file);
}
