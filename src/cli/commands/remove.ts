import { Command } from 'commander';
import { lazyAction, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('remove').alias('rm'), { json: true })
    .description('stop tracking data: delete its pointer file and .gitignore line, or remove a stage from rvc.yaml and rvc.lock (the data stays unless --outs)')
    .argument('<targets...>', 'pointer files (or the paths they track), or stages (`train`, `sub/rvc.yaml:train`)')
    .option('--outs', 'also delete the tracked data (a stage\'s outputs) from the workspace')
    .action(lazyAction(() => import('../actions/remove.js'), 'runRemove'));
}
