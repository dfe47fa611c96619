import fs from 'node:fs';
import path from 'node:path';
import { RvcError, isRvcError, type Failure } from '../errors.js';
import { writeFileAtomic, writeFileAtomicChunks, makeDirs } from '../fsutil/atomic.js';
import { setPlotOptions, type PlotLocation } from '../model/pipeline.js';
import { compareStrings, deepEqual } from '../model/values.js';
import { Repo, type CommonOptions } from '../repo/repo.js';
import { readPipelineCached } from '../repo/project.js';
import { openRepoRemote } from '../repo/remotes.js';
import { fetchObject, type Remote } from '../remote/index.js';
import type { HashAlgo } from '../model/oid.js';
import { metricValues, metricsAtRevisions, metricsFiles, metricsTargets, pipelineAt, revisionSources, scopeRevisions, workspaceSource, type Source } from '../pipeline/compare.js';
import { openHistory } from '../repo/history.js';
import { MAX_PLOT_DATA_BYTES, dataFormatOf, isImageFile, parsePlotTable, tooLarge } from '../plots/data.js';
import { plotDefinitions, selectPlots, type PlotDef } from '../plots/defs.js';
import { BUILTIN_TEMPLATES, parseTemplate, templateText } from '../plots/templates.js';
import { buildPlot, failureOf, type PlotInput, type PlotRow } from '../plots/build.js';
import { PLOT_DIVS, pageParts, type PagePlot } from '../plots/page.js';
import { historyPlots, type HistoryPoint } from '../plots/history.js';

export type { PlotRow } from '../plots/build.js';

/** Folder custom templates are read from (`<name>.json`), under `.rvc/`. */
const TEMPLATES_DIR = 'plots';
export const DEFAULT_PLOTS_DIR = 'rvc_plots';

export interface PlotsShowOptions extends CommonOptions {
  /** Plot ids, data files or folders (relative to `cwd`); default: every plot. A data file no plot names is plotted with the defaults. */
  targets?: string[];
  /** Folder the page is written to (relative to `cwd`); default `rvc_plots`. */
  out?: string;
  /** A user's HTML page with `{plot_divs}` where the plots go. */
  htmlTemplate?: string;
  /** False: build the plots without writing a page (`--json`, `--ascii`). */
  write?: boolean;
}

export interface PlotsDiffOptions extends PlotsShowOptions {
  /** Git revisions to overlay; the workspace is always added. Default: HEAD. */
  revisions?: string[];
}

export interface PlotResult {
  id: string;
  template: string;
  /**
   * The filled Vega-Lite specification, the rows inline; absent (no such property) for images
   * and for plots that could not be drawn. Made when first read: ask `'spec' in plot` to know
   * whether there is one without making it.
   */
  spec?: unknown;
  /** The rows drawn (fields x, y, rev, series, label); made when first read. */
  rows: PlotRow[];
  /** Images: each revision's copy, as a path relative to the page's folder (empty when not written). */
  images?: { rev: string; file: string; src: string }[];
  /** Problems with this plot: with `spec` present, parts of its data left out; without, why it is not drawn. */
  errors: Failure[];
}

export interface PlotsResult {
  /** The revisions read, in order ('workspace' last). */
  revisions: string[];
  plots: PlotResult[];
  /** Absolute path of the page written, when one was. */
  page?: string;
  /** Problems that concern no single plot (a revision defining no plots, a target naming nothing). */
  warnings: Failure[];
}

/** `rvc plots show [targets…]`: the workspace's plots on one offline page. */
export function plotsShow(opts: PlotsShowOptions = {}): Promise<PlotsResult> {
  const repo = Repo.open(opts.cwd);
  return renderPlots(repo, [workspaceSource(repo)], opts);
}

/**
 * `rvc plots diff [revisions…]`: the same plots across git revisions and the workspace, each
 * revision a colour. Every revision's pipeline, lock and plot files come through one git process.
 */
export async function plotsDiff(opts: PlotsDiffOptions = {}): Promise<PlotsResult> {
  const repo = Repo.open(opts.cwd);
  const revs = opts.revisions?.length ? [...new Set(opts.revisions)] : ['HEAD'];
  const history = openHistory(repo.root);
  try {
    const sides = [...await revisionSources(repo, history, revs, !opts.revisions?.length), workspaceSource(repo)];
    return await renderPlots(repo, sides, opts);
  } finally {
    history.close();
  }
}

async function renderPlots(repo: Repo, sides: Source[], opts: PlotsShowOptions): Promise<PlotsResult> {
  const warnings: Failure[] = [];
  // Definitions: the union over the sides; a later side's (the workspace's) wins for an id both define.
  const byId = new Map<string, PlotDef>();
  for (const side of sides) {
    let defs: PlotDef[] = [];
    try {
      defs = plotDefinitions(pipelineAt(side));
    } catch (e) {
      // The workspace's pipeline files must read; a revision's broken one is said and skipped.
      if (side.label === 'workspace') throw e;
      warnings.push(failureOf(e));
    }
    if (!defs.length && sides.length > 1) {
      warnings.push({ code: 'PATH_NOT_FOUND', message: `${side.label === 'workspace' ? 'the workspace' : `revision ${side.label}`} defines no plots` });
    }
    for (const d of defs) byId.set(d.id, d);
  }
  let defs = expandFolders(repo, [...byId.values()]).sort((a, b) => compareStrings(a.id, b.id));
  if (opts.targets?.length) {
    const rels = opts.targets.map((t) => repo.resolve(t, opts.cwd).rel);
    const { selected, unknown } = selectPlots(defs, rels);
    defs = selected;
    for (const t of unknown) {
      // A data file no plot names is plotted with the defaults, as DVC does.
      if (sides.some((s) => s.read(t) !== undefined || (s.label === 'workspace' && fs.existsSync(path.join(repo.root, t))))) {
        defs.push({ id: t, definedIn: '', level: 'top', image: isImageFile(t), series: [{ file: t }], template: 'linear' });
      } else {
        throw new RvcError('PATH_NOT_FOUND', `'${t}' is neither a plot nor a data file`, { path: t, hint: 'name a plot or a data file (`rvc plots show` shows every plot)' });
      }
    }
  }
  // Every revision's plot files through the sides' one git process, not one per file.
  const files = [...new Set(defs.flatMap((d) => (d.image ? [d.id] : d.series.map((x) => x.file))))];
  await Promise.all(sides.map((side) => side.prefetch?.(files)));
  const unfetched = await fetchMissing(repo, sides, defs);
  const outDir = path.resolve(opts.cwd ?? process.cwd(), opts.out ?? DEFAULT_PLOTS_DIR);
  const write = opts.write !== false;
  const htmlTemplate = readHtmlTemplate(opts);
  const templates = new Map<string, { name: string; spec: unknown } | Failure>();
  const templateOf = (name: string) => {
    let t = templates.get(name);
    if (!t) {
      try {
        t = { name, spec: loadTemplate(repo, name) };
      } catch (e) {
        t = failureOf(e);
      }
      templates.set(name, t);
    }
    return t;
  };
  // The columns the plots read of each data file (the others are read only if asked for).
  const used = new Map<string, { cols: Set<string>; last: boolean }>();
  for (const d of defs) {
    for (const s of d.image ? [] : d.series) {
      let u = used.get(s.file);
      if (!u) used.set(s.file, (u = { cols: new Set(), last: false }));
      if (s.x !== undefined) u.cols.add(s.x);
      if (s.y) for (const y of s.y) u.cols.add(y);
      else u.last = true;
    }
  }
  const only = (file: string) => (names: readonly string[]): ReadonlySet<string> => {
    const u = used.get(file)!;
    return u.last && names.length ? new Set([...u.cols, names[names.length - 1]!]) : u.cols;
  };
  const texts = new Map<string, PlotInput>();
  const input = (side: Source, file: string, header: boolean | undefined): PlotInput => {
    const key = `${side.label}\0${file}\0${header}`;
    let r = texts.get(key);
    if (!r) {
      r = unfetched.get(`${side.label}\0${file}`) ?? readInput(repo, side, file, header, only(file));
      texts.set(key, r);
    }
    return r;
  };
  const plots: PlotResult[] = [];
  /** Each drawn plot's specification with its data as columns, for the page. */
  const frames = new Map<PlotResult, unknown>();
  const pending: { plot: PlotResult; copies: { bytes: Buffer; to: string }[] }[] = [];
  for (const def of defs) {
    if (def.image) {
      const images: NonNullable<PlotResult['images']> = [];
      const errors: Failure[] = [];
      const copies: { bytes: Buffer; to: string }[] = [];
      for (const side of sides) {
        const miss = unfetched.get(`${side.label}\0${def.id}`) ?? (side.label === 'workspace' ? errorInput(side, def.id, outsideLink(repo, def.id)) : undefined);
        const bytes = miss ? undefined : side.readBytes(def.id);
        if (!bytes) {
          errors.push(miss?.error ?? (side.label === 'workspace'
            ? { code: 'PATH_NOT_FOUND', path: def.id, message: `image '${def.id}' does not exist`, hint: 'run the stage that writes it (`rvc repro`)' }
            : { code: 'PATH_NOT_FOUND', path: def.id, message: `image '${def.id}' does not exist at revision ${side.label}` }));
          continue;
        }
        const src = `static/${safeName(side.label)}_${safeName(def.id)}`;
        images.push({ rev: side.label, file: def.id, src });
        copies.push({ bytes, to: path.join(outDir, src) });
      }
      const plot: PlotResult = { id: def.id, template: 'image', rows: [], images, errors };
      plots.push(plot);
      pending.push({ plot, copies });
      continue;
    }
    const inputs: PlotInput[] = [];
    for (const side of sides) for (const s of def.series) inputs.push(input(side, s.file, def.header));
    const built = buildPlot(def, inputs, templateOf(def.template));
    // Rows and the spec with the rows inline are made only when read (--json, --ascii, a library
    // caller): the page writes the columns.
    const plot = { id: def.id, template: def.template, errors: built.errors } as PlotResult;
    Object.defineProperty(plot, 'rows', { get: () => built.rows, enumerable: true });
    if (built.frame !== undefined) {
      Object.defineProperty(plot, 'spec', { get: () => built.spec, enumerable: true });
      frames.set(plot, built.frame);
    }
    plots.push(plot);
  }
  const res: PlotsResult = { revisions: sides.map((s) => s.label), plots, warnings };
  if (!write) return res;
  // Images first, then the page in one atomic write: a reader sees the old page or the whole new one.
  for (const { copies } of pending) {
    for (const c of copies) {
      makeDirs(path.dirname(c.to));
      writeFileAtomic(c.to, c.bytes, { fsync: false });
    }
  }
  res.page = writePage(plots, outDir, htmlTemplate, frames);
  return res;
}

/** A user's HTML page for the plots (`--html-template`), read and checked before anything is written. */
function readHtmlTemplate(opts: PlotsShowOptions): string | undefined {
  if (opts.htmlTemplate === undefined) return undefined;
  const f = path.resolve(opts.cwd ?? process.cwd(), opts.htmlTemplate);
  let text: string;
  try {
    text = fs.readFileSync(f, 'utf8');
  } catch {
    throw new RvcError('PATH_NOT_FOUND', `HTML template '${opts.htmlTemplate}' cannot be read`, { path: opts.htmlTemplate, hint: 'name an HTML file holding {plot_divs}' });
  }
  if (!text.includes(PLOT_DIVS)) {
    throw new RvcError('USAGE', `HTML template '${opts.htmlTemplate}' has no ${PLOT_DIVS} placeholder`, { path: opts.htmlTemplate, hint: `put ${PLOT_DIVS} where the plots go` });
  }
  return text;
}

/**
 * The page of `plots`, written in one atomic write as `outDir/index.html`; its absolute path.
 * A plot in `frames` is written from its columns.
 */
function writePage(plots: readonly PlotResult[], outDir: string, htmlTemplate: string | undefined, frames?: ReadonlyMap<PlotResult, unknown>): string {
  const page: PagePlot[] = plots.map((p) => ({
    id: p.id,
    ...(frames?.has(p) ? { spec: frames.get(p) } : p.spec !== undefined ? { spec: p.spec } : {}),
    ...(p.images?.length ? { images: p.images.map((i) => ({ rev: i.rev, src: i.src })) } : {}),
    messages: p.errors.map((e) => e.message),
  }));
  makeDirs(outDir);
  const file = path.join(outDir, 'index.html');
  const parts = pageParts(page, htmlTemplate !== undefined ? { htmlTemplate } : {});
  writeFileAtomicChunks(file, (write) => { for (const p of parts) write(p); }, { fsync: false });
  return file;
}

export interface PlotsHistoryOptions extends PlotsShowOptions {
  /** The last `num` commits of HEAD (default 20 when no other scope is given). */
  num?: number;
  /** Also the tip of every local branch. */
  allBranches?: boolean;
  /** Also every tag. */
  allTags?: boolean;
  /** Also every commit. */
  allCommits?: boolean;
}

/**
 * `rvc plots show --history`: every numeric metric of the metrics files (or of the files named
 * in `targets`) against the commits of a scope, oldest to newest, one plot per metric, the
 * workspace last when its metrics differ from HEAD's. All revisions are read through one git
 * process, as `metrics show -n` reads them.
 */
export async function plotsHistory(opts: PlotsHistoryOptions = {}): Promise<PlotsResult> {
  const repo = Repo.open(opts.cwd);
  const htmlTemplate = readHtmlTemplate(opts);
  const ws = workspaceSource(repo);
  const files = opts.targets?.length ? metricsTargets(repo, ws, metricsFiles([pipelineAt(ws)]), opts.targets, opts.cwd) : undefined;
  const wsRead = metricValues(ws, files ?? metricsFiles([pipelineAt(ws)]), true);
  const scoped = opts.allBranches || opts.allTags || opts.allCommits;
  const num = opts.num ?? (scoped ? undefined : 20);
  if (num !== undefined && (!Number.isInteger(num) || num < 1)) {
    throw new RvcError('USAGE', `-n must be a whole number of commits, at least 1 (got ${num})`, { hint: 'e.g. `rvc plots show --history -n 20`' });
  }
  const history = openHistory(repo.root);
  const warnings: Failure[] = [];
  let points: HistoryPoint[];
  try {
    const revs = scopeRevisions(history, { ...(num !== undefined ? { num } : {}), ...(opts.allBranches ? { allBranches: true } : {}), ...(opts.allTags ? { allTags: true } : {}), ...(opts.allCommits ? { allCommits: true } : {}) });
    const read = await metricsAtRevisions(repo, history, revs, files);
    const dates = await Promise.all(revs.map(async (r) => (await history.commitInfo(r.commit)).date));
    const at = revs.map((r, i) => ({ r, date: dates[i]!, m: read[i]! }));
    // HEAD's recent history in its own order (oldest first); other commits placed by date among them.
    const ordered = at.filter((e) => e.r.line !== undefined).sort((a, b) => b.r.line! - a.r.line!);
    const others = at.filter((e) => e.r.line === undefined).sort((a, b) => a.date.localeCompare(b.date) || compareStrings(a.r.label, b.r.label));
    for (const o of others) {
      const i = ordered.findIndex((e) => e.date > o.date);
      ordered.splice(i < 0 ? ordered.length : i, 0, o);
    }
    const seen = new Set<string>(['workspace']);
    points = ordered.map(({ r, date, m }) => {
      for (const e of m.errors) warnings.push({ code: e.code, path: e.path, message: `${e.message} (at ${r.label})` });
      const label = seen.has(r.label) ? `${r.label} (${r.commit.slice(0, 7)})` : r.label;
      seen.add(label);
      return { label, rev: r.commit, date, values: m.values };
    });
    const head = history.head();
    const headValues = head !== undefined ? at.find((e) => e.r.commit === head)?.m.values : undefined;
    warnings.push(...wsRead.errors);
    // A workspace without any metrics file (outputs not produced yet) adds an empty column: left out.
    const wsHas = Object.values(wsRead.values).some((v) => Object.keys(v).length > 0);
    if (wsHas && (headValues === undefined || !deepEqual(headValues, wsRead.values))) points.push({ label: 'workspace', rev: 'workspace', date: '', values: wsRead.values });
  } finally {
    history.close();
  }
  const plots: PlotResult[] = historyPlots(points).map((p) => ({ id: p.id, template: 'history', spec: p.spec, rows: p.rows, errors: p.errors }));
  const res: PlotsResult = { revisions: points.map((p) => p.label), plots, warnings };
  if (opts.write === false) return res;
  res.page = writePage(plots, path.resolve(opts.cwd ?? process.cwd(), opts.out ?? DEFAULT_PLOTS_DIR), htmlTemplate);
  return res;
}

/**
 * Stage outputs a revision records but neither git nor the cache has are fetched from the
 * default remote first (one object each, verified); what cannot be fetched is returned as the
 * input's error, keyed `rev\0file`.
 */
async function fetchMissing(repo: Repo, sides: readonly Source[], defs: readonly PlotDef[]): Promise<Map<string, PlotInput>> {
  const res = new Map<string, PlotInput>();
  const wanted: { side: Source; file: string; obj: { hash: HashAlgo; oid: string } }[] = [];
  for (const side of sides) {
    for (const d of defs) {
      for (const file of new Set([d.id, ...d.series.map((s) => s.file)])) {
        const obj = side.missingObject(file);
        if (obj) wanted.push({ side, file, obj });
      }
    }
  }
  if (!wanted.length) return res;
  let remote: Remote | undefined;
  let why = 'no default remote is set to fetch it from';
  if (repo.config.core.remote) {
    try {
      remote = (await openRepoRemote(repo, undefined)).remote;
    } catch (e) {
      why = `the default remote cannot be opened: ${failureOf(e).message}`;
    }
  }
  for (const w of wanted) {
    let err = why;
    if (remote) {
      try {
        await fetchObject(repo.odbFor(w.obj.hash), remote, w.obj.oid);
        continue;
      } catch (e) {
        err = `fetching it from the default remote failed: ${failureOf(e).message}`;
      }
    }
    res.set(`${w.side.label}\0${w.file}`, {
      rev: w.side.label, file: w.file,
      error: { code: 'OBJECT_MISSING', path: w.file, message: `'${w.file}' at revision ${w.side.label} is not in the cache and ${err}`, hint: `\`rvc fetch --rev ${w.side.label}\`` },
    });
  }
  return res;
}

/**
 * A plot whose id is a folder of the workspace (DVCLive's `dvclive/plots/metrics`) stands for
 * each data file and image below it, with the folder's options; at other revisions the same
 * file names are read.
 */
function expandFolders(repo: Repo, defs: readonly PlotDef[]): PlotDef[] {
  return defs.flatMap((d) => {
    const only = d.series.length === 1 && d.series[0]!.file === d.id ? d.series[0]! : undefined;
    if (!only || d.image || dataFormatOf(d.id) !== undefined) return [d];
    let names: string[];
    try {
      if (!fs.statSync(path.join(repo.root, d.id)).isDirectory()) return [d];
      names = (fs.readdirSync(path.join(repo.root, d.id), { recursive: true }) as string[]).map((n) => n.split(path.sep).join('/'));
    } catch {
      return [d];
    }
    const files = names.map((n) => `${d.id}/${n}`).filter((f) => dataFormatOf(f) !== undefined || isImageFile(f)).sort(compareStrings);
    return files.map((f) => ({ ...d, id: f, image: isImageFile(f), series: [{ ...only, file: f }] }));
  });
}

function errorInput(side: Source, file: string, error: Failure | undefined): PlotInput | undefined {
  return error ? { rev: side.label, file, error } : undefined;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}

/**
 * A workspace plot file that is a symbolic link must lead inside the repository or the cache
 * (rvc's own links): a plot file of someone else's repository cannot copy a file from elsewhere
 * on the machine into the page.
 */
function outsideLink(repo: Repo, rel: string): Failure | undefined {
  const real = repo.linkOutside(rel);
  if (real === undefined) return undefined;
  return { code: 'PATH_IS_SYMLINK', path: rel, message: `plot file '${rel}' is a symbolic link to '${real}', outside the repository`, hint: 'copy the file into the repository' };
}

function readInput(repo: Repo, side: Source, file: string, header: boolean | undefined, only: (names: readonly string[]) => ReadonlySet<string>): PlotInput {
  const rev = side.label;
  try {
    if (rev === 'workspace') {
      const link = outsideLink(repo, file);
      if (link) return { rev, file, error: link };
      // Refused by size before it is read: a page cannot carry it anyway.
      let size = -1;
      try {
        size = fs.statSync(path.join(repo.root, file)).size;
      } catch {
        // missing: reported below
      }
      if (size > MAX_PLOT_DATA_BYTES) return { rev, file, error: failureOf(tooLarge(file, size)) };
    }
    // A revision's file as the bytes git gave (CSV and TSV are parsed from them without decoding).
    const text = rev === 'workspace' ? side.read(file) : side.readBytes(file);
    if (text === undefined) {
      return { rev, file, error: rev === 'workspace'
        ? { code: 'PATH_NOT_FOUND', path: file, message: `plot data file '${file}' does not exist`, hint: 'run the stage that writes it (`rvc repro`)' }
        : { code: 'PATH_NOT_FOUND', path: file, message: `plot data file '${file}' does not exist at revision ${rev}` } };
    }
    return { rev, file, table: parsePlotTable(text, file, { ...(header !== undefined ? { header } : {}), ...(rev !== 'workspace' ? { at: rev } : {}), only }) };
  } catch (e) {
    if (isRvcError(e, 'REV_NOT_FOUND')) throw e;
    return { rev, file, error: failureOf(e) };
  }
}

/** A template by name: `.rvc/plots/<name>.json` when there is one, else a built-in one, else a JSON file of the repository. */
function loadTemplate(repo: Repo, name: string): unknown {
  const custom = path.join(repo.rvcDir, TEMPLATES_DIR, `${name}.json`);
  const safe = /^[A-Za-z0-9_.-]+$/.test(name) && !name.startsWith('.');
  if (safe && fs.existsSync(custom)) return parseTemplate(fs.readFileSync(custom, 'utf8'), `.rvc/${TEMPLATES_DIR}/${name}.json`);
  if (Object.hasOwn(BUILTIN_TEMPLATES, name)) return BUILTIN_TEMPLATES[name];
  if (name.endsWith('.json')) {
    const { abs, rel } = repo.resolve(name, repo.root);
    if (fs.existsSync(abs)) return parseTemplate(fs.readFileSync(abs, 'utf8'), rel);
  }
  throw new RvcError('PLOT_INVALID', `plot template '${name}' does not exist`, {
    path: name, hint: `use a built-in template (${Object.keys(BUILTIN_TEMPLATES).join(', ')}) or write one to .rvc/${TEMPLATES_DIR}/${name}.json`,
  });
}

export interface PlotsTemplatesOptions extends CommonOptions {
  /** One template; default every built-in one. */
  name?: string;
  /** Folder to write `<name>.json` files to (relative to `cwd`); default: none (return them). */
  out?: string;
}

export interface PlotsTemplatesResult {
  templates: { name: string; text: string }[];
  /** Files written, absolute paths. */
  written: string[];
}

/** `rvc plots templates [name] [-o dir]`: the built-in templates (a custom one by name too), as text or written as files. */
export function plotsTemplates(opts: PlotsTemplatesOptions = {}): PlotsTemplatesResult {
  let templates: { name: string; text: string }[];
  if (opts.name !== undefined) {
    let spec: unknown;
    if (Object.hasOwn(BUILTIN_TEMPLATES, opts.name)) spec = BUILTIN_TEMPLATES[opts.name];
    else spec = loadTemplate(Repo.open(opts.cwd), opts.name);
    templates = [{ name: opts.name, text: templateText(spec) }];
  } else {
    templates = Object.entries(BUILTIN_TEMPLATES).map(([name, spec]) => ({ name, text: templateText(spec) }));
  }
  const written: string[] = [];
  if (opts.out !== undefined) {
    const dir = path.resolve(opts.cwd ?? process.cwd(), opts.out);
    makeDirs(dir);
    for (const t of templates) {
      const f = path.join(dir, `${path.basename(t.name).replace(/\.json$/, '')}.json`);
      writeFileAtomic(f, t.text);
      written.push(f);
    }
  }
  return { templates, written };
}

export interface PlotsModifyOptions extends CommonOptions {
  template?: string;
  x?: string;
  y?: string;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Option names to remove (x, y, template, title, x_label, y_label). */
  unset?: string[];
}

export interface PlotsModifyResult {
  /** The pipeline file edited (repository path), and whether it changed. */
  file: string;
  changed: boolean;
}

const MODIFY_KEYS = ['x', 'y', 'template', 'title', 'x_label', 'y_label'];

/** `rvc plots modify <target>`: sets or removes options of one plot definition in its pipeline file, keeping every other byte. */
export function plotsModify(target: string, opts: PlotsModifyOptions = {}): Promise<PlotsModifyResult> {
  const set: Record<string, string> = {};
  const put = (k: string, v: string | undefined) => { if (v !== undefined) set[k] = v; };
  put('template', opts.template); put('x', opts.x); put('y', opts.y); put('title', opts.title); put('x_label', opts.xLabel); put('y_label', opts.yLabel);
  const unset = opts.unset ?? [];
  for (const k of unset) {
    if (!MODIFY_KEYS.includes(k)) throw new RvcError('USAGE', `'${k}' is not a plot option`, { hint: `options are: ${MODIFY_KEYS.join(', ')}` });
    if (Object.hasOwn(set, k)) throw new RvcError('USAGE', `'${k}' is both set and unset`, { hint: `give either the value or --unset ${k}` });
  }
  if (!Object.keys(set).length && !unset.length) {
    throw new RvcError('USAGE', 'nothing to modify', { hint: `e.g. \`rvc plots modify ${target} -x step -y loss\`` });
  }
  const repo = Repo.open(opts.cwd);
  return repo.withLock('rvc plots modify', opts, () => {
    const pipe = readPipelineCached(repo);
    const rel = repo.resolve(target, opts.cwd).rel;
    let file: string | undefined;
    let at: PlotLocation | undefined;
    for (const st of pipe?.stages ?? []) {
      const p = st.plots.find((o) => o.repoPath === rel);
      if (!p) continue;
      if (st.generatedFrom) {
        throw new RvcError('STAGE_NOT_FOUND', `plot '${target}' belongs to stage '${st.name}', which '${st.generatedFrom.name}' generates; edit that definition in ${st.file}`, { path: st.file });
      }
      file = st.file;
      at = { stage: st.local, id: p.path };
      break;
    }
    if (!at) {
      const defs = plotDefinitions(pipe);
      const d = defs.find((x) => x.level === 'top' && (x.id === rel || x.id === target));
      const top = d && pipe?.plots.find((p) => p.file === d.definedIn && (p.id === target || plotDefinitions({ ...pipe, stages: [], plots: [p] })[0]?.id === d.id));
      if (top) {
        file = top.file;
        at = { id: top.id };
      }
    }
    if (!at || !file) {
      throw new RvcError('PATH_NOT_FOUND', `'${target}' is not a plot of a pipeline file`, { path: target, hint: 'name a plots output of a stage or a top-level plot (`rvc plots show` lists them)' });
    }
    const before = fs.readFileSync(path.join(repo.root, file), 'utf8');
    const text = setPlotOptions(before, at, set, unset, file);
    if (text === before) return { file, changed: false };
    writeFileAtomic(path.join(repo.root, file), text);
    return { file, changed: true };
  });
}
