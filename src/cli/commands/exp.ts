import { Command } from 'commander';
import { action, parseJobs, withGlobals } from '../context.js';
import { DEFAULT_PRECISION, fmtChange, fmtMetric, parsePrecision } from './metrics.js';
import { renderTable } from './params.js';
import { fmtValue } from './repro.js';
import { expRemoveQueued, expRunQueued } from './queue.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function register(program: Command): void {
  const exp = program.command('exp').alias('experiments').description('run, compare and keep experiments: pipeline runs saved as commits under refs/exps/, never on a branch');

  withGlobals(exp.command('run'), { json: true })
    .description('run the pipeline with parameter overrides and save the result as an experiment of HEAD')
    .argument('[targets...]', 'stages or outputs to reproduce (default: every stage)')
    .option('-S, --set-param <[file:]key=value>', 'override a parameter (YAML-typed value); `a=1,2` runs once per value; `+key=v` adds a new key', collect, [])
    .option('-n, --name <name>', 'name of the experiment (default: a generated one)')
    .option('-m, --message <text>', 'first line of the experiment commit message')
    .option('-f, --force', 'run even when an identical experiment exists; replace one of the same name')
    .option('--queue', 'add the run(s) to the queue instead of running now (see `rvc queue`)')
    .option('--temp', 'run now in an isolated copy of the workspace, leaving the workspace as it is')
    .option('--run-all', 'run every queued experiment now, in the foreground')
    .option('-j, --jobs <n>', 'with --run-all or --temp: experiments run at once', parseJobs)
    .action(action(async (ctx, targets: string[]) => {
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
    }));
  registerCore(exp);
}

/** exp save, list, remove, rename, branch, clean, apply, diff. */
function registerCore(exp: Command): void {
  withGlobals(exp.command('save'), { json: true })
    .description('record the workspace as it is (params, code, pointers, rvc.lock, metrics) as an experiment of HEAD, without running anything')
    .option('-n, --name <name>', 'name of the experiment (default: a generated one)')
    .option('-m, --message <text>', 'first line of the experiment commit message')
    .option('-f, --force', 'replace an experiment of HEAD with the same name')
    .option('-I, --include-untracked <path>', 'also record this path even though git ignores it (repeatable)', collect, [])
    .action(action(async ({ lib, out, flags, common }) => {
      const r = await lib.saveExperiment({
        ...common, includeUntracked: flags.includeUntracked as string[],
        ...(flags.name !== undefined ? { name: String(flags.name) } : {}),
        ...(flags.message !== undefined ? { message: String(flags.message) } : {}),
        ...(flags.force ? { force: true } : {}),
      });
      if (flags.json) return out.json(r);
      out.info(`Saved experiment '${r.experiment.name}' (${r.experiment.commit.slice(0, 7)}) of baseline ${r.experiment.baseline.slice(0, 7)}`);
    }));

  withGlobals(exp.command('list').alias('ls'), { json: true })
    .description("list experiments: HEAD's by default, every baseline's with -A")
    .option('-A, --all-commits', 'the experiments of every baseline, grouped by baseline')
    .option('--rev <rev>', 'the experiments of this revision instead of HEAD')
    .option('--name-only', 'only the names, one a line')
    .action(action(async ({ lib, out, flags, common }) => {
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
    }));

  withGlobals(exp.command('remove').alias('rm'), { json: true })
    .description('delete experiments (their data stays in the cache until `rvc gc`)')
    .argument('[experiments...]', 'experiments by name, ref or commit id')
    .option('-A, --all', 'every experiment of every baseline')
    .option('--rev <rev>', 'every experiment of this baseline (repeatable)', collect, [])
    .option('--queue', 'remove the queued experiments that have not started (as `rvc queue remove --queued`)')
    .action(action(async (ctx, experiments: string[]) => {
      const { lib, out, flags, common } = ctx;
      if (flags.queue) return expRemoveQueued(ctx);
      const r = await lib.removeExperiments({ ...common, experiments, all: !!flags.all, revs: flags.rev as string[] });
      if (flags.json) return out.json(r);
      for (const e of r.removed) out.info(`Removed experiment '${e.name}' (${e.commit.slice(0, 7)})`);
      if (!r.removed.length) out.info('No experiments to remove.');
    }));

  withGlobals(exp.command('rename'), { json: true })
    .description('give an experiment another name (refused when its baseline has that name)')
    .argument('<experiment>', 'the experiment')
    .argument('<name>', 'its new name')
    .action(action(async ({ lib, out, flags, common }, experiment: string, name: string) => {
      const r = await lib.renameExperiment({ ...common, experiment, name });
      if (flags.json) return out.json(r);
      out.info(`Renamed experiment '${r.from.name}' to '${r.to.name}'`);
    }));

  withGlobals(exp.command('branch'), { json: true })
    .description("create a git branch at an experiment's commit (refused when the branch exists)")
    .argument('<experiment>', 'the experiment')
    .argument('<branch>', 'the new branch')
    .action(action(async ({ lib, out, flags, common }, experiment: string, branch: string) => {
      const r = await lib.branchExperiment({ ...common, experiment, branch });
      if (flags.json) return out.json(r);
      out.info(`Branch '${r.branch}' created at experiment '${r.experiment.name}' (${r.experiment.commit.slice(0, 7)})`);
    }));

  withGlobals(exp.command('clean'), { json: true })
    .description('remove what killed experiment runs left: stale private index files and copies whose process is gone')
    .action(action(async ({ lib, out, flags, common }) => {
      const r = await lib.cleanExperiments(common);
      if (flags.json) return out.json(r);
      out.info(`Removed ${r.indexes.length} stale index file(s) and ${r.copies.length} stale run folder(s).`);
    }));

  withGlobals(exp.command('apply'), { json: true })
    .description("write an experiment's params, code and outputs into the workspace (not the index, not HEAD)")
    .argument('<experiment>', 'the experiment')
    .option('-f, --force', 'overwrite unsaved edits in the files the experiment changes')
    .option('-r, --remote <name>', 'remote to fetch missing outputs from (default: core.remote)')
    .action(action(async ({ lib, out, flags, common }, experiment: string) => {
      const r = await lib.applyExperiment({ ...common, experiment, ...(flags.force ? { force: true } : {}), ...(flags.remote ? { remote: String(flags.remote) } : {}) });
      if (flags.json) return out.json(r);
      for (const f of r.written) out.detail(`wrote ${f}`);
      for (const f of r.deleted) out.detail(`removed ${f}`);
      if (r.fetched) out.info(`Fetched ${r.fetched} object(s) the cache lacked.`);
      out.info(`Applied experiment '${r.experiment.name}' (${r.experiment.commit.slice(0, 7)}): ${r.written.length} file(s) written, ${r.deleted.length} removed, ${r.checkout.outs.length} output(s) checked out.`);
    }));

  withGlobals(exp.command('diff'), { json: true })
    .description('params and metrics of two experiments (default: an experiment and its baseline; no argument: HEAD and the workspace)')
    .argument('[a]', 'the old side: an experiment or revision (alone, an experiment is compared with its baseline)')
    .argument('[b]', 'the new side (default: the workspace)')
    .option('-a, --all', 'list unchanged params and metrics too')
    .option('--md', 'print Markdown tables')
    .option('--precision <n>', `round numbers to n digits after the decimal point (default ${DEFAULT_PRECISION})`, parsePrecision)
    .action(action(async ({ lib, out, flags, common }, a: string | undefined, b: string | undefined) => {
      const precision = (flags.precision as number | undefined) ?? DEFAULT_PRECISION;
      const r = await lib.expDiff({ ...common, ...(a ? { a } : {}), ...(b ? { b } : {}), all: !!flags.all });
      if (flags.json) return out.json(r);
      for (const e of r.errors) out.warn(e.message);
      if (!r.params.length && !r.metrics.length) return out.info(`No params or metrics changed between ${r.a} and ${r.b}.`);
      if (flags.quiet) return;
      if (r.params.length) process.stdout.write(renderTable([['Path', 'Param', r.a, r.b], ...r.params.map((c) => [c.file, c.key, fmtValue(c.old), fmtValue(c.new)])], !!flags.md));
      if (r.params.length && r.metrics.length) process.stdout.write('\n');
      if (r.metrics.length) process.stdout.write(renderTable([['Path', 'Metric', r.a, r.b, 'Change'], ...r.metrics.map((c) => [c.path, c.key, fmtMetric(c.old, precision), fmtMetric(c.new, precision), fmtChange(c.change, precision)])], !!flags.md));
    }));
}
