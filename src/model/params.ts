import { parse as parseToml, TomlError } from 'smol-toml';
import { RvcError } from '../errors.js';
import { parseYamlLocated, MAX_YAML_BYTES, MAX_YAML_DEPTH } from './yaml.js';
import { parsePythonParams } from './pyparams.js';
import { compareStrings, deepEqual, describe, isPlainObject, setOwn } from './values.js';

/**
 * Parameter and metric files: parsing by extension, dot-path lookup, selection of the keys a
 * stage depends on, and the diffs `rvc params diff` / `rvc metrics diff` print.
 *
 * Values come from files in the repository, so keys are untrusted: lookups use own properties
 * only (a key named `constructor` must not find Object.prototype.constructor) and records are
 * built with `setOwn` (a key named `__proto__` must stay data, not become a prototype).
 */

/** Parameter values of one file, flat: dot path → value. */
export type ParamValues = Record<string, unknown>;
/** Parameter values of several files: file → dot path → value. */
export type ParamsByFile = Record<string, ParamValues>;

/** Extensions a params or metrics file can have; anything else is refused up front. */
export const PARAMS_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json', '.toml', '.py'];

export function isSupportedParamsFile(file: string): boolean {
  return PARAMS_EXTENSIONS.includes(extensionOf(file));
}

/**
 * Parses a params file (.yaml, .yml, .json, .toml or .py, chosen by extension). The top level
 * must be a mapping; an empty YAML file counts as an empty mapping. Python files are read by
 * `parsePythonParams` (literal assignments only, never run).
 */
export function parseParamsFile(text: string, file: string): Record<string, unknown> {
  const ext = extensionOf(file);
  let value: unknown;
  if (ext === '.json') {
    value = parseJson(text, file);
  } else if (ext === '.yaml' || ext === '.yml') {
    value = flatNumericYaml(text) ?? parseYamlLocated(text, file, 'PARAMS_INVALID').value;
    if (value === null || value === undefined) value = {};
  } else if (ext === '.toml') {
    value = parseTomlParams(text, file);
  } else if (ext === '.py') {
    value = parsePythonParams(text, file);
  } else {
    throw new RvcError('PARAMS_INVALID', `${file}: unsupported params file type '${ext || '(none)'}'`, {
      path: file, hint: `use one of: ${PARAMS_EXTENSIONS.join(', ')}`,
    });
  }
  if (!isPlainObject(value)) {
    throw new RvcError('PARAMS_INVALID', `${file}:1: the top level must be a mapping of names to values, not ${describe(value)}`, {
      path: file, line: 1, hint: 'write the parameters as `name: value` pairs at the top level',
    });
  }
  return value;
}

const FLAT_LINE = /^([A-Za-z_][A-Za-z0-9_]*): (-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)[ \t]*$/;

/**
 * The common params file — `name: number` lines, nothing else — read without the YAML parser
 * (which costs far more per file, and `exp show` reads one per experiment). Any other text,
 * and any repeated name, is left to the parser (undefined), so the result is always what the
 * parser would give.
 */
export function flatNumericYaml(text: string): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (!lines.length) return undefined;
  for (const line of lines) {
    const m = FLAT_LINE.exec(line);
    if (!m || m[1] === '__proto__' || Object.hasOwn(out, m[1]!)) return undefined;
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Metric files share the params formats; a metric file is read the same way. */
export const parseMetricsFile = parseParamsFile;

/**
 * TOML through smol-toml, made JSON-safe: dates and times become the ISO 8601 text TOML wrote
 * (`1979-05-27`, `07:32:00`, `1979-05-27T07:32:00-08:00`), integers beyond 2^53 become numbers
 * (losing precision, as in JSON), and tables become ordinary records.
 */
function parseTomlParams(text: string, file: string): Record<string, unknown> {
  if (text.length > MAX_YAML_BYTES) {
    throw new RvcError('PARAMS_INVALID', `${file} is too large to be a params file (${text.length} bytes)`, { path: file });
  }
  let raw: unknown;
  try {
    raw = parseToml(text, { integersAsBigInt: 'asNeeded', maxDepth: MAX_YAML_DEPTH });
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const line = Math.max(1, e.line || 1);
    const msg = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    throw new RvcError('PARAMS_INVALID', `${file}:${line}: invalid TOML: ${msg}`, {
      path: file, line, cause: e, hint: 'fix the TOML syntax at that line',
    });
  }
  return jsonSafe(raw) as Record<string, unknown>;
}

function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString().replace(/\.000(?=$|[Z+-])/, '');
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, jsonSafe(x));
    return out;
  }
  return v;
}

function parseJson(text: string, file: string): unknown {
  if (text.length > MAX_YAML_BYTES) {
    throw new RvcError('PARAMS_INVALID', `${file} is too large to be a params file (${text.length} bytes)`, { path: file });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // V8 messages quote the input and only sometimes give a position, so the offset is found
    // by a scanner of our own and the message is ours too.
    const offset = locateJsonError(text);
    const line = lineAt(text, offset);
    const near = JSON.stringify(text.slice(offset, offset + 20));
    throw new RvcError('PARAMS_INVALID', `${file}:${line}: invalid JSON near ${near}`, {
      path: file, line, cause: e, hint: 'fix the JSON syntax at that line (trailing commas and comments are not allowed in JSON)',
    });
  }
}

/**
 * Offset of the first syntax error in `text`, found by a minimal JSON scanner. Only used after
 * JSON.parse has failed, so it does not need to build values.
 */
export function locateJsonError(text: string): number {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  class Stop extends Error {}
  const fail = (): never => { throw new Stop(); };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const str = () => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        const esc = text[i + 1];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) { i += 2; fail(); }
          i += 6;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i += 2;
        else { i++; fail(); }
      } else i++;
    }
    fail();
  };
  const num = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  // Depth is bounded so a hostile file of many '[' cannot overflow the stack.
  const value = (depth: number): void => {
    if (depth > 1000) fail();
    ws();
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        str(); ws();
        if (text[i] !== ':') fail();
        i++;
        value(depth + 1); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail();
      }
    } else if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(depth + 1); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail();
      }
    } else if (c === '"') str();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else num();
  };
  try {
    value(0);
    ws();
    return Math.min(i, n);
  } catch (e) {
    if (e instanceof Stop) return Math.min(i, n);
    throw e;
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

/**
 * Splits a key path: `a.b.c`, `a.list.0` and `a.list[0]` all work. A numeric segment indexes
 * an array, or is a key of a mapping. Keys that themselves contain dots cannot be addressed.
 */
export function splitKeyPath(path: string): (string | number)[] | undefined {
  if (path === '') return undefined;
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) {
    if (m.index !== pos) return undefined;
    if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[1]!);
    pos = re.lastIndex;
    if (path[pos] === '.') {
      pos++;
      re.lastIndex = pos;
      if (pos === path.length) return undefined; // trailing dot
    }
  }
  return pos === path.length && out.length > 0 ? out : undefined;
}

/**
 * Looks a dot path up in a parsed params value. Returns undefined when any segment is missing;
 * YAML and JSON have no undefined, so that is unambiguous (null is a value).
 */
export function getByDotPath(obj: unknown, path: string | readonly (string | number)[]): unknown {
  const segs = typeof path === 'string' ? splitKeyPath(path) : path;
  if (!segs) return undefined;
  let cur: unknown = obj;
  for (const seg of segs) {
    if (Array.isArray(cur)) {
      const idx = typeof seg === 'number' ? seg : /^(0|[1-9]\d*)$/.test(seg) ? Number(seg) : NaN;
      if (!Number.isInteger(idx) || idx >= cur.length) return undefined;
      cur = cur[idx];
    } else if (isPlainObject(cur)) {
      const key = String(seg);
      if (!Object.hasOwn(cur, key)) return undefined;
      cur = cur[key];
    } else return undefined;
  }
  return cur;
}

/**
 * The values a stage depends on: `{ 'a.b': value }` for each listed key, or every top-level
 * key when `keys` is null. A listed key that is missing is an error naming all missing keys.
 */
export function selectParams(obj: Record<string, unknown>, keys: readonly string[] | null, file = 'params file'): ParamValues {
  const out: ParamValues = {};
  if (keys === null) {
    for (const k of Object.keys(obj).sort(compareStrings)) setOwn(out, k, obj[k]);
    return out;
  }
  const missing: string[] = [];
  for (const k of [...new Set(keys)].sort(compareStrings)) {
    const v = getByDotPath(obj, k);
    if (v === undefined) missing.push(k);
    else setOwn(out, k, v);
  }
  if (missing.length > 0) {
    throw new RvcError('PARAMS_INVALID', `${file}: missing parameter${missing.length > 1 ? 's' : ''} ${missing.map((k) => `'${k}'`).join(', ')}`, {
      path: file, details: { missing }, hint: `add ${missing.length > 1 ? 'them' : 'it'} to ${file} or remove ${missing.length > 1 ? 'them' : 'it'} from the stage's params`,
    });
  }
  return out;
}

export interface ParamChange {
  file: string;
  key: string;
  kind: 'added' | 'removed' | 'modified';
  /** Absent when the key was added. */
  old?: unknown;
  /** Absent when the key was removed. */
  new?: unknown;
}

/** Changed parameters between two snapshots, sorted by file then key. Equal values are left out. */
export function diffParams(oldP: ParamsByFile, newP: ParamsByFile): ParamChange[] {
  const changes: ParamChange[] = [];
  const files = [...new Set([...Object.keys(oldP), ...Object.keys(newP)])].sort(compareStrings);
  for (const file of files) {
    const a = Object.hasOwn(oldP, file) ? oldP[file]! : {};
    const b = Object.hasOwn(newP, file) ? newP[file]! : {};
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareStrings);
    for (const key of keys) {
      const inA = Object.hasOwn(a, key);
      const inB = Object.hasOwn(b, key);
      if (inA && !inB) changes.push({ file, key, kind: 'removed', old: a[key] });
      else if (!inA && inB) changes.push({ file, key, kind: 'added', new: b[key] });
      else if (!deepEqual(a[key], b[key])) changes.push({ file, key, kind: 'modified', old: a[key], new: b[key] });
    }
  }
  return changes;
}

/**
 * Nested metric values flattened to dot paths (`{a: {b: 1}}` → `{'a.b': 1}`); arrays index by
 * position (`a.0`). Only leaves are kept.
 */
export function flattenValues(value: unknown, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (v: unknown, p: string, depth: number) => {
    const composite = Array.isArray(v) ? v.length > 0 : isPlainObject(v) && Object.keys(v).length > 0;
    if (!composite || depth > 100) {
      if (p !== '') setOwn(out, p, v);
      return;
    }
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v as object);
    for (const [k, x] of entries) walk(x, p === '' ? k : `${p}.${k}`, depth + 1);
  };
  walk(value, prefix, 0);
  return out;
}

export interface MetricChange {
  path: string;
  key: string;
  /** Absent when the metric is new. */
  old?: unknown;
  /** Absent when the metric was removed. */
  new?: unknown;
  /** new − old when both are finite numbers, otherwise absent. */
  change?: number;
}

/**
 * Differences between two metric snapshots (metrics file → flat key → value), sorted by path and
 * key. With `all`, unchanged metrics are listed too (with change 0 for numbers).
 */
export function diffMetrics(oldM: ParamsByFile, newM: ParamsByFile, opts: { all?: boolean } = {}): MetricChange[] {
  const out: MetricChange[] = [];
  const paths = [...new Set([...Object.keys(oldM), ...Object.keys(newM)])].sort(compareStrings);
  for (const path of paths) {
    const a = Object.hasOwn(oldM, path) ? oldM[path]! : {};
    const b = Object.hasOwn(newM, path) ? newM[path]! : {};
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareStrings);
    for (const key of keys) {
      const inA = Object.hasOwn(a, key);
      const inB = Object.hasOwn(b, key);
      const same = inA && inB && deepEqual(a[key], b[key]);
      if (same && !opts.all) continue;
      const c: MetricChange = { path, key };
      if (inA) c.old = a[key];
      if (inB) c.new = b[key];
      const x = a[key];
      const y = b[key];
      if (inA && inB && typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)) {
        c.change = y - x;
      }
      out.push(c);
    }
  }
  return out;
}

function extensionOf(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}
