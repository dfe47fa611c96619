import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { EXIT } from '../exit.js';
import type { Output } from '../output.js';
import type { PlotsResult } from '../../index.js';
import type { Ctx } from '../context.js';
/** Points per line of a terminal chart; longer series are thinned to this many. */
const ASCII_WIDTH = 72;

type AsciiChart = { plot(series: number[] | number[][], cfg?: { height?: number; colors?: string[] }): string } & Record<string, string>;

/** Small line charts of the plots that have numbers on both axes, for a terminal. */
function renderAscii(out: Output, r: PlotsResult): void {
  const chart = createRequire(import.meta.url)('asciichart') as AsciiChart;
  const colors = [chart.blue!, chart.red!, chart.green!, chart.magenta!, chart.cyan!, chart.yellow!];
  const codes = ['34', '31', '32', '35', '36', '33'];
  for (const p of r.plots) {
    process.stdout.write(`\n${p.id}\n`);
    const lines = new Map<string, number[]>();
    for (const row of p.rows) {
      if (typeof row.y !== 'number') continue;
      let l = lines.get(row.label);
      if (!l) lines.set(row.label, (l = []));
      l.push(row.y);
    }
    if (!lines.size || p.template.startsWith('confusion') || p.template.startsWith('bar_')) {
      process.stdout.write(p.images ? '  (an image: see `rvc plots show`)\n' : '  (no line to draw in a terminal)\n');
      continue;
    }
    const series = [...lines.values()].map((ys) => {
      if (ys.length <= ASCII_WIDTH) return ys;
      return Array.from({ length: ASCII_WIDTH }, (_, i) => ys[Math.floor((i * (ys.length - 1)) / (ASCII_WIDTH - 1))]!);
    });
    const useColor = out.color;
    process.stdout.write(`${chart.plot(series, { height: 10, ...(useColor ? { colors: colors.slice(0, series.length) } : {}) })}\n`);
    [...lines.keys()].forEach((label, i) => process.stdout.write(`  ${useColor ? out.paint(codes[i % codes.length]!, '─') : `${i + 1}:`} ${label}\n`));
  }
}

/** Opens the page in the system's browser; false (with a message) when there is no way to. */
function openPage(out: Output, file: string): Promise<boolean> {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  return new Promise((resolve) => {
    const child = spawn(opener, [file], { detached: true, stdio: 'ignore' });
    child.once('error', () => {
      out.warn(`no browser could be opened (${opener} is not available); open ${pathToFileURL(file).href} yourself`);
      resolve(false);
    });
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

/** Whether a plot is drawn: asked without reading `spec`, which makes every point a record. */
const drawn = (p: PlotsResult['plots'][number]): boolean => 'spec' in p || !!p.images?.length;

async function finish({ out, flags }: Ctx, r: PlotsResult, none = 'No plots are defined'): Promise<number> {
  const failed = r.plots.filter((p) => !drawn(p));
  if (flags.json) {
    out.json({ plots: r.plots.map((p) => ({ id: p.id, template: p.template, ...('spec' in p ? { spec: p.spec } : {}), ...(p.images ? { images: p.images } : {}), errors: p.errors })), revisions: r.revisions, warnings: r.warnings });
    return failed.length ? EXIT.FAILURE : EXIT.OK;
  }
  for (const w of r.warnings) out.warn(w.message);
  for (const p of r.plots) {
    for (const e of p.errors) {
      if (!drawn(p)) out.error(`plot '${p.id}': ${e.message}`, e.hint);
      else out.warn(`plot '${p.id}': ${e.message}`);
    }
  }
  if (flags.ascii) renderAscii(out, r);
  if (r.page) {
    out.info(r.plots.length ? pathToFileURL(r.page).href : `${none}; wrote an empty page: ${pathToFileURL(r.page).href}`);
    if (flags.open) await openPage(out, r.page);
  }
  return failed.length ? EXIT.FAILURE : EXIT.OK;
}

export async function runPlotsShow(ctx: Ctx, targets: string[]) {
  const f = ctx.flags;
  const page = {
    ...ctx.common, ...(targets.length ? { targets } : {}), out: f.out as string,
    ...(f.htmlTemplate ? { htmlTemplate: f.htmlTemplate as string } : {}), write: !f.json && !f.ascii,
  };
  const scoped = f.num !== undefined || f.allBranches || f.allTags || f.allCommits;
  if (!f.history) {
    if (scoped) throw new ctx.lib.RvcError('USAGE', '-n, -a, -T and -A choose the commits of --history', { hint: 'add --history: `rvc plots show --history -n 20`' });
    return finish(ctx, await ctx.lib.plotsShow(page));
  }
  const num = f.num as number | undefined;
  const r = await ctx.lib.plotsHistory({
    ...page, ...(num !== undefined ? { num } : {}),
    ...(f.allBranches ? { allBranches: true } : {}), ...(f.allTags ? { allTags: true } : {}), ...(f.allCommits ? { allCommits: true } : {}),
  });
  return finish(ctx, r, 'No metric is a number at any of these revisions (metrics files are listed under `metrics:` in rvc.yaml)');
}

export async function runPlotsDiff(ctx: Ctx, revisions: string[]) {
      const f = ctx.flags;
      const targets = f.targets as string[] | undefined;
      const r = await ctx.lib.plotsDiff({
        ...ctx.common, ...(revisions.length ? { revisions } : {}), ...(targets?.length ? { targets } : {}), out: f.out as string,
        ...(f.htmlTemplate ? { htmlTemplate: f.htmlTemplate as string } : {}), write: !f.json && !f.ascii,
      });
      return finish(ctx, r);
    }

export async function runPlotsTemplates({ lib, out, flags, common }: Ctx, name: string | undefined) {
      const r = await lib.plotsTemplates({ ...common, ...(name !== undefined ? { name } : {}), ...(flags.out ? { out: flags.out as string } : {}) });
      if (flags.json) return out.json(r);
      if (r.written.length) {
        for (const f of r.written) out.info(`Wrote ${f}`);
        return;
      }
      if (name !== undefined) {
        if (!flags.quiet) process.stdout.write(r.templates[0]!.text);
        return;
      }
      for (const t of r.templates) out.info(t.name);
    }

export async function runPlotsModify({ lib, out, flags, common }: Ctx, target: string) {
      const r = await lib.plotsModify(target, {
        ...common,
        ...(flags.template !== undefined ? { template: flags.template as string } : {}),
        ...(flags.x !== undefined ? { x: flags.x as string } : {}),
        ...(flags.y !== undefined ? { y: flags.y as string } : {}),
        ...(flags.title !== undefined ? { title: flags.title as string } : {}),
        ...(flags.xLabel !== undefined ? { xLabel: flags.xLabel as string } : {}),
        ...(flags.yLabel !== undefined ? { yLabel: flags.yLabel as string } : {}),
        ...(flags.unset ? { unset: flags.unset as string[] } : {}),
      });
      out.info(r.changed ? `Modified plot '${target}' in ${r.file}.` : `Plot '${target}' in ${r.file} already is so.`);
    }
