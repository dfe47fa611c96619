import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function register(program: Command): void {
  const stage = program.command('stage').description('add and list the stages of the pipeline files (rvc.yaml in any folder)').enablePositionalOptions();

  withGlobals(stage.command('add'), { json: true })
    .description('add a stage to rvc.yaml (the command comes last; options after it belong to the command)')
    .requiredOption('-n, --name <name>', 'stage name')
    .option('-d, --deps <path>', 'a file or folder the command reads (repeatable)', collect)
    .option('-o, --outs <path>', 'an output, stored in the cache (repeatable)', collect)
    .option('-O, --outs-no-cache <path>', 'an output hashed and recorded but not cached (repeatable)', collect)
    .option('--outs-persist <path>', 'an output the command updates in place: not removed before running', collect)
    .option('--outs-persist-no-cache <path>', 'a persistent output that is not cached', collect)
    .option('-m, --metrics <path>', 'a metrics file (JSON or YAML), cached (repeatable)', collect)
    .option('-M, --metrics-no-cache <path>', 'a metrics file kept in git instead of the cache (repeatable)', collect)
    .option('-p, --params <spec>', 'params the command reads: `lr,epochs` (params.yaml), `file.yaml:lr`, `file.json:` for all keys (repeatable)', collect)
    .option('-e, --env <NAME[=default]>', 'an environment variable the command depends on (repeatable)', collect)
    .option('-w, --wdir <dir>', 'directory the command runs in; other paths are relative to it')
    .option('--desc <text>', 'a description of the stage')
    .option('--always-changed', 'always consider the stage stale')
    .option('-f, --force', 'replace a stage of the same name')
    .option('--run', 'then run the stage (not its upstream stages) and record it in rvc.lock')
    .argument('<command...>', 'the command, run with `sh -c` (quote it to keep shell operators out of your shell)')
    .passThroughOptions()
    .action(lazyAction(() => import('../actions/stage.js'), 'runStageAdd'));

  withGlobals(stage.command('list'), { json: true })
    .description('list the stages of the pipeline files in this folder and below, with what they read and write')
    .option('-P, --all-pipelines', 'the stages of every pipeline file of the project')
    .action(lazyAction(() => import('../actions/stage.js'), 'runStageList'));
}
