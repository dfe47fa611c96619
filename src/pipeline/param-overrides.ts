import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { RvcError } from '../errors.js';
import { writeFileAtomic } from '../fsutil/atomic.js';
import { getByDotPath, parseParamsFile, splitKeyPath } from '../model/params.js';
import { DEFAULT_PARAMS_FILE } from '../model/pipeline/types.js';
import { parseYaml } from '../model/yaml.js';
import { isPlainObject } from '../model/values.js';

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
  throw new RvcError('PARAMS_INVALID', `${file}: -S can change YAML and JSON params files`, { path: file, hint: 'edit the file by hand, then `rvc exp run`' });
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
 * Sweeps: a `-S` whose value is a comma list (`lr=0.1,0.01`) stands for one run per value; several
 * such `-S` give their cartesian product. Returns one list of single overrides per run.
 */
export function expandSweeps(setParams: readonly string[]): ParamOverride[][] {
  let runs: ParamOverride[][] = [[]];
  for (const text of setParams) {
    const eq = text.indexOf('=');
    const lhs = eq > 0 ? text.slice(0, eq) : text;
    const rhs = eq > 0 ? text.slice(eq + 1) : '';
    const values = splitTopLevelCommas(rhs);
    const choices = values.map((v) => parseOverride(`${lhs}=${v}`));
    runs = runs.flatMap((r) => choices.map((c) => [...r, c]));
  }
  return runs;
}

/** Splits on commas outside brackets and quotes, so `[64,32]` stays one value. */
function splitTopLevelCommas(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '{' || ch === '(') depth++;
    else if (ch === ']' || ch === '}' || ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out;
}
