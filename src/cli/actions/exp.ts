import { DEFAULT_PRECISION, type Ctx } from '../context.js';
import { EXIT } from '../exit.js';
import { fmtChange, fmtMetric } from './metrics.js';
import { gridFormat, renderGrid } from './grid.js';
import { renderTable } from './params.js';
import { fmtValue } from './repro.js';
import { expRemoveQueued, expRunQueued } from './queue.js';
import type { ExpRow, ExpShareOptions, ExpShowResult, SyncResult } from '../../index.js';

/** A metric cell of a replicate group: `mean ± std [low, high]` (the 95 % interval of the mean). */
function fmtSummary(s: { n: number; mean: number; std?: number; ci95?: [number, number] }, precision: number): string {
  const f = (x: number): string => fmtMetric(x, precision);
  return s.std === undefined || !s.ci95 ? f(s.mean) : `${f(s.mean)} ± ${f(s.std)} [${f(s.ci95[0])}, ${f(s.ci95[1])}]`;
}

/** The rows of `exp show` as text cells: experiments under their baseline, or replicate groups in their place. */
function expShowGrid(r: ExpShowResult, precision: number, tree: boolean): string[][] {
  const { params, metrics } = r.columns;
  const groups = r.groups;
  const head = ['Experiment', 'rev', 'Created', 'State', ...(groups ? ['n'] : []), ...metrics, ...params];
  const cell = (v: unknown, metric: boolean): string => (v === undefined ? '-' : metric ? fmtMetric(v, precision) : fmtValue(v));
  const line = (x: ExpRow, name: string, n?: number): string[] => [
    name, x.kind === 'workspace' ? '-' : x.rev.slice(0, 7), x.created ? x.created.slice(0, 19).replace('T', ' ') : '-', x.state ?? '-',
    ...(groups ? [n === undefined ? '-' : String(n)] : []),
    ...metrics.map((c) => cell(x.metrics[c], true)), ...params.map((c) => cell(x.params[c], false)),
  ];
  // Each row's line, and whether it hangs under a baseline (drawn as a tree in the aligned table).
  const lines: { cells: string[]; child: boolean }[] = [];
  for (const x of r.rows) {
    if (x.kind === 'workspace' || x.kind === 'baseline') {
      lines.push({ cells: line(x, x.name), child: false });
      continue;
    }
    const g = groups && x.kind === 'experiment' ? groups.find((y) => y.baseline === x.baseline && y.members.includes(x.name)) : undefined;
    if (!g) {
      lines.push({ cells: line(x, x.name), child: true });
      continue;
    }
    // A replicate group is shown once, on the line of its first member.
    if (g.members[0] !== x.name) continue;
    const cells = line(x, `${x.name}${g.members.length > 1 ? ` (+${g.members.length - 1})` : ''}`, g.members.length);
    for (const c of metrics) if (g.metrics[c]) cells[head.indexOf(c)] = fmtSummary(g.metrics[c]!, precision);
    for (const [c, vals] of Object.entries(g.replicateValues)) if (head.includes(c)) cells[head.indexOf(c)] = vals.map((v) => cell(v, false)).join(',');
    lines.push({ cells, child: true });
  }
  if (tree) {
    lines.forEach((l, i) => {
      if (l.child) l.cells[0] = `${lines[i + 1]?.child ? '├── ' : '└── '}${l.cells[0]!}`;
    });
  }
  return [head, ...lines.map((l) => l.cells)];
}

/** `data` of exp push/pull: one line on what moved, as push and fetch say it. */
function reportData(out: Ctx['out'], verb: 'pushed' | 'fetched', r: { data?: SyncResult }): number {
  if (!r.data) return EXIT.OK;
  if (r.data.failedCount) {
    for (const f of r.data.failed) out.error(`${f.paths[0] ?? f.oid}: ${f.message}`, f.hint);
    out.error(`${r.data.failedCount} object(s) failed; ${r.data.transferred} file(s) ${verb}`, 'run the same command again to retry what is missing');
    return EXIT.FAILURE;
  }
  out.info(r.data.transferred ? `${r.data.transferred} file(s) ${verb}` : 'Data: everything is up to date.');
  return EXIT.OK;
}

function shareArgs(ctx: Ctx, gitRemote: string, names: string[]): ExpShareOptions {
  const { flags, common } = ctx;
  return {
    ...common, gitRemote, names, ...(flags.all ? { all: true } : {}), ...(flags.cache === false ? { noCache: true } : {}),
    ...(flags.remote !== undefined ? { remote: String(flags.remote) } : {}), ...(flags.runCache ? { runCache: true } : {}),
    ...(flags.force ? { force: true } : {}), ...(flags.jobs !== undefined ? { jobs: flags.jobs as number } : {}),
  };
}

export async function runExpRun(ctx: Ctx, targets: string[]) {
      const { lib, out, flags, common } = ctx;
      if (flags.queue || flags.temp || flags.runAll) return expRunQueued(ctx, targets);
      const runs = await lib.expandSweeps(flags.setParam as string[]);
      const results = [];
      // A sweep in the workspace runs one after the other, each saved; -n names them name-1, name-2, ….
      for (const [i, overrides] of runs.entries()) {
        const r = await lib.runExperiment({
          ...common, targets, overrides,
          ...(flags.name !== undefined ? { name: runs.length > 1 ? `${String(flags.name)}-${i + 1}` : String(flags.name) } : {}),
          ...(flags.message !== undefined ? { message: String(flags.message) } : {}),
          ...(flags.force ? { force: true } : {}),
        });
        results.push(r);
        if (flags.json) continue;
        if (r.identicalTo) out.info(`Identical to experiment '${r.identicalTo.name}' (${r.identicalTo.commit.slice(0, 7)}): not run again (use -f to run it anyway)`);
        else if (r.experiment) out.info(`Ran experiment '${r.experiment.name}' (${r.experiment.commit.slice(0, 7)}) of baseline ${r.experiment.baseline.slice(0, 7)}`);
      }
      if (flags.json) out.json(results.map((r) => ({ experiment: r.experiment, identicalTo: r.identicalTo, paramsChanged: r.paramsChanged })));
    }

export async function runExpSave({ lib, out, flags, common }: Ctx) {
      const r = await lib.saveExperiment({
        ...common, includeUntracked: flags.includeUntracked as string[],
        ...(flags.name !== undefined ? { name: String(flags.name) } : {}),
        ...(flags.message !== undefined ? { message: String(flags.message) } : {}),
        ...(flags.force ? { force: true } : {}),
      });
      if (flags.json) return out.json(r);
      if (r.committed.length) out.info(`Stored ${r.committed.length === 1 ? `'${r.committed[0]}'` : `${r.committed.length} outputs`} in the cache first`);
      for (const st of r.stale) out.warn(`stage '${st}' is saved stale: its inputs changed but none of its outputs did (\`rvc exp run\` runs it)`);
      out.info(`Saved experiment '${r.experiment.name}' (${r.experiment.commit.slice(0, 7)}) of baseline ${r.experiment.baseline.slice(0, 7)}`);
    }

export async function runExpList({ lib, out, flags, common }: Ctx, gitRemote: string | undefined) {
      if (gitRemote !== undefined) {
        const list = await lib.expListRemote({ gitRemote });
        if (flags.json) return out.json(list);
        let last = '';
        for (const e of list) {
          if (flags.nameOnly) {
            out.info(e.name);
            continue;
          }
          if (e.baseline !== last) out.info(`${e.baseline.slice(0, 7)}:`);
          last = e.baseline;
          out.info(`\t${e.name}  ${e.commit.slice(0, 7)}`);
        }
        return;
      }
      const r = await lib.listExperiments({ ...common, all: !!flags.allCommits, ...(flags.rev ? { rev: String(flags.rev) } : {}) });
      if (flags.json) return out.json(r);
      for (const b of r.baselines) {
        if (flags.nameOnly) {
          for (const e of b.experiments) out.info(e.name);
          continue;
        }
        if (!b.experiments.length) continue;
        out.info(`${b.names.length ? b.names.join(', ') : b.baseline.slice(0, 7)} (${b.baseline.slice(0, 7)}):`);
        for (const e of b.experiments) out.info(`\t${e.name}\t${e.commit.slice(0, 7)}`);
      }
      if (!flags.nameOnly && r.baselines.every((b) => !b.experiments.length)) out.info(flags.allCommits ? 'No experiments.' : 'No experiments of HEAD (use -A for every baseline).');
    }

export async function runExpRemove(ctx: Ctx, experiments: string[]) {
      const { lib, out, flags, common } = ctx;
      if (flags.queue) return expRemoveQueued(ctx);
      if (flags.gitRemote !== undefined) {
        const gitRemote = String(flags.gitRemote);
        const removed = await lib.expRemoveRemote({ gitRemote, names: experiments, ...(flags.all ? { all: true } : {}) });
        if (flags.json) return out.json(removed);
        for (const e of removed) out.info(`Removed experiment '${e.name}' from ${gitRemote}`);
        return;
      }
      const r = await lib.removeExperiments({ ...common, experiments, all: !!flags.all, revs: flags.rev as string[] });
      if (flags.json) return out.json(r);
      for (const e of r.removed) out.info(`Removed experiment '${e.name}' (${e.commit.slice(0, 7)})`);
      if (!r.removed.length) out.info('No experiments to remove.');
    }

export async function runExpRename({ lib, out, flags, common }: Ctx, experiment: string, name: string) {
      const r = await lib.renameExperiment({ ...common, experiment, name });
      if (flags.json) return out.json(r);
      out.info(`Renamed experiment '${r.from.name}' to '${r.to.name}'`);
    }

export async function runExpBranch({ lib, out, flags, common }: Ctx, experiment: string, branch: string) {
      const r = await lib.branchExperiment({ ...common, experiment, branch });
      if (flags.json) return out.json(r);
      out.info(`Branch '${r.branch}' created at experiment '${r.experiment.name}' (${r.experiment.commit.slice(0, 7)})`);
    }

export async function runExpClean({ lib, out, flags, common }: Ctx) {
      const r = await lib.cleanExperiments(common);
      if (flags.json) return out.json(r);
      out.info(`Removed ${r.indexes.length} stale index file(s) and ${r.copies.length} stale run folder(s).`);
    }

export async function runExpApply({ lib, out, flags, common }: Ctx, experiment: string) {
      const r = await lib.applyExperiment({ ...common, experiment, ...(flags.force ? { force: true } : {}), ...(flags.remote ? { remote: String(flags.remote) } : {}) });
      if (flags.json) return out.json(r);
      for (const f of r.written) out.detail(`wrote ${f}`);
      for (const f of r.deleted) out.detail(`removed ${f}`);
      if (r.fetched) out.info(`Fetched ${r.fetched} object(s) the cache lacked.`);
      out.info(`Applied experiment '${r.experiment.name}' (${r.experiment.commit.slice(0, 7)}): ${r.written.length} file(s) written, ${r.deleted.length} removed, ${r.checkout.outs.length} output(s) checked out.`);
    }

export async function runExpDiff({ lib, out, flags, common }: Ctx, a: string | undefined, b: string | undefined) {
      const precision = (flags.precision as number | undefined) ?? DEFAULT_PRECISION;
      const r = await lib.expDiff({ ...common, ...(a ? { a } : {}), ...(b ? { b } : {}), all: !!flags.all });
      if (flags.json) return out.json(r);
      for (const e of r.errors) out.warn(e.message);
      if (!r.params.length && !r.metrics.length) return out.info(`No params or metrics changed between ${r.a} and ${r.b}.`);
      if (flags.quiet) return;
      if (r.params.length) process.stdout.write(renderTable([['Path', 'Param', r.a, r.b], ...r.params.map((c) => [c.file, c.key, fmtValue(c.old), fmtValue(c.new)])], !!flags.md));
      if (r.params.length && r.metrics.length) process.stdout.write('\n');
      if (r.metrics.length) process.stdout.write(renderTable([['Path', 'Metric', r.a, r.b, 'Change'], ...r.metrics.map((c) => [c.path, c.key, fmtMetric(c.old, precision), fmtMetric(c.new, precision), fmtChange(c.change, precision)])], !!flags.md));
    }

export async function runExpShow({ lib, out, flags, common }: Ctx, gitRemote: string | undefined) {
      const precision = (flags.precision as number | undefined) ?? DEFAULT_PRECISION;
      const r = await lib.expShow({
        ...common,
        ...(flags.allBranches ? { allBranches: true } : {}), ...(flags.allTags ? { allTags: true } : {}), ...(flags.allCommits ? { allCommits: true } : {}),
        ...(flags.num !== undefined ? { num: flags.num as number } : {}),
        ...(flags.sortBy !== undefined ? { sortBy: String(flags.sortBy) } : {}),
        ...(flags.sortOrder !== undefined ? { sortOrder: flags.sortOrder as 'asc' | 'desc' } : {}),
        ...(flags.onlyChanged ? { onlyChanged: true } : {}),
        ...(flags.keep !== undefined ? { keep: String(flags.keep) } : {}), ...(flags.drop !== undefined ? { drop: String(flags.drop) } : {}),
        ...(flags.replicates !== undefined ? { replicates: flags.replicates as string[] } : {}),
        ...(gitRemote !== undefined ? { gitRemote } : {}),
      });
      if (flags.json) return out.json(r);
      const format = gridFormat(flags);
      if (!flags.quiet) process.stdout.write(renderGrid(expShowGrid(r, precision, format === 'table'), format));
      for (const x of r.rows) if (x.error && x.state !== 'failed') out.warn(`${x.name}: ${x.error}`);
      return EXIT.OK;
    }

export async function runExpPush(ctx: Ctx, gitRemote: string, names: string[]) {
      const r = await ctx.lib.expPush(shareArgs(ctx, gitRemote, names));
      if (ctx.flags.json) {
        ctx.out.json(r);
        return r.data?.failedCount ? EXIT.FAILURE : EXIT.OK;
      }
      const code = reportData(ctx.out, 'pushed', r);
      for (const e of r.experiments) ctx.out.info(`Pushed experiment '${e.name}' (${e.commit.slice(0, 7)}) to ${gitRemote}`);
      if (!r.experiments.length) ctx.out.info('No experiments to push.');
      return code;
    }

export async function runExpPull(ctx: Ctx, gitRemote: string, names: string[]) {
      const r = await ctx.lib.expPull(shareArgs(ctx, gitRemote, names));
      if (ctx.flags.json) {
        ctx.out.json(r);
        return r.data?.failedCount ? EXIT.FAILURE : EXIT.OK;
      }
      for (const e of r.experiments) ctx.out.info(`Pulled experiment '${e.name}' (${e.commit.slice(0, 7)}) of baseline ${e.baseline.slice(0, 7)}`);
      if (!r.experiments.length) ctx.out.info('No experiments to pull.');
      return reportData(ctx.out, 'fetched', r);
    }
