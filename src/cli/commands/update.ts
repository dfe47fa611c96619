import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('update'), { json: true })
    .description('move imported data to the newest version of its source (or to another revision with --rev)')
    .argument('<targets...>', 'import pointer files, or the paths they track')
    .option('--rev <rev>', 'follow this branch, tag or commit of the source from now on')
    .option('-f, --force', 'overwrite workspace changes that are not in the cache')
    .action(action(async ({ lib, out, flags, common }, targets: string[]) => {
      const r = await lib.update({
        ...common, targets,
        ...(flags.rev !== undefined ? { rev: String(flags.rev) } : {}),
        ...(flags.force ? { force: true } : {}),
      });
      if (flags.json) return out.json(r);
      for (const u of r.updated) {
        if (!u.changed && u.from === u.to && !u.dataChanged) out.info(`${u.path}: up to date (${u.to.slice(0, 8)})`);
        else out.info(`${u.path}: ${u.from.slice(0, 8)} → ${u.to.slice(0, 8)}${u.dataChanged ? '' : ' (data unchanged)'}`);
      }
    }));
}
