import fs from 'node:fs';
import path from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { parseDocument } from 'yaml';
import { RvcError } from '../errors.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { getByDotPath, parseParamsFile, splitKeyPath } from '../model/params.js';
import { DEFAULT_PARAMS_FILE } from '../model/pipeline/types.js';
import { parseYaml } from '../model/yaml.js';
import { deepEqual, isPlainObject } from '../model/values.js';

/**
 * `-S/--set-param [file:]key=value`: one override of a parameter for an experiment. The value is
 * read as YAML (`3` is a number, `[64,32]` a list, `'3'` a string). A key that the file does not
 * have is refused unless written `+key=value` (Hydra's rule), so a typo cannot silently add a
 * parameter no stage reads.
 */
export interface ParamOverride {
  /** The params file, relative to the pipeline's folder (default `params.yaml`). */
  file: string;
  key: string;
  value: unknown;
  /** `+key=value`: the key may be new. */
  add: boolean;
  /** The override as written, for messages and the experiment's record. */
  text: string;
}

/** Parses one `-S` value that is a single override (no sweep). */
export function parseOverride(text: string): ParamOverride {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw new RvcError('USAGE', `'${text}' is not a parameter override`, { hint: 'write `-S key=value` or `-S params.yaml:key=value`' });
  }
  let lhs = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  let file = DEFAULT_PARAMS_FILE;
  const colon = lhs.lastIndexOf(':');
  if (colon > 0) {
    file = lhs.slice(0, colon);
    lhs = lhs.slice(colon + 1);
  }
  const add = lhs.startsWith('+');
  if (add) lhs = lhs.slice(1);
  if (!splitKeyPath(lhs)) {
    throw new RvcError('USAGE', `'${lhs}' in '${text}' is not a parameter key`, { hint: 'name the key with dots, e.g. `-S train.lr=0.1`' });
  }
  return { file, key: lhs, value: parseValue(raw, text), add, text };
}

function parseValue(raw: string, text: string): unknown {
  if (raw === '') return '';
  try {
    return parseYaml(raw, `-S ${text}`, 'USAGE').value;
  } catch {
    return raw;
  }
}

/**
 * Writes the overrides into their params files under `dir` (the workspace or an isolated copy),
 * each file once and atomically, keeping its comments and layout (YAML) where it can. Refuses
 * the whole set before writing anything if one key is unknown and not `+`, or a file is missing.
 * Returns the files changed (relative to `dir`).
 */
export function applyOverrides(dir: string, overrides: readonly ParamOverride[]): string[] {
  const byFile = new Map<string, ParamOverride[]>();
  for (const o of overrides) byFile.set(o.file, [...(byFile.get(o.file) ?? []), o]);
  const writes: { abs: string; text: string }[] = [];
  for (const [file, list] of byFile) {
    const abs = path.resolve(dir, file);
    if (path.relative(dir, abs).startsWith('..') || path.isAbsolute(path.relative(dir, abs))) {
      throw new RvcError('PATH_OUTSIDE_REPO', `params file '${file}' is outside the project`, { path: file, hint: 'name a params file inside the repository' });
    }
    let text: string;
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch {
      throw new RvcError('PARAMS_INVALID', `params file '${file}' does not exist`, { path: file, hint: `create it, or name an existing file: \`-S other.yaml:${list[0]!.key}=…\`` });
    }
    const current = parseParamsFile(text, file);
    for (const o of list) {
      if (!o.add && getByDotPath(current, o.key) === undefined) {
        throw new RvcError('PARAMS_INVALID', `${file} has no parameter '${o.key}'`, {
          path: file, hint: `check the key, or add it on purpose with \`-S +${o.key}=${JSON.stringify(o.value)}\``,
        });
      }
    }
    writes.push({ abs, text: rewrite(text, file, list) });
  }
  for (const w of writes) writeFileAtomic(w.abs, w.text);
  return [...byFile.keys()];
}

function rewrite(text: string, file: string, list: readonly ParamOverride[]): string {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') {
    const doc = parseDocument(text);
    for (const o of list) doc.setIn(splitKeyPath(o.key)!, o.value);
    return doc.toString();
  }
  if (ext === '.json') {
    const obj = JSON.parse(text) as Record<string, unknown>;
    for (const o of list) setPath(obj, splitKeyPath(o.key)!, o.value);
    return `${JSON.stringify(obj, null, 2)}\n`;
  }
  if (ext === '.toml') {
    // smol-toml writes TOML back from values: the file's comments and layout are not kept.
    const obj = parseToml(text) as Record<string, unknown>;
    for (const o of list) {
      if (o.value === null) {
        throw new RvcError('PARAMS_INVALID', `${file}: TOML has no null value, so '${o.text}' cannot be written there`, { path: file, hint: 'give the key a value TOML can hold (a number, string, boolean, list or table)' });
      }
      setPath(obj, splitKeyPath(o.key)!, o.value);
    }
    return stringifyToml(obj) + '\n';
  }
  if (ext === '.py') return rewritePython(text, file, list);
  throw new RvcError('PARAMS_INVALID', `${file}: -S can change YAML, JSON and TOML params files`, { path: file, hint: 'edit the file by hand, then `rvc exp run`' });
}

/**
 * Python params: only simple cases are edited in place — a top-level name assigned a literal on
 * one line (`LR = 0.1  # comment`, `BATCH: int = 8`), its last such assignment, the rest of the
 * file kept byte for byte; `+NAME=value` appends `NAME = value`. Anything else (a class
 * attribute, a multi-line value, a key the file sets in a way rvc does not rewrite) is refused
 * naming the key: rvc does not rewrite code.
 */
function rewritePython(text: string, file: string, list: readonly ParamOverride[]): string {
  let out = text;
  for (const o of list) {
    const refuse = (why: string): RvcError => new RvcError('PARAMS_INVALID', `${file}: -S '${o.text}' cannot be written: ${why}`, {
      path: file, hint: `edit ${file} by hand, then \`rvc exp run\` (or move the parameter to params.yaml)`,
    });
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.key)) throw refuse('rvc edits only top-level names of a Python params file');
    const lit = pythonLiteral(o.value);
    if (lit === undefined) throw refuse('the value has no simple Python literal form');
    const re = new RegExp(`^(${o.key}[ \\t]*(?::[^=\\n]*)?=[ \\t]*)((?:[-+]?[0-9][0-9_.eE+-]*|True|False|None|"[^"\\\\\\n]*"|'[^'\\\\\\n]*'))([ \\t]*(?:#[^\\n]*)?)$`, 'gm');
    const matches = [...out.matchAll(re)];
    const anyAssign = new RegExp(`^${o.key}[ \\t]*(?::[^=\\n]*)?=`, 'gm');
    const assigns = [...out.matchAll(anyAssign)];
    if (!assigns.length && o.add) {
      out = `${out}${out === '' || out.endsWith('\n') ? '' : '\n'}${o.key} = ${lit}\n`;
      continue;
    }
    const last = matches[matches.length - 1];
    if (!last || assigns[assigns.length - 1]!.index !== last.index) throw refuse(`its assignment is not a one-line literal at the top level`);
    out = out.slice(0, last.index + last[1]!.length) + lit + out.slice(last.index + last[1]!.length + last[2]!.length);
  }
  // Read back as rvc reads Python params: every key must now hold its new value.
  const now = parseParamsFile(out, file);
  for (const o of list) {
    if (!deepEqual(getByDotPath(now, o.key), o.value)) {
      throw new RvcError('PARAMS_INVALID', `${file}: -S '${o.text}' could not be written safely`, { path: file, hint: `edit ${file} by hand, then \`rvc exp run\`` });
    }
  }
  return out;
}

/** A Python literal for a JSON-like value, or undefined when it has none rvc writes. */
function pythonLiteral(v: unknown): string | undefined {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) {
    const items = v.map(pythonLiteral);
    return items.some((i) => i === undefined) ? undefined : `[${items.join(', ')}]`;
  }
  if (isPlainObject(v)) {
    const items = Object.entries(v).map(([k, x]) => [JSON.stringify(k), pythonLiteral(x)] as const);
    return items.some(([, i]) => i === undefined) ? undefined : `{${items.map(([k, i]) => `${k}: ${i}`).join(', ')}}`;
  }
  return undefined;
}

function setPath(obj: Record<string, unknown>, segs: readonly (string | number)[], value: unknown): void {
  let cur: unknown = obj;
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i]!;
    const next = Array.isArray(cur) ? (cur as unknown[])[Number(seg)] : (cur as Record<string, unknown>)[String(seg)];
    if (!isPlainObject(next) && !Array.isArray(next)) {
      const fresh: Record<string, unknown> = {};
      Object.defineProperty(cur, String(seg), { value: fresh, enumerable: true, writable: true, configurable: true });
      cur = fresh;
    } else cur = next;
  }
  Object.defineProperty(cur, String(segs[segs.length - 1]!), { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Sweeps: a `-S` whose value stands for several values gives one run per value; several such
 * `-S` give their cartesian product. Returns one list of single overrides per run. The value
 * grammar (Hydra's):
 *   `a,b,c`                      a comma list (commas inside `[]`, `{}`, `()` or quotes do not split)
 *   `range(start, stop[, step])` numbers from start up to stop, stop excluded (step may be negative)
 *   `choice(a, b, …)`            the listed values
 * Each value is read as YAML (`[64,32]` is a list). A malformed sweep is a USAGE error naming it.
 */
export function expandSweeps(setParams: readonly string[]): ParamOverride[][] {
  let runs: ParamOverride[][] = [[]];
  for (const text of setParams) {
    const eq = text.indexOf('=');
    if (eq <= 0) parseOverride(text); // throws the usage error naming the text
    const lhs = text.slice(0, eq);
    const values = sweepValues(text.slice(eq + 1), text);
    const choices = values.map((v) => ({ ...parseOverride(`${lhs}=${v}`), text: values.length > 1 ? `${lhs}=${v}` : text }));
    runs = runs.flatMap((r) => choices.map((c) => [...r, c]));
  }
  return runs;
}

const MAX_SWEEP = 10_000;

/** The value texts one `-S` right-hand side stands for. */
export function sweepValues(rhs: string, text: string): string[] {
  const bad = (why: string, hint: string): RvcError => new RvcError('USAGE', `-S '${text}': ${why}`, { hint });
  const fn = /^\s*(range|choice)\s*\((.*)\)\s*$/s.exec(rhs);
  if (fn) {
    const args = splitTopLevelCommas(fn[2]!, text).map((a) => a.trim());
    if (fn[1] === 'choice') {
      if (args.some((a) => a === '')) throw bad('choice() needs at least one value and no empty ones', 'write e.g. `-S optim=choice(adam,sgd)`');
      return args;
    }
    const nums = args.map((a) => (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(a) ? Number(a) : NaN));
    if (nums.length < 2 || nums.length > 3 || nums.some((n) => !Number.isFinite(n))) {
      throw bad('range() takes two or three numbers: range(start, stop[, step])', 'write e.g. `-S seed=range(1,6)` (1 to 5) or `-S lr=range(0.1,0.5,0.1)`');
    }
    const [start, stop, step = 1] = nums as [number, number, number?];
    if (step === 0) throw bad('the step of range() cannot be 0', 'write e.g. `-S seed=range(1,6,1)`');
    const count = Math.ceil((stop - start) / step - 1e-9);
    if (count <= 0) throw bad(`range(${args.join(', ')}) holds no value (stop is excluded)`, 'the stop must lie beyond the start in the direction of the step, e.g. `range(1,6)`');
    if (count > MAX_SWEEP) throw bad(`range() gives ${count} values, more than ${MAX_SWEEP}`, 'use a larger step');
    // Multiples of the step from the start, rounded to the inputs' decimals: no 0.30000000000000004.
    const decimals = Math.max(...args.map((a) => (/\.(\d+)/.exec(a.replace(/e.*$/i, ''))?.[1]?.length ?? 0)));
    return Array.from({ length: count }, (_, i) => String(Number((start + i * step).toFixed(Math.min(decimals, 15)))));
  }
  if (/^\s*[A-Za-z_]\w*\(/.test(rhs) && rhs.trim().endsWith(')')) {
    throw bad(`unknown sweep function '${rhs.slice(0, rhs.indexOf('(')).trim()}'`, 'sweeps are `a,b,c`, `range(start, stop[, step])` or `choice(a, b, …)`');
  }
  const values = splitTopLevelCommas(rhs, text);
  if (values.length > 1 && values.some((v) => v.trim() === '')) throw bad('a comma list has an empty value', 'write e.g. `-S lr=0.1,0.01` (quote a value that holds a comma: `-S "name=\'a,b\'"`)');
  return values;
}

/** Splits on commas outside brackets and quotes, so `[64,32]` stays one value; unbalanced text is refused. */
function splitTopLevelCommas(s: string, text: string): string[] {
  const out: string[] = [];
  const open: string[] = [];
  const pairs: Record<string, string> = { ']': '[', '}': '{', ')': '(' };
  let quote = '';
  let cur = '';
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '{' || ch === '(') open.push(ch);
    else if (ch === ']' || ch === '}' || ch === ')') {
      if (open.pop() !== pairs[ch]) throw new RvcError('USAGE', `-S '${text}': '${ch}' closes nothing`, { hint: 'balance the brackets, e.g. `-S layers=[64,32]`' });
    } else if (ch === ',' && open.length === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (quote) throw new RvcError('USAGE', `-S '${text}': the quote ${quote} is not closed`, { hint: 'close the quote, e.g. `-S "name=\'a b\'"`' });
  if (open.length) throw new RvcError('USAGE', `-S '${text}': '${open[open.length - 1]}' is not closed`, { hint: 'balance the brackets, e.g. `-S layers=[64,32]`' });
  out.push(cur);
  return out;
}
