import { RvcError } from '../errors.js';
import { assertHashAlgo, assertOid, isTreeOid, type HashAlgo } from './oid.js';
import { toYaml, nearestLine, parseYamlLocated, type ParsedYaml } from './yaml.js';
import { compareStrings, describe, isPlainObject, setOwn, sortKeysDeep } from './values.js';
import { unsafeRelPathReason } from './paths.js';
import { ANY_STAGE_NAME_RE } from './pipeline/types.js';
import { LOCK_FILE } from './names.js';
import type { EnvironmentRecord } from './environment.js';
export { LOCK_FILE };

/**
 * rvc.lock: what each stage last ran with and produced. It is committed to git, so the
 * serialisation is canonical — stages sorted by name, files by path, params keys sorted at every
 * level, fields in a fixed order — and rewriting one stage leaves every other line unchanged.
 */

export const LOCK_SCHEMA = '1.0';

export interface LockFileEntry {
  /** Repository path of the file or directory. */
  path: string;
  hash: HashAlgo;
  oid: string;
  size: number;
  /** Number of files, for a directory (tree oid). */
  nfiles?: number;
  /** Executable bit of a single file (as in pointer files). */
  exec?: boolean;
}

export interface LockStage {
  /** One command as a string, several as a list (the form rvc.yaml uses). */
  cmd: string | string[];
  deps: LockFileEntry[];
  outs: LockFileEntry[];
  /** params file → dot path → value. */
  params: Record<string, Record<string, unknown>>;
  /** env variable → value, null when it was unset. */
  env: Record<string, string | null>;
  environment?: EnvironmentRecord;
}

export interface Lock {
  schema: typeof LOCK_SCHEMA;
  stages: Record<string, LockStage>;
}

const LOCK_FIELDS = ['schema', 'stages'];
const STAGE_FIELDS = ['cmd', 'deps', 'params', 'env', 'outs'];
const ENTRY_FIELDS = ['path', 'hash', 'oid', 'size', 'nfiles', 'exec'];

export function emptyLock(): Lock {
  return { schema: LOCK_SCHEMA, stages: {} };
}

/** The lock form of a stage's commands. */
export function lockCmd(cmd: readonly string[]): string | string[] {
  return cmd.length === 1 ? cmd[0]! : [...cmd];
}

/** True when a lock's cmd records the same commands as the stage's. */
export function cmdEquals(locked: string | readonly string[], cmd: readonly string[]): boolean {
  const a = typeof locked === 'string' ? [locked] : locked;
  return a.length === cmd.length && a.every((c, i) => c === cmd[i]);
}

class LockScope {
  constructor(readonly file: string, private readonly yaml: ParsedYaml) {}
  line(path: (string | number)[]): number {
    return nearestLine(this.yaml, path);
  }
  error(path: (string | number)[], msg: string, hint?: string): RvcError {
    const line = this.line(path);
    return new RvcError('PIPELINE_INVALID', `${this.file}${line ? `:${line}` : ''}: ${msg}`, {
      path: this.file, ...(line ? { line } : {}),
      hint: hint ?? 'rvc.lock is written by rvc; restore it from git or rerun `rvc repro` to rewrite it',
    });
  }
}

/**
 * Parses and validates rvc.lock text. Empty text is an empty lock. Unknown fields, malformed
 * entries and oids that do not fit their hash algorithm are errors naming the file and line.
 */
export function parseLock(text: string, file: string): Lock {
  const yaml = parseYamlLocated(text, file);
  const sc = new LockScope(file, yaml);
  const top = yaml.value;
  if (top === null || top === undefined) return emptyLock();
  if (!isPlainObject(top)) throw sc.error([], `the top level must be a mapping, not ${describe(top)}`);
  for (const k of Object.keys(top)) {
    if (!LOCK_FIELDS.includes(k)) throw sc.error([k], `unknown field '${k}'`, `allowed fields: ${LOCK_FIELDS.join(', ')}`);
  }
  if (top['schema'] !== LOCK_SCHEMA) {
    throw sc.error(['schema'], `unsupported lock schema ${JSON.stringify(top['schema'] ?? null)}`,
      `this rvc reads schema '${LOCK_SCHEMA}' (quoted); a newer rvc may have written the file`);
  }
  const stagesRaw = top['stages'] ?? {};
  if (!isPlainObject(stagesRaw)) throw sc.error(['stages'], `'stages' must be a mapping, not ${describe(stagesRaw)}`);
  const stages: Record<string, LockStage> = {};
  for (const [name, raw] of Object.entries(stagesRaw)) {
    if (!ANY_STAGE_NAME_RE.test(name)) throw sc.error(['stages', name], `invalid stage name '${name}'`);
    setOwn(stages, name, parseLockStage(raw, ['stages', name], sc));
  }
  return { schema: LOCK_SCHEMA, stages };
}

function parseLockStage(raw: unknown, at: (string | number)[], sc: LockScope): LockStage {
  if (!isPlainObject(raw)) throw sc.error(at, `stage must be a mapping, not ${describe(raw)}`);
  for (const k of Object.keys(raw)) {
    if (!STAGE_FIELDS.includes(k)) throw sc.error([...at, k], `unknown field '${k}'`, `allowed fields: ${STAGE_FIELDS.join(', ')}`);
  }
  const cmd = raw['cmd'];
  let lcmd: string | string[];
  if (typeof cmd === 'string') lcmd = cmd;
  else if (Array.isArray(cmd) && cmd.length > 0 && cmd.every((c) => typeof c === 'string')) lcmd = cmd as string[];
  else throw sc.error([...at, 'cmd'], `'cmd' must be a string or a non-empty list of strings, not ${describe(cmd)}`);

  const params: Record<string, Record<string, unknown>> = {};
  const pr = raw['params'] ?? {};
  if (!isPlainObject(pr)) throw sc.error([...at, 'params'], `'params' must be a mapping of files to values, not ${describe(pr)}`);
  for (const [f, vals] of Object.entries(pr)) {
    if (!isPlainObject(vals)) throw sc.error([...at, 'params', f], `params of '${f}' must be a mapping of keys to values, not ${describe(vals)}`);
    setOwn(params, f, vals);
  }

  const env: Record<string, string | null> = {};
  const er = raw['env'] ?? {};
  if (!isPlainObject(er)) throw sc.error([...at, 'env'], `'env' must be a mapping of names to values, not ${describe(er)}`);
  for (const [n, v] of Object.entries(er)) {
    if (typeof v !== 'string' && v !== null) throw sc.error([...at, 'env', n], `env value of ${n} must be a string or null, not ${describe(v)}`);
    setOwn(env, n, v);
  }

  return {
    cmd: lcmd,
    deps: parseEntries(raw['deps'], [...at, 'deps'], sc),
    outs: parseEntries(raw['outs'], [...at, 'outs'], sc),
    params,
    env,
  };
}

function parseEntries(raw: unknown, at: (string | number)[], sc: LockScope): LockFileEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw sc.error(at, `must be a list, not ${describe(raw)}`);
  const seen = new Set<string>();
  return raw.map((e, i) => {
    const here = [...at, i];
    if (!isPlainObject(e)) throw sc.error(here, `entry must be a mapping, not ${describe(e)}`);
    for (const k of Object.keys(e)) {
      if (!ENTRY_FIELDS.includes(k)) throw sc.error([...here, k], `unknown field '${k}'`, `allowed fields: ${ENTRY_FIELDS.join(', ')}`);
    }
    const path = e['path'];
    if (typeof path !== 'string') throw sc.error([...here, 'path'], `'path' must be a path, not ${describe(path)}`);
    const why = unsafeRelPathReason(path);
    if (why) {
      const line = sc.line([...here, 'path']);
      throw new RvcError('PATH_UNSAFE', `${sc.file}${line ? `:${line}` : ''}: refusing path '${path.slice(0, 200)}' (${why})`, {
        path: sc.file, ...(line ? { line } : {}), hint: 'paths in rvc.lock are normalised, relative and inside the repository; restore the file from git',
      });
    }
    if (seen.has(path)) throw sc.error([...here, 'path'], `'${path}' is listed twice`);
    seen.add(path);
    const hash = assertHashAlgo(e['hash'], sc.file, sc.line([...here, 'hash']));
    const oid = assertOid(e['oid'], hash, sc.file, sc.line([...here, 'oid']));
    const size = e['size'];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw sc.error([...here, 'size'], `'size' must be a non-negative integer, not ${describe(size)}`);
    }
    const entry: LockFileEntry = { path, hash, oid, size };
    if (e['nfiles'] !== undefined) {
      const n = e['nfiles'];
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
        throw sc.error([...here, 'nfiles'], `'nfiles' must be a non-negative integer, not ${describe(n)}`);
      }
      if (!isTreeOid(oid)) throw sc.error([...here, 'nfiles'], `'nfiles' is only recorded for directories (tree oids)`);
      entry.nfiles = n;
    }
    if (e['exec'] !== undefined) {
      if (typeof e['exec'] !== 'boolean') throw sc.error([...here, 'exec'], `'exec' must be true or false, not ${describe(e['exec'])}`);
      if (isTreeOid(oid)) throw sc.error([...here, 'exec'], `'exec' is only recorded for single files`);
      entry.exec = e['exec'];
    }
    return entry;
  });
}

function canonicalEntry(e: LockFileEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { path: e.path, hash: e.hash, oid: e.oid, size: e.size };
  if (e.nfiles !== undefined) o['nfiles'] = e.nfiles;
  if (e.exec !== undefined) o['exec'] = e.exec;
  return o;
}

function byPath(a: LockFileEntry, b: LockFileEntry): number {
  return compareStrings(a.path, b.path);
}

/** A stage entry in canonical form: fixed field order, sorted lists and keys, empties left out. */
export function canonicalStage(s: LockStage): Record<string, unknown> {
  const o: Record<string, unknown> = { cmd: typeof s.cmd === 'string' ? s.cmd : [...s.cmd] };
  if (s.deps.length) o['deps'] = [...s.deps].sort(byPath).map(canonicalEntry);
  const pfiles = Object.keys(s.params).sort(compareStrings);
  if (pfiles.length) {
    const p: Record<string, unknown> = {};
    for (const f of pfiles) setOwn(p, f, sortKeysDeep(s.params[f]));
    o['params'] = p;
  }
  const names = Object.keys(s.env).sort(compareStrings);
  if (names.length) {
    const env: Record<string, unknown> = {};
    for (const n of names) setOwn(env, n, s.env[n]);
    o['env'] = env;
  }
  if (s.outs.length) o['outs'] = [...s.outs].sort(byPath).map(canonicalEntry);
  return o;
}

/** Canonical rvc.lock text: equal locks give equal bytes, whatever order they were built in. */
export function serializeLock(lock: Lock, file = LOCK_FILE): string {
  const stages: Record<string, unknown> = {};
  for (const n of Object.keys(lock.stages).sort(compareStrings)) setOwn(stages, n, canonicalStage(lock.stages[n]!));
  return toYaml({ schema: LOCK_SCHEMA, stages }, file,
    'nothing was written; rvc.lock records the value of every parameter a stage reads: list only the keys the stage uses (`params: - file.yaml: [key]`) rather than a whole large or deep params file');
}

/** A new lock with `name` set to `entry`; the other stages are shared, not copied. */
export function withStage(lock: Lock, name: string, entry: LockStage): Lock {
  const stages: Record<string, LockStage> = {};
  for (const [n, s] of Object.entries(lock.stages)) if (n !== name) setOwn(stages, n, s);
  setOwn(stages, name, entry);
  return { schema: LOCK_SCHEMA, stages };
}

/** A new lock without `name` (unchanged when it is not there). */
export function withoutStage(lock: Lock, name: string): Lock {
  const stages: Record<string, LockStage> = {};
  for (const [n, s] of Object.entries(lock.stages)) if (n !== name) setOwn(stages, n, s);
  return { schema: LOCK_SCHEMA, stages };
}

/** The recorded entry of a stage, if any (own properties only). */
export function lockedStage(lock: Lock, name: string): LockStage | undefined {
  return Object.hasOwn(lock.stages, name) ? lock.stages[name] : undefined;
}
