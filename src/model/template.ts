import { RvcError } from '../errors.js';
import { getByDotPath } from './params.js';
import { deepEqual, describe, isPlainObject, setOwn } from './values.js';

/**
 * `${…}` templating for rvc.yaml, after DVC: `vars:` build a context, `${a.b[0]}` looks a
 * value up, `foreach`/`matrix` generate stages. Everything here is pure; files named in `vars:`
 * are read by the caller through `loadVarsFile`.
 */

export type Context = Record<string, unknown>;

/** Reads a vars file (path relative to the repository root); undefined when it does not exist. */
export type LoadVarsFile = (path: string) => unknown;

/** Where a value being resolved came from, for error messages. */
export interface TemplateWhere {
  file: string;
  stage?: string;
  line?: number;
}

/** Most stages one pipeline file may generate through foreach/matrix. */
export const MAX_GENERATED_STAGES = 10_000;
/** Longest string interpolation may produce. */
export const MAX_STRING_LENGTH = 1 << 20;
/** Most values (scalars, list items, map entries) resolution may produce for a whole file. */
export const MAX_RESOLVED_NODES = 2_000_000;

/** The params file DVC loads into the context without being asked; rvc does the same. */
export const DEFAULT_VARS_FILE = 'params.yaml';

/** Counts the work templating does for one file, so a small file cannot expand into gigabytes. */
export class Budget {
  private nodes = 0;
  constructor(readonly maxNodes = MAX_RESOLVED_NODES) {}
  charge(n: number, where: TemplateWhere): void {
    this.nodes += n;
    if (this.nodes > this.maxNodes) {
      throw templateError(where, `templating expands to more than ${this.maxNodes} values`, 'reduce the size of the foreach/matrix lists or of the variables copied into stages');
    }
  }
}

const EXPR_RE = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+|\[\d+\])*$/;

/** True when `s` contains a `${` that is not escaped as `\${`. */
export function hasTemplate(s: string): boolean {
  return /(^|[^\\])\$\{/.test(s);
}

type Piece = { lit: string } | { expr: string };

/** Splits a string into literal text and `${expr}` references; `\${` is a literal `${`. */
export function parseTemplate(s: string, where: TemplateWhere): Piece[] {
  const pieces: Piece[] = [];
  let lit = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('\\${', i)) {
      lit += '${';
      i += 3;
      continue;
    }
    if (s.startsWith('${', i)) {
      const end = s.indexOf('}', i + 2);
      if (end < 0) throw templateError(where, `unterminated '\${' in ${quote(s)}`, "close it with '}' or write '\\${' for a literal '${'");
      const expr = s.slice(i + 2, end).trim();
      if (!EXPR_RE.test(expr)) {
        throw templateError(where, `invalid expression '\${${s.slice(i + 2, end)}}' in ${quote(s)}`, 'write a variable name with optional .key and [index] parts, e.g. ${model.layers[0]}');
      }
      if (lit) pieces.push({ lit });
      lit = '';
      pieces.push({ expr });
      i = end + 1;
      continue;
    }
    lit += s[i];
    i++;
  }
  if (lit || pieces.length === 0) pieces.push({ lit });
  return pieces;
}

/** Looks an expression (`a.b[0]`) up in the context; undefined when it is not defined. */
export function lookupVar(ctx: Context, expr: string): unknown {
  return getByDotPath(ctx, expr);
}

/**
 * Resolves one string. A string that is exactly one `${x}` keeps x's type (number, boolean,
 * list, mapping); otherwise each reference is interpolated as text: strings as they are,
 * numbers as JavaScript prints them, booleans as `true`/`false`, null as `null`. Lists and
 * mappings cannot be interpolated into text.
 */
export function resolveString(s: string, ctx: Context, where: TemplateWhere, budget = new Budget()): unknown {
  if (!s.includes('${')) return s;
  const pieces = parseTemplate(s, where);
  const only = pieces.length === 1 ? pieces[0] : undefined;
  if (only && 'expr' in only) {
    const v = lookup(ctx, only.expr, where);
    return cloneCharged(v, budget, where);
  }
  let out = '';
  for (const p of pieces) {
    if ('lit' in p) out += p.lit;
    else {
      const v = lookup(ctx, p.expr, where);
      if (Array.isArray(v) || isPlainObject(v)) {
        throw templateError(where, `cannot interpolate ${describe(v)} ('${p.expr}') into the text ${quote(s)}`, `use '\${${p.expr}}' alone as the whole value, or refer to one element such as '\${${p.expr}${Array.isArray(v) ? '[0]' : '.key'}}'`);
      }
      out += v === null ? 'null' : String(v);
    }
    if (out.length > MAX_STRING_LENGTH) {
      throw templateError(where, `interpolation produces a string longer than ${MAX_STRING_LENGTH} characters`);
    }
  }
  budget.charge(1, where);
  return out;
}

/** Resolves every string in a value, including mapping keys (they are often paths). */
export function resolveValue(v: unknown, ctx: Context, where: TemplateWhere, budget = new Budget(), depth = 0): unknown {
  if (depth > 64) throw templateError(where, 'values are nested too deeply');
  if (typeof v === 'string') return resolveString(v, ctx, where, budget);
  if (Array.isArray(v)) {
    budget.charge(v.length, where);
    return v.map((x) => resolveValue(x, ctx, where, budget, depth + 1));
  }
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      budget.charge(1, where);
      const key = k.includes('${') ? resolveString(k, ctx, where, budget) : k;
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw templateError(where, `the key ${quote(k)} resolves to ${describe(key)}; a key must be text`);
      }
      const ks = String(key);
      if (Object.hasOwn(out, ks)) throw templateError(where, `the key ${quote(k)} resolves to '${ks}', which is already used in the same mapping`);
      setOwn(out, ks, resolveValue(x, ctx, where, budget, depth + 1));
    }
    return out;
  }
  return v;
}

function lookup(ctx: Context, expr: string, where: TemplateWhere): unknown {
  const v = lookupVar(ctx, expr);
  if (v === undefined) {
    const names = Object.keys(ctx).sort();
    const shown = names.length > 20 ? `${names.slice(0, 20).join(', ')}, …` : names.join(', ');
    throw templateError(where, `undefined variable '${expr}'`, names.length > 0
      ? `define it under vars: (or in ${DEFAULT_VARS_FILE}); defined: ${shown}`
      : `define it under vars: (or in ${DEFAULT_VARS_FILE}); no variables are defined`);
  }
  return v;
}

function cloneCharged(v: unknown, budget: Budget, where: TemplateWhere): unknown {
  budget.charge(1, where);
  if (Array.isArray(v)) return v.map((x) => cloneCharged(x, budget, where));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, cloneCharged(x, budget, where));
    return out;
  }
  return v;
}

export interface VarsOptions {
  file: string;
  stage?: string;
  line?: number;
  loadVarsFile?: LoadVarsFile;
  /** Maps a file name written in vars: to a repository path (and checks it is safe). */
  mapPath?: (path: string) => string;
  /** Files already merged into the context; a file is imported whole at most once. */
  loaded?: Set<string>;
}

/**
 * Merges a `vars:` list into `base` (not modified) and returns the new context. Each entry is a
 * mapping of values, or a file name (`params.yaml`, or `file.yaml:key1,key2` for some keys).
 * Defining the same name twice with different values is an error, as in DVC, so the meaning of
 * `${x}` never depends on the order of the list.
 */
export function buildContext(entries: unknown, base: Context, opts: VarsOptions): Context {
  const where: TemplateWhere = { file: opts.file, ...(opts.stage ? { stage: opts.stage } : {}), ...(opts.line ? { line: opts.line } : {}) };
  const ctx = cloneShallowDeep(base);
  if (entries === undefined || entries === null) return ctx;
  if (!Array.isArray(entries)) {
    throw templateError(where, `vars must be a list of mappings and file names, not ${describe(entries)}`, 'write e.g. `vars:\\n  - params.yaml\\n  - lr: 0.1`');
  }
  const loaded = opts.loaded ?? new Set<string>();
  entries.forEach((entry, idx) => {
    if (isPlainObject(entry)) {
      mergeInto(ctx, entry, '', where, `vars[${idx}]`);
    } else if (typeof entry === 'string') {
      const colon = entry.indexOf(':');
      const written = colon >= 0 ? entry.slice(0, colon) : entry;
      const keys = colon >= 0 ? entry.slice(colon + 1).split(',').map((k) => k.trim()).filter((k) => k !== '') : null;
      const path = opts.mapPath ? opts.mapPath(written) : written;
      if (keys === null && loaded.has(path)) return;
      const data = loadFile(path, where, opts.loadVarsFile);
      if (keys === null) {
        loaded.add(path);
        mergeInto(ctx, data, '', where, path);
      } else {
        for (const k of keys) {
          const v = getByDotPath(data, k);
          if (v === undefined) throw templateError(where, `vars file '${path}' has no key '${k}'`, `add '${k}' to ${path} or remove it from vars:`);
          mergeInto(ctx, nestAt(k, v), '', where, `${path}:${k}`);
        }
      }
    } else {
      throw templateError(where, `vars[${idx}] must be a mapping or a file name, not ${describe(entry)}`);
    }
  });
  return ctx;
}

/**
 * Loads the default params file into an empty context when the caller can read files and the
 * file exists; otherwise the context starts empty.
 */
export function defaultContext(opts: VarsOptions & { dir?: string }): { ctx: Context; loaded: Set<string> } {
  const loaded = new Set<string>();
  const ctx: Context = {};
  if (!opts.loadVarsFile) return { ctx, loaded };
  // The default params file sits beside the pipeline file that uses it.
  const file = opts.dir && opts.dir !== '.' ? `${opts.dir}/${DEFAULT_VARS_FILE}` : DEFAULT_VARS_FILE;
  const data = opts.loadVarsFile(file);
  if (data === undefined) return { ctx, loaded };
  if (!isPlainObject(data)) {
    throw templateError({ file: opts.file }, `${file} must be a mapping to be used as vars, not ${describe(data)}`);
  }
  loaded.add(file);
  mergeInto(ctx, data, '', { file: opts.file }, file);
  return { ctx, loaded };
}

function loadFile(path: string, where: TemplateWhere, load?: LoadVarsFile): Record<string, unknown> {
  if (!load) {
    throw templateError(where, `vars file '${path}' cannot be read here`, 'pass loadVarsFile to resolve vars files');
  }
  const data = load(path);
  if (data === undefined) throw templateError(where, `vars file '${path}' does not exist`, 'create it or remove it from vars:');
  if (!isPlainObject(data)) throw templateError(where, `vars file '${path}' must contain a mapping, not ${describe(data)}`);
  return data;
}

function nestAt(dotted: string, v: unknown): Record<string, unknown> {
  const parts = dotted.split('.');
  let out: unknown = v;
  for (let i = parts.length - 1; i >= 0; i--) {
    const o: Record<string, unknown> = {};
    setOwn(o, parts[i]!, out);
    out = o;
  }
  return out as Record<string, unknown>;
}

function mergeInto(into: Record<string, unknown>, from: Record<string, unknown>, prefix: string, where: TemplateWhere, source: string): void {
  for (const [k, v] of Object.entries(from)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (!Object.hasOwn(into, k)) {
      setOwn(into, k, cloneShallowDeep(v));
    } else if (isPlainObject(into[k]) && isPlainObject(v)) {
      mergeInto(into[k] as Record<string, unknown>, v, name, where, source);
    } else if (!deepEqual(into[k], v)) {
      throw templateError(where, `variable '${name}' from ${source} is already defined with a different value`, 'rename one of them; vars cannot redefine a name');
    }
  }
}

function cloneShallowDeep<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneShallowDeep) as T;
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, cloneShallowDeep(x));
    return out as T;
  }
  return v;
}

/** One stage a foreach or matrix generates: the name suffix after `@` and the variables it adds. */
export interface Expansion {
  key: string;
  vars: Context;
}

/**
 * The stages a `foreach` generates. A list of scalars names them by value (`build@us`), a list
 * with any list or mapping in it by index (`build@0`), a mapping by key; `${item}` is the
 * element, `${key}` the mapping key. `iterable` has already been resolved.
 */
export function foreachExpansions(iterable: unknown, ctx: Context, where: TemplateWhere): Expansion[] {
  if (Array.isArray(iterable)) {
    guardCount(iterable.length, where);
    checkNotDefined(ctx, ['item'], where);
    const composite = iterable.some((x) => Array.isArray(x) || isPlainObject(x));
    return iterable.map((item, i) => ({ key: composite ? String(i) : scalarKey(item), vars: { item } }));
  }
  if (isPlainObject(iterable)) {
    const keys = Object.keys(iterable);
    guardCount(keys.length, where);
    checkNotDefined(ctx, ['item', 'key'], where);
    return keys.map((key) => {
      const vars: Context = {};
      setOwn(vars, 'key', key);
      setOwn(vars, 'item', iterable[key]);
      return { key, vars };
    });
  }
  throw templateError(where, `foreach must be a list, a mapping or a \${variable} holding one, not ${describe(iterable)}`);
}

/**
 * The stages a `matrix` generates: every combination of the listed values, named by the values
 * joined with `-` (`train@cnn-0.1`); a list or mapping value is named by its dimension and
 * index (`train@cfg1`). `${item.<dimension>}` is the value.
 */
export function matrixExpansions(matrix: unknown, ctx: Context, where: TemplateWhere): Expansion[] {
  if (!isPlainObject(matrix) || Object.keys(matrix).length === 0) {
    throw templateError(where, `matrix must be a non-empty mapping of names to lists, not ${describe(matrix)}`);
  }
  checkNotDefined(ctx, ['item'], where);
  const dims = Object.entries(matrix);
  let total = 1;
  for (const [name, values] of dims) {
    if (!Array.isArray(values) || values.length === 0) {
      throw templateError(where, `matrix.${name} must be a non-empty list, not ${describe(values)}`);
    }
    total *= values.length;
    guardCount(total, where);
  }
  let combos: { keys: string[]; item: Record<string, unknown> }[] = [{ keys: [], item: {} }];
  for (const [name, values] of dims as [string, unknown[]][]) {
    const next: typeof combos = [];
    for (const c of combos) {
      values.forEach((v, i) => {
        const item = { ...c.item };
        setOwn(item, name, v);
        const k = Array.isArray(v) || isPlainObject(v) ? `${name}${i}` : scalarKey(v);
        next.push({ keys: [...c.keys, k], item });
      });
    }
    combos = next;
  }
  return combos.map((c) => ({ key: c.keys.join('-'), vars: { item: c.item } }));
}

function scalarKey(v: unknown): string {
  return v === null ? 'null' : String(v);
}

function guardCount(n: number, where: TemplateWhere): void {
  if (n > MAX_GENERATED_STAGES) {
    throw templateError(where, `generates ${n} stages; at most ${MAX_GENERATED_STAGES} are allowed`, 'split the pipeline or iterate over fewer values');
  }
}

function checkNotDefined(ctx: Context, names: string[], where: TemplateWhere): void {
  for (const n of names) {
    if (Object.hasOwn(ctx, n)) {
      throw templateError(where, `'${n}' is defined in vars, but foreach/matrix defines it for each generated stage`, `rename the variable '${n}'`);
    }
  }
}

export function templateError(where: TemplateWhere, msg: string, hint?: string): RvcError {
  const loc = `${where.file}${where.line ? `:${where.line}` : ''}`;
  return new RvcError('PIPELINE_INVALID', `${loc}: ${where.stage ? `stage '${where.stage}': ` : ''}${msg}`, {
    path: where.file,
    ...(where.line ? { line: where.line } : {}),
    ...(hint ? { hint } : {}),
  });
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
