import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('remove').alias('rm'), { json: true })
    .description('stop tracking data: delete its pointer file and .gitignore line, or remove a stage from rvc.yaml and rvc.lock (the data stays unless --outs)')
    .argument('<targets...>', 'pointer files (or the paths they track), or stages (`train`, `sub/rvc.yaml:train`)')
    .option('--outs', 'also delete the tracked data (a stage\'s outputs) from the workspace')
    .action(action(async ({ lib, out, flags, common }, targets: string[]) => {
      const r = await lib.remove(targets, { ...common, outs: !!flags.outs });
      if (flags.json) return out.json(r);
      for (const x of r.removed) {
        if (x.stage !== undefined) out.info(`Removed stage '${x.stage}' from ${x.pointerFile}${x.dataDeleted && x.paths.length ? ` and its outputs ${x.paths.join(', ')}` : ''}`);
        else out.info(`Removed ${x.pointerFile}${x.dataDeleted ? ` and ${x.paths.join(', ')}` : ''}`);
      }
      if (r.toGit.length) {
        out.info('');
        out.info('To record the removal in git, run:');
        out.info(`    git add ${r.toGit.join(' ')}`);
      }
    }));
}
