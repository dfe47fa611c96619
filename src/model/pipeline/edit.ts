import { Document, parseDocument, isMap, isSeq, isScalar, stringify } from 'yaml';
import { RvcError } from '../../errors.js';
import { guardYamlOutput, parseYamlLocated } from '../yaml.js';
import { pathsOverlap } from '../paths.js';
import { deepEqual, isPlainObject, setOwn } from '../values.js';
import path from 'node:path';
import { PIPELINE_FILE, pipelineDirOf } from '../names.js';
import { allOutputs, DEFAULT_PARAMS_FILE, MAX_STAGE_NAME, STAGE_NAME_RE, type PlotOptions, type Stage, type StageOut } from './types.js';
import { parsePipeline, type ParseOptions } from './parse.js';

/**
 * Writing rvc.yaml: the written form of a stage (`StageDef`), canonical serialisation, and adding
 * or removing one stage while keeping the rest of the file's bytes and comments.
 */

export interface OutOptions {
  cache?: boolean;
  persist?: boolean;
  desc?: string;
  remote?: string;
  push?: boolean;
  type?: string;
  labels?: string[];
  meta?: unknown;
}

/** Options of a stage's plots file: an output's and the plot's own. */
export interface PlotDefOptions extends OutOptions, PlotOptions {}

/** A stage as written in rvc.yaml (the input of `rvc stage add`). */
export interface StageDef {
  desc?: string;
  cmd: string | string[];
  wdir?: string;
  deps?: string[];
  params?: (string | Record<string, string[] | null>)[];
  env?: string[] | Record<string, string | number | boolean | null>;
  outs?: (string | Record<string, OutOptions | null>)[];
  metrics?: (string | Record<string, OutOptions | null>)[];
  plots?: (string | Record<string, PlotDefOptions | null>)[];
  frozen?: boolean;
  always_changed?: boolean;
  meta?: unknown;
}

const DEF_ORDER: readonly (keyof StageDef)[] = [
  'desc', 'cmd', 'wdir', 'deps', 'params', 'env', 'outs', 'metrics', 'plots', 'frozen', 'always_changed', 'meta',
];

/** A def with its fields in the order rvc writes them, empty lists and false flags left out. */
export function normalizeDef(def: StageDef): StageDef {
  const out: Record<string, unknown> = {};
  for (const k of DEF_ORDER) {
    const v = def[k];
    if (v === undefined || (v === false && k !== 'meta')) continue;
    if (Array.isArray(v) && v.length === 0 && k !== 'cmd') continue;
    if (k === 'wdir' && v === '.') continue;
    if (k === 'env' && isPlainObject(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as unknown as StageDef;
}

/** The written form of a resolved stage (templates are not recovered). */
export function stageToDef(stage: Stage): StageDef {
  const outDef = (o: StageOut): string | Record<string, PlotDefOptions | null> => {
    const opts: PlotDefOptions = {};
    if (!o.cache) opts.cache = false;
    if (o.persist) opts.persist = true;
    if (o.desc !== undefined) opts.desc = o.desc;
    if (o.remote !== undefined) opts.remote = o.remote;
    if (o.push === false) opts.push = false;
    if (o.type !== undefined) opts.type = o.type;
    if (o.labels !== undefined) opts.labels = [...o.labels];
    if (o.meta !== undefined) opts.meta = o.meta;
    if (o.plot) Object.assign(opts, o.plot);
    return Object.keys(opts).length === 0 ? o.path : { [o.path]: opts };
  };
  const def: StageDef = { cmd: stage.cmd.length === 1 ? stage.cmd[0]! : [...stage.cmd] };
  if (stage.desc !== undefined) def.desc = stage.desc;
  // wdir is written relative to the pipeline file's folder, like every path in it.
  const wdir = path.posix.relative(pipelineDirOf(stage.file) === '.' ? '' : pipelineDirOf(stage.file), stage.wdir === '.' ? '' : stage.wdir) || '.';
  if (wdir !== '.') def.wdir = wdir;
  if (stage.deps.length) def.deps = stage.deps.map((d) => d.path);
  if (stage.params.length) {
    def.params = stage.params.map((p) => (p.file === DEFAULT_PARAMS_FILE && p.keys !== null
      ? p.keys
      : [{ [p.file]: p.keys }])).flat() as StageDef['params'];
  }
  if (stage.env.length) {
    def.env = stage.env.some((e) => e.default !== undefined)
      ? Object.fromEntries(stage.env.map((e) => [e.name, e.default ?? null]))
      : stage.env.map((e) => e.name);
  }
  if (stage.outs.length) def.outs = stage.outs.map(outDef);
  if (stage.metrics.length) def.metrics = stage.metrics.map(outDef);
  if (stage.plots.length) def.plots = stage.plots.map(outDef);
  if (stage.frozen) def.frozen = true;
  if (stage.alwaysChanged) def.always_changed = true;
  if (stage.meta !== undefined) def.meta = stage.meta;
  return normalizeDef(def);
}

/** rvc.yaml text for the given stages (in the order given), with fields in canonical order. */
export function serializePipeline(stages: Record<string, StageDef> | readonly Stage[], opts: { vars?: unknown[] } = {}): string {
  const entries: [string, StageDef][] = Array.isArray(stages)
    ? (stages as readonly Stage[]).map((s) => [s.local, stageToDef(s)])
    : Object.entries(stages as Record<string, StageDef>).map(([n, d]) => [n, normalizeDef(d)]);
  const top: Record<string, unknown> = {};
  if (opts.vars && opts.vars.length) top['vars'] = opts.vars;
  const st: Record<string, unknown> = {};
  for (const [n, d] of entries) setOwn(st, n, d);
  top['stages'] = st;
  return guardYamlOutput(new Document(top).toString({ lineWidth: 0, indent: 2 }), PIPELINE_FILE);
}

export interface EditOptions extends ParseOptions {
  /** Replace a stage of the same name instead of refusing. */
  force?: boolean;
}

/**
 * Adds a stage to rvc.yaml text and returns the new text. Comments and formatting of the rest
 * of the file are kept, so the git diff shows only the new stage. Refuses a name in use and
 * outputs that overlap another stage's outputs; the caller should still build the graph of the
 * result to refuse cycles.
 */
export function addStage(text: string, name: string, def: StageDef, file: string, opts: EditOptions = {}): string {
  const before = parsePipeline(text, file, opts);
  const rawNames = rawStageNames(text, file);
  if (!STAGE_NAME_RE.test(name) || name.length > MAX_STAGE_NAME) {
    throw new RvcError('STAGE_INVALID', `invalid stage name '${name}'`, {
      path: file, hint: `a stage name holds only letters, digits and '_', '.', '-' (at most ${MAX_STAGE_NAME} characters)`,
    });
  }
  const taken = rawNames.has(name) || before.stages.some((s) => s.local === name);
  if (taken && (!opts.force || !rawNames.has(name))) {
    throw new RvcError('STAGE_INVALID', `stage '${name}' already exists in ${file}`, {
      path: file, hint: opts.force ? `'${name}' is generated by a foreach; edit that stage instead` : 'choose another name, or use --force to replace it',
    });
  }

  const clean = normalizeDef(def);
  const out = guardYamlOutput(spliceStageText(text, name, clean, file, taken) ?? editWithDocument(text, name, clean), file);

  const after = parsePipeline(out, file, opts);
  const mine = after.stages.filter((s) => s.local === name || s.generatedFrom?.name === name);
  const others = after.stages.filter((s) => !(s.local === name || s.generatedFrom?.name === name));
  for (const s of mine) {
    for (const o of allOutputs(s)) {
      for (const t of others) {
        const hit = allOutputs(t).find((x) => pathsOverlap(x.repoPath, o.repoPath));
        if (hit) {
          throw new RvcError('PATH_OVERLAPS', `output '${o.repoPath}' of stage '${s.name}' overlaps output '${hit.repoPath}' of stage '${t.name}'`, {
            path: file, details: { stages: [s.name, t.name], paths: [o.repoPath, hit.repoPath] },
            hint: `an output belongs to one stage; use '${hit.repoPath}' as a dependency of '${s.name}' instead, or remove it from '${t.name}'`,
          });
        }
      }
    }
  }
  return out;
}

/** Removes a stage (as written, e.g. a whole foreach) from rvc.yaml text, keeping comments. */
export function removeStage(text: string, name: string, file: string): string {
  parseYamlLocated(text, file);
  if (!rawStageNames(text, file).has(name)) {
    throw new RvcError('STAGE_NOT_FOUND', `stage '${name}' is not defined in ${file}`, { path: file });
  }
  const v = parseYamlLocated(text, file).value as Record<string, unknown>;
  const want = { ...v, stages: Object.fromEntries(Object.entries(v['stages'] as Record<string, unknown>).filter(([k]) => k !== name)) };
  const cut = removeStageText(text, name);
  if (cut !== undefined) {
    try {
      if (deepEqual(parseYamlLocated(cut, file).value, JSON.parse(JSON.stringify(want)))) return guardYamlOutput(cut, file);
    } catch {
      // fall back to the Document API below
    }
  }
  const doc = parseDocument(text);
  doc.deleteIn(['stages', name]);
  return guardYamlOutput(doc.toString({ lineWidth: 0, indent: 2 }), file);
}

/**
 * removeStage on a block-style `stages:` map: the stage's lines (from its key to the end of its
 * body) are cut out and every other byte stays. Undefined when the layout is unusual.
 */
function removeStageText(text: string, name: string): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return undefined;
  const stages = doc.get('stages', true);
  if (!isMap(stages) || stages.flow) return undefined;
  const i = stages.items.findIndex((p) => (p.key as { value?: unknown } | null)?.value === name);
  if (i < 0 || stages.items.length < 2) return undefined;
  const k = (stages.items[i]!.key as { range?: [number, number, number] } | null)?.range;
  const v = (stages.items[i]!.value as { range?: [number, number, number] } | null)?.range;
  if (!k || !v) return undefined;
  const start = text.lastIndexOf('\n', k[0] - 1) + 1;
  if (text.slice(start, k[0]).trim() !== '') return undefined;
  // A block body's range already ends past its last newline; a one-line value ends before it.
  let end = v[1];
  if (text[end - 1] !== '\n') {
    const nl = text.indexOf('\n', end);
    if (text.slice(end, nl < 0 ? text.length : nl).replace(/#.*/, '').trim() !== '') return undefined;
    end = nl < 0 ? text.length : nl + 1;
  }
  return text.slice(0, start) + text.slice(end);
}

function rawStageNames(text: string, file: string): Set<string> {
  const v = parseYamlLocated(text, file).value;
  const st = isPlainObject(v) ? v['stages'] : undefined;
  return new Set(isPlainObject(st) ? Object.keys(st) : []);
}

/**
 * Appends the stage as text after the last stage, or with `replace` writes it over the stage of
 * that name in place, leaving every other byte as it was (the Document API re-prints the whole
 * file, moving comments and normalising spacing). Returns undefined when the layout is unusual
 * (flow style, no stages yet) or the result does not read back as intended; the caller then
 * falls back to editing through the Document API.
 */
function spliceStageText(text: string, name: string, def: StageDef, file: string, replace: boolean): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const stages = doc.get('stages', true);
  if (!isMap(stages) || stages.flow || stages.items.length === 0 || !stages.range) return undefined;
  const keyStart = (stages.items[0]!.key as { range?: [number, number, number] } | null)?.range?.[0];
  if (keyStart === undefined) return undefined;
  const col = keyStart - (text.lastIndexOf('\n', keyStart - 1) + 1);
  // The user's nesting width, taken from the first stage's first field when it is a block map.
  let step = 2;
  const firstVal = stages.items[0]!.value;
  if (isMap(firstVal) && !firstVal.flow && firstVal.items.length > 0) {
    const k = (firstVal.items[0]!.key as { range?: [number, number, number] } | null)?.range?.[0];
    if (k !== undefined) {
      const c = k - (text.lastIndexOf('\n', k - 1) + 1);
      if (c > col && c - col <= 8) step = c - col;
    }
  }
  const spaced = stages.items.slice(1).some((item, i) => {
    const prevEnd = (stages.items[i]!.value as { range?: [number, number, number] } | null)?.range?.[1];
    const start = (item.key as { range?: [number, number, number] } | null)?.range?.[0];
    return prevEnd !== undefined && start !== undefined && /\n[ \t]*\n/.test(text.slice(Math.max(0, prevEnd - 1), start));
  });
  const one: Record<string, unknown> = {};
  setOwn(one, name, def);
  const body = new Document(one).toString({ lineWidth: 0, indent: step })
    .split('\n').map((l) => (l === '' ? l : ' '.repeat(col) + l)).join('\n');
  let out: string;
  if (replace) {
    const item = stages.items.find((it) => (it.key as { value?: unknown } | null)?.value === name);
    const start = (item?.key as { range?: [number, number, number] } | null)?.range?.[0];
    const end = (item?.value as { range?: [number, number, number] } | null)?.range?.[1];
    if (start === undefined || end === undefined || start - (text.lastIndexOf('\n', start - 1) + 1) !== col) return undefined;
    // The key already stands at its column; a flow value ends without its line's newline.
    const written = body.slice(col);
    out = text.slice(0, start) + (text.slice(start, end).endsWith('\n') ? written : written.replace(/\n$/, '')) + text.slice(end);
  } else {
    const at = stages.range[2];
    let before = text.slice(0, at);
    if (before !== '' && !before.endsWith('\n')) before += '\n';
    if (spaced && !before.endsWith('\n\n')) before += '\n';
    out = before + body + text.slice(at);
  }
  try {
    const v = parseYamlLocated(out, file).value;
    const st = isPlainObject(v) ? v['stages'] : undefined;
    const js = doc.toJS() as unknown;
    if (!isPlainObject(st) || !deepEqual(st[name], JSON.parse(JSON.stringify(def)))) return undefined;
    // Everything else must read back unchanged.
    const others = (o: Record<string, unknown>) => ({
      ...o, stages: Object.fromEntries(Object.entries(isPlainObject(o['stages']) ? o['stages'] : {}).filter(([k]) => k !== name)),
    });
    if (!isPlainObject(js) || !deepEqual(others(v as Record<string, unknown>), others(js))) return undefined;
  } catch {
    return undefined;
  }
  return out;
}

function editWithDocument(text: string, name: string, def: StageDef): string {
  const doc = parseDocument(text);
  setStageNode(doc, name, def);
  return doc.toString({ lineWidth: 0, indent: 2 });
}

function setStageNode(doc: Document, name: string, def: StageDef): void {
  const node = doc.createNode(def);
  if (!isMap(doc.contents)) {
    doc.contents = doc.createNode({ stages: {} }) as typeof doc.contents;
  }
  let stages = doc.get('stages', true);
  if (!isMap(stages)) {
    doc.set('stages', doc.createNode({}));
    stages = doc.get('stages', true);
  }
  // An empty flow mapping (`stages: {}`) would keep the new stage on one line.
  if (isMap(stages) && stages.items.length === 0) stages.flow = false;
  doc.setIn(['stages', name], node);
}

/**
 * Sets or clears `frozen: true` on one stage of rvc.yaml text (`rvc freeze` / `rvc unfreeze`),
 * changing only that line: comments and every other byte stay as they were. `name` is a stage
 * as written (a whole foreach group freezes all its stages). Returns the text unchanged when the
 * stage already is as asked.
 */
export function setStageFrozen(text: string, name: string, frozen: boolean, file: string, opts: ParseOptions = {}): string {
  const before = parseYamlLocated(text, file).value;
  const raw = isPlainObject(before) && isPlainObject(before['stages']) ? before['stages'] : undefined;
  if (!raw || !Object.hasOwn(raw, name)) {
    const gen = parsePipeline(text, file, opts).stages.find((s) => s.name === name)?.generatedFrom?.name;
    throw new RvcError('STAGE_NOT_FOUND', gen !== undefined
      ? `stage '${name}' is generated by '${gen}' in ${file}; only the whole group can be frozen`
      : `stage '${name}' is not defined in ${file}`, {
      path: file, hint: gen !== undefined ? `freeze '${gen}'` : 'run `rvc stage list` to list the stages',
    });
  }
  const outer = raw[name];
  // A foreach group's fields are in its `do:` body.
  const inDo = isPlainObject(outer) && Object.hasOwn(outer, 'foreach');
  const def = inDo ? outer['do'] : outer;
  if (!isPlainObject(outer) || !isPlainObject(def)) throw new RvcError('STAGE_INVALID', `stage '${name}' in ${file} is not a mapping`, { path: file });
  if (frozen ? def['frozen'] === true : !Object.hasOwn(def, 'frozen')) return text;
  const want = (): Record<string, unknown> => {
    const d: Record<string, unknown> = { ...def };
    if (frozen) d['frozen'] = true;
    else delete d['frozen'];
    return { ...before as Record<string, unknown>, stages: { ...raw, [name]: inDo ? { ...outer, do: d } : d } };
  };
  const at = inDo ? ['stages', name, 'do'] : ['stages', name];
  const edited = frozenByText(text, at, frozen);
  if (edited !== undefined) {
    try {
      if (deepEqual(parseYamlLocated(edited, file).value, JSON.parse(JSON.stringify(want())))) return guardYamlOutput(edited, file);
    } catch {
      // fall back to the Document API below
    }
  }
  const doc = parseDocument(text);
  if (frozen) doc.setIn([...at, 'frozen'], true);
  else doc.deleteIn([...at, 'frozen']);
  return guardYamlOutput(doc.toString({ lineWidth: 0, indent: 2 }), file);
}

type Ranged = { range?: [number, number, number] | null };

/** The text edit for setStageFrozen on a block-style stage; undefined when the layout is unusual. */
function frozenByText(text: string, at: string[], frozen: boolean): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return undefined;
  const body = doc.getIn(at, true);
  if (!isMap(body) || body.flow || body.items.length === 0) return undefined;
  const lineStart = (i: number) => text.lastIndexOf('\n', i - 1) + 1;
  const lineEnd = (i: number) => {
    const n = text.indexOf('\n', i);
    return n < 0 ? text.length : n;
  };
  const fp = body.items.find((p) => (p.key as { value?: unknown } | null)?.value === 'frozen');
  if (fp) {
    const k = (fp.key as Ranged | null)?.range;
    const v = (fp.value as Ranged | null)?.range;
    if (!k || !v) return undefined;
    if (frozen) return text.slice(0, v[0]) + 'true' + text.slice(v[1]);
    // The whole `frozen: …` line goes, when nothing else is on it.
    const s = lineStart(k[0]);
    const e = lineEnd(v[1] > v[0] ? v[1] - 1 : v[1]);
    if (text.slice(s, k[0]).trim() !== '' || text.slice(v[1], e).replace(/#.*/, '').trim() !== '') return undefined;
    return text.slice(0, s) + text.slice(Math.min(text.length, e + 1));
  }
  const firstKey = (body.items[0]!.key as Ranged | null)?.range?.[0];
  const last = body.items[body.items.length - 1]!;
  const lastEnd = (last.value as Ranged | null)?.range?.[1] ?? (last.key as Ranged | null)?.range?.[1];
  if (firstKey === undefined || lastEnd === undefined) return undefined;
  const indent = text.slice(lineStart(firstKey), firstKey);
  if (indent.trim() !== '') return undefined;
  // After the line the last field ends on (a block value's range already ends past its newline).
  const pos = text[lastEnd - 1] === '\n' ? lastEnd - 1 : lineEnd(lastEnd);
  return `${text.slice(0, pos)}\n${indent}frozen: true${text.slice(pos)}`;
}

/** Where a plot is defined in a pipeline file: one of a stage's `plots:` entries, or a top-level `plots:` entry. */
export interface PlotLocation {
  /** The stage as written (absent: the top-level `plots:` section). */
  stage?: string;
  /** The entry's key as written: the plots file (relative to the stage's wdir) or the top-level id. */
  id: string;
}

/**
 * Sets and removes options of one plot definition (`rvc plots modify`), changing only the lines
 * of those options: comments and every other byte stay as they were when the layout allows
 * (block style); otherwise the file is re-printed through the YAML Document API. A plots entry
 * written as a bare path (`- loss.csv`) becomes `- loss.csv:` with the options below it.
 */
export function setPlotOptions(text: string, at: PlotLocation, set: Record<string, string>, unset: readonly string[], file: string): string {
  const before = parseYamlLocated(text, file).value;
  const noPlot = () => new RvcError('PATH_NOT_FOUND', `${at.stage !== undefined ? `stage '${at.stage}'` : 'the top-level plots: section'} of ${file} has no plot '${at.id}'`, {
    path: file, hint: 'run `rvc plots show` to list the plots',
  });
  const sectionPath = at.stage !== undefined ? ['stages', at.stage, 'plots'] : ['plots'];
  let section: unknown = before;
  for (const k of sectionPath) section = isPlainObject(section) && Object.hasOwn(section, k) ? section[k] : undefined;
  // The entry: its path in the document, and its options (null for a bare entry).
  let entryPath: (string | number)[] | undefined;
  let inList = false;
  let opts: Record<string, unknown> | null = null;
  if (Array.isArray(section)) {
    section.forEach((e, i) => {
      if (entryPath) return;
      if (e === at.id) { entryPath = [...sectionPath, i]; inList = true; }
      else if (isPlainObject(e) && Object.keys(e).length === 1 && Object.hasOwn(e, at.id)) {
        entryPath = [...sectionPath, i, at.id];
        const o = e[at.id];
        if (o !== null && !isPlainObject(o)) throw new RvcError('PIPELINE_INVALID', `options of plot '${at.id}' in ${file} are not a mapping`, { path: file });
        opts = o as Record<string, unknown> | null;
      }
    });
  } else if (at.stage === undefined && isPlainObject(section) && Object.hasOwn(section, at.id)) {
    entryPath = [...sectionPath, at.id];
    const o = section[at.id];
    if (o !== null && !isPlainObject(o)) throw new RvcError('PIPELINE_INVALID', `options of plot '${at.id}' in ${file} are not a mapping`, { path: file });
    opts = o as Record<string, unknown> | null;
  }
  if (!entryPath) throw noPlot();
  const next: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts ?? {})) if (!unset.includes(k)) setOwn(next, k, v);
  for (const [k, v] of Object.entries(set)) setOwn(next, k, v);
  const wanted = structuredClone(before) as Record<string, unknown>;
  {
    // The entry's parent in the wanted value: the list (a bare entry is replaced) or the mapping holding the id.
    let parent: unknown = wanted;
    for (const k of entryPath.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[k];
    const value = Object.keys(next).length ? next : null;
    if (inList) {
      if (!value) return text;
      const one: Record<string, unknown> = {};
      setOwn(one, at.id, value);
      (parent as unknown[])[entryPath[entryPath.length - 1] as number] = one;
    } else {
      setOwn(parent as Record<string, unknown>, at.id, value);
    }
  }
  const same = (t: string) => {
    try {
      return deepEqual(parseYamlLocated(t, file).value, JSON.parse(JSON.stringify(wanted)));
    } catch {
      return false;
    }
  };
  const edited = plotOptionsByText(text, entryPath, inList, set, unset);
  if (edited !== undefined && same(edited)) return guardYamlOutput(edited, file);
  const doc = parseDocument(text);
  if (inList || opts === null) {
    const one: Record<string, unknown> = {};
    if (inList) setOwn(one, at.id, next);
    doc.setIn(entryPath, doc.createNode(inList ? one : next));
  } else {
    for (const k of unset) doc.deleteIn([...entryPath, k]);
    for (const [k, v] of Object.entries(set)) doc.setIn([...entryPath, k], v);
  }
  const out = doc.toString({ lineWidth: 0, indent: 2 });
  if (!same(out)) throw new RvcError('INTERNAL', `could not edit plot '${at.id}' in ${file}`, { path: file });
  return guardYamlOutput(out, file);
}

const yamlScalar = (v: string): string => stringify(v, { lineWidth: 0 }).trimEnd();

/** The text edit of setPlotOptions on a block-style entry; undefined when the layout is unusual. */
function plotOptionsByText(text: string, entryPath: (string | number)[], inList: boolean, set: Record<string, string>, unset: readonly string[]): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return undefined;
  const lineStart = (i: number) => text.lastIndexOf('\n', i - 1) + 1;
  const lineEnd = (i: number) => {
    const n = text.indexOf('\n', i);
    return n < 0 ? text.length : n;
  };
  const node = doc.getIn(entryPath, true);
  if (inList) {
    // `- loss.csv` becomes `- loss.csv:` with the options indented below the key.
    if (!isScalar(node) || !node.range) return undefined;
    const [s, e] = node.range;
    const col = s - lineStart(s);
    const seq = doc.getIn(entryPath.slice(0, -1), true);
    if (!isSeq(seq) || seq.flow) return undefined;
    const lines = Object.entries(set).map(([k, v]) => `${' '.repeat(col + 2)}${k}: ${yamlScalar(v)}`);
    return `${text.slice(0, e)}:\n${lines.join('\n')}${text.slice(e)}`;
  }
  if (!isMap(node) || node.flow || node.items.length === 0) return undefined;
  const edits: [number, number, string][] = [];
  const firstKey = (node.items[0]!.key as Ranged | null)?.range?.[0];
  if (firstKey === undefined) return undefined;
  const indent = text.slice(lineStart(firstKey), firstKey);
  if (indent.trim() !== '') return undefined;
  const appended: string[] = [];
  for (const [k, v] of Object.entries(set)) {
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === k);
    if (!pair) { appended.push(`${indent}${k}: ${yamlScalar(v)}`); continue; }
    const r = (pair.value as Ranged | null)?.range;
    if (!r || !isScalar(pair.value)) return undefined;
    edits.push([r[0], r[1], yamlScalar(v)]);
  }
  for (const k of unset) {
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === k);
    if (!pair) continue;
    const kr = (pair.key as Ranged | null)?.range;
    const vr = (pair.value as Ranged | null)?.range;
    if (!kr || !vr || !isScalar(pair.value)) return undefined;
    const s = lineStart(kr[0]);
    const e = lineEnd(vr[1]);
    if (text.slice(s, kr[0]).trim() !== '' || text.slice(vr[1], e).replace(/#.*/, '').trim() !== '') return undefined;
    edits.push([s, Math.min(text.length, e + 1), '']);
  }
  if (appended.length) {
    const last = node.items[node.items.length - 1]!;
    const lastEnd = (last.value as Ranged | null)?.range?.[1] ?? (last.key as Ranged | null)?.range?.[1];
    if (lastEnd === undefined) return undefined;
    const pos = text[lastEnd - 1] === '\n' ? lastEnd - 1 : lineEnd(lastEnd);
    edits.push([pos, pos, `\n${appended.join('\n')}`]);
  }
  edits.sort((a, b) => b[0] - a[0]);
  let out = text;
  for (const [s, e, r] of edits) out = out.slice(0, s) + r + out.slice(e);
  return out;
}
