import { Command, InvalidArgumentError } from 'commander';
import { lazyAction, parseJobs, withGlobals } from '../context.js';

function parseRuns(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`a whole number of at least 1 is needed, not '${v}'`);
  return n;
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function register(program: Command): void {
  withGlobals(program.command('verify'), { json: true })
    .description('rerun stages in an isolated copy of a commit and check their outputs match rvc.lock')
    .argument('[targets...]', 'stages, pipeline files or outputs (default: every stage rvc.lock records)')
    .option('--runs <n>', 'run each stage n times; runs that differ from each other show the stage is nondeterministic', parseRuns)
    .option('--rev <rev>', 'verify the record of this commit (default HEAD)')
    .option('--tolerance <metric=value>', 'allow a metric to differ by an absolute value (acc=0.001) or a relative one (loss=1%); repeatable', collect)
    .option('--pull', 'first download the dependencies the cache lacks from the remote')
    .option('-r, --remote <name>', 'with --pull: the remote to download from (default: the default remote)')
    .option('-j, --jobs <n>', 'verify up to n stages at once, each in its own copy', parseJobs)
    .action(lazyAction(() => import('../actions/verify.js'), 'runVerify'));
}
