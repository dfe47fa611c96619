import { Command } from 'commander';
import { action, parseJobs, withGlobals } from '../context.js';
import { expRunQueued } from './queue.js';

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
    .option('--queue', 'add the run(s) to the queue instead of running now (see `rvc queue`)')
    .option('--temp', 'run now in an isolated copy of the workspace, leaving the workspace as it is')
    .option('--run-all', 'run every queued experiment now, in the foreground')
    .option('-j, --jobs <n>', 'with --run-all or --temp: experiments run at once', parseJobs)
    .action(action(async (ctx, targets: string[]) => {
      const { lib, out, flags, common } = ctx;
      if (flags.queue || flags.temp || flags.runAll) return expRunQueued(ctx, targets);
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
}
