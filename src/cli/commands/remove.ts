import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('remove').alias('rm'), { json: true })
    .description('stop tracking data: delete its pointer file and .gitignore line (the data stays unless --outs)')
    .argument('<targets...>', 'pointer files (or the paths they track)')
    .option('--outs', 'also delete the tracked data from the workspace')
    .action(action(async ({ lib, out, flags, common }, targets: string[]) => {
      const r = await lib.remove(targets, { ...common, outs: !!flags.outs });
      if (flags.json) return out.json(r);
      for (const x of r.removed) out.info(`Removed ${x.pointerFile}${x.dataDeleted ? ` and ${x.paths.join(', ')}` : ''}`);
      if (r.toGit.length) {
        out.info('');
        out.info('To record the removal in git, run:');
        out.info(`    git add ${r.toGit.join(' ')}`);
      }
    }));
}
