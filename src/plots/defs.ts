/**
 * The plots a project defines, from its pipeline files: the top-level `plots:` entries (a data
 * file, or a named plot whose `y` maps data files to columns) and every stage's `plots:` outputs.
 * Pure: the merged pipeline in, plot definitions out.
 */
import { joinRepoPath } from '../model/paths.js';
import { pipelineDirOf } from '../model/names.js';
import { compareStrings } from '../model/values.js';
import type { ProjectPipeline } from '../model/pipeline.js';
import { DEFAULT_TEMPLATE } from './templates.js';
import { isImageFile } from './data.js';

export interface PlotSeriesDef {
  /** Repository path of the data file. */
  file: string;
  /** Column on the x axis; absent: the row's index (`step`). */
  x?: string;
  /** Columns on the y axis; absent: the file's last column. */
  y?: string[];
}

export interface PlotDef {
  /** The plot's id: a data file's repository path, or the name of a top-level plot. */
  id: string;
  /** The pipeline file that defines it, and whether as a stage output or at the top level. */
  definedIn: string;
  level: 'top' | 'stage';
  /** An image file, shown as it is. */
  image: boolean;
  series: PlotSeriesDef[];
  template: string;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** CSV/TSV: whether the first line names the columns (default true). */
  header?: boolean;
}

const list = (y: string | string[] | undefined): string[] | undefined => (y === undefined ? undefined : Array.isArray(y) ? y : [y]);

/** Every plot the pipeline defines, sorted by id; a top-level definition of a stage's plot file replaces the stage's. */
export function plotDefinitions(pipe: ProjectPipeline | undefined): PlotDef[] {
  const byId = new Map<string, PlotDef>();
  for (const st of pipe?.stages ?? []) {
    for (const p of st.plots) {
      const o = p.plot ?? {};
      byId.set(p.repoPath, {
        id: p.repoPath, definedIn: st.file, level: 'stage', image: isImageFile(p.repoPath),
        series: [{ file: p.repoPath, ...(o.x !== undefined ? { x: o.x } : {}), ...(o.y !== undefined ? { y: [o.y] } : {}) }],
        template: o.template ?? DEFAULT_TEMPLATE,
        ...(o.title !== undefined ? { title: o.title } : {}),
        ...(o.x_label !== undefined ? { xLabel: o.x_label } : {}),
        ...(o.y_label !== undefined ? { yLabel: o.y_label } : {}),
        ...(o.header !== undefined ? { header: o.header } : {}),
      });
    }
  }
  for (const p of pipe?.plots ?? []) {
    const dir = pipelineDirOf(p.file);
    const at = (f: string) => joinRepoPath(dir, f) ?? f;
    const common = {
      definedIn: p.file, level: 'top' as const, template: p.template ?? DEFAULT_TEMPLATE,
      ...(p.title !== undefined ? { title: p.title } : {}),
      ...(p.x_label !== undefined ? { xLabel: p.x_label } : {}),
      ...(p.y_label !== undefined ? { yLabel: p.y_label } : {}),
    };
    const xOf = (file: string): string | undefined => {
      if (typeof p.x === 'string') return p.x;
      if (p.x) for (const [f, c] of Object.entries(p.x)) if (at(f) === file) return c;
      return undefined;
    };
    if (p.y !== undefined && typeof p.y === 'object' && !Array.isArray(p.y)) {
      const series = Object.entries(p.y).map(([f, cols]) => {
        const file = at(f);
        const x = xOf(file);
        return { file, ...(x !== undefined ? { x } : {}), y: list(cols)! };
      });
      byId.set(p.id, { id: p.id, image: false, series, ...common });
    } else {
      const file = at(p.id);
      const x = xOf(file);
      const y = list(p.y);
      byId.set(file, { id: file, image: isImageFile(file), series: [{ file, ...(x !== undefined ? { x } : {}), ...(y ? { y } : {}) }], ...common });
    }
  }
  return [...byId.values()].sort((a, b) => compareStrings(a.id, b.id));
}

/**
 * The plots `targets` (repository paths) select: a plot id, a data file one uses, or a folder
 * holding such files. Targets that select nothing are returned apart.
 */
export function selectPlots(defs: readonly PlotDef[], targets: readonly string[]): { selected: PlotDef[]; unknown: string[] } {
  const unknown: string[] = [];
  const keep = new Set<PlotDef>();
  for (const t of targets) {
    const inside = (f: string) => t === '' || t === '.' || f === t || f.startsWith(`${t}/`);
    const hits = defs.filter((d) => d.id === t || inside(d.id) || d.series.some((s) => inside(s.file)));
    if (!hits.length) unknown.push(t);
    for (const d of hits) keep.add(d);
  }
  return { selected: defs.filter((d) => keep.has(d)), unknown };
}
