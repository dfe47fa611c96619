import { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { action, parseJobs, withGlobals, type Ctx } from '../context.js';
import { EXIT } from '../exit.js';
import { fmtMetric, parsePrecision, DEFAULT_PRECISION } from './metrics.js';
import { gridFormat, renderGrid } from './grid.js';
import { fmtValue } from './repro.js';
import type { ExpRow, ExpShareOptions, ExpShowResult, SyncResult } from '../../index.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function register(program: Command): void {
  const exp = program.command('exp').description('run, compare and keep experiments: pipeline runs saved as commits under refs/exps/, never on a branch');

  withGlobals(exp.command('run'), { json: true })
    .description('run the pipeline with parameter overrides and save the result as an experiment of HEAD')
    .argument('[targets...]', 'stages or outputs to reproduce (default: every stage)')
    .option('-S, --set-param <[file:]key=value>', 'override a parameter (YAML-typed value); `a=1,2` runs once per value; `+key=v` adds a new key', collect, [])
    .option('-n, --name <name>', 'name of the experiment (default: a generated one)')
    .option('-m, --message <text>', 'first line of the experiment commit message')
    .option('-f, --force', 'run even when an identical experiment exists; replace one of the same name')
    .action(action(async ({ lib, out, flags, common }, targets: string[]) => {
      const runs = await lib.expandSweeps(flags.setParam as string[]);
      const results = [];
      for (const overrides of runs) {
        const r = await lib.runExperiment({
          ...common, targets, overrides,
          ...(flags.name !== undefined ? { name: String(flags.name) } : {}),
          ...(flags.message !== undefined ? { message: String(flags.message) } : {}),
          ...(flags.force ? { force: true } : {}),
        });
        results.push(r);
        if (flags.json) continue;
        if (r.identicalTo) out.info(`Identical to experiment '${r.identicalTo.name}' (${r.identicalTo.commit.slice(0, 7)}): not run again (use -f to run it anyway)`);
        else if (r.experiment) out.info(`Ran experiment '${r.experiment.name}' (${r.experiment.commit.slice(0, 7)}) of baseline ${r.experiment.baseline.slice(0, 7)}`);
      }
      if (flags.json) out.json(results.map((r) => ({ experiment: r.experiment, identicalTo: r.identicalTo, paramsChanged: r.paramsChanged })));
    }));
  registerShow(exp);
  registerShare(exp);
}

function parseCount(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError(`a positive whole number is needed, not '${v}'`);
  return n;
}

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

function registerShow(exp: Command): void {
  withGlobals(exp.command('show'), { json: true })
    .description('a table of the baseline(s) and their experiments with every metric and param')
    .option('-a, --all-branches', 'the tip of every local branch as a baseline')
    .option('-T, --all-tags', 'every tag as a baseline')
    .option('-A, --all-commits', 'every commit as a baseline')
    .option('-n, --num <n>', 'the last n commits of HEAD as baselines', parseCount)
    .option('--csv', 'print CSV')
    .option('--md', 'print a Markdown table')
    .option('--sort-by <column>', 'sort the experiments of each baseline by a metric or param (`metrics.json:acc`, or `acc` when unambiguous)')
    .option('--sort-order <order>', 'asc or desc (default asc)', (v: string) => {
      if (v !== 'asc' && v !== 'desc') throw new InvalidArgumentError(`asc or desc, not '${v}'`);
      return v;
    })
    .option('--only-changed', 'leave out the columns whose value is the same in every row')
    .option('--keep <regex>', 'always show the columns whose name matches (over --drop and --only-changed)')
    .option('--drop <regex>', 'leave out the columns whose name matches')
    .option('--precision <n>', `round numbers to n digits after the decimal point (default ${DEFAULT_PRECISION})`, parsePrecision)
    .option('--replicates <key>', 'a param that only repeats a run (e.g. seed; repeatable; default: config exp.replicates): experiments differing only in it are one row with n, mean ± std and 95 % interval', collect)
    .action(action(async ({ lib, out, flags, common }) => {
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
      });
      if (flags.json) return out.json(r);
      const format = gridFormat(flags);
      if (!flags.quiet) process.stdout.write(renderGrid(expShowGrid(r, precision, format === 'table'), format));
      for (const x of r.rows) if (x.error && x.state !== 'failed') out.warn(`${x.name}: ${x.error}`);
      return EXIT.OK;
    }));
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

function shareOptions(cmd: Command): Command {
  return cmd
    .argument('<git-remote>', 'a git remote (name or URL)')
    .argument('[experiments...]', 'experiment names, refs or commit prefixes')
    .option('-A, --all', 'every experiment')
    .option('--no-cache', 'only the git refs: no data to or from the rvc remote')
    .option('-r, --remote <name>', 'rvc remote for the data (default: core.remote)')
    .option('--run-cache', 'also transfer the run-cache')
    .option('-f, --force', 'replace experiment refs of the same name that point elsewhere')
    .option('-j, --jobs <n>', 'concurrent transfers', parseJobs);
}

function shareArgs(ctx: Ctx, gitRemote: string, names: string[]): ExpShareOptions {
  const { flags, common } = ctx;
  return {
    ...common, gitRemote, names, ...(flags.all ? { all: true } : {}), ...(flags.cache === false ? { noCache: true } : {}),
    ...(flags.remote !== undefined ? { remote: String(flags.remote) } : {}), ...(flags.runCache ? { runCache: true } : {}),
    ...(flags.force ? { force: true } : {}), ...(flags.jobs !== undefined ? { jobs: flags.jobs as number } : {}),
  };
}

function registerShare(exp: Command): void {
  shareOptions(withGlobals(exp.command('push'), { json: true }))
    .description('send experiments to a git remote (their refs) and their data to the rvc remote')
    .action(action(async (ctx, gitRemote: string, names: string[]) => {
      const r = await ctx.lib.expPush(shareArgs(ctx, gitRemote, names));
      if (ctx.flags.json) {
        ctx.out.json(r);
        return r.data?.failedCount ? EXIT.FAILURE : EXIT.OK;
      }
      const code = reportData(ctx.out, 'pushed', r);
      for (const e of r.experiments) ctx.out.info(`Pushed experiment '${e.name}' (${e.commit.slice(0, 7)}) to ${gitRemote}`);
      if (!r.experiments.length) ctx.out.info('No experiments to push.');
      return code;
    }));

  shareOptions(withGlobals(exp.command('pull'), { json: true }))
    .description('bring experiments from a git remote (their refs) and their data from the rvc remote')
    .action(action(async (ctx, gitRemote: string, names: string[]) => {
      const r = await ctx.lib.expPull(shareArgs(ctx, gitRemote, names));
      if (ctx.flags.json) {
        ctx.out.json(r);
        return r.data?.failedCount ? EXIT.FAILURE : EXIT.OK;
      }
      for (const e of r.experiments) ctx.out.info(`Pulled experiment '${e.name}' (${e.commit.slice(0, 7)}) of baseline ${e.baseline.slice(0, 7)}`);
      if (!r.experiments.length) ctx.out.info('No experiments to pull.');
      return reportData(ctx.out, 'fetched', r);
    }));

  withGlobals(exp.command('list'), { json: true })
    .description('the experiments a git remote holds (`git ls-remote`; `rvc exp show` lists this repository\'s)')
    .argument('<git-remote>', 'a git remote (name or URL)')
    .option('--name-only', 'only the names')
    .action(action(async ({ lib, out, flags }, gitRemote: string) => {
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
    }));

  withGlobals(exp.command('remove'), { json: true })
    .description('delete experiments: with -g, their refs on a git remote')
    .argument('[experiments...]', 'experiment names, refs or commit prefixes')
    .requiredOption('-g, --git-remote <remote>', 'the git remote to delete them from')
    .option('-A, --all', 'every experiment the git remote holds')
    .action(action(async ({ lib, out, flags }, names: string[]) => {
      const gitRemote = String(flags.gitRemote);
      const removed = await lib.expRemoveRemote({ gitRemote, names, ...(flags.all ? { all: true } : {}) });
      if (flags.json) return out.json(removed);
      for (const e of removed) out.info(`Removed experiment '${e.name}' from ${gitRemote}`);
    }));
}
