import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('commit'), { json: true })
    .description('store the current workspace content of tracked data and update the pointers')
    .argument('[targets...]', 'pointer files or tracked paths (default: all)')
    .action(action(async ({ lib, out, flags, common }, targets: string[]) => {
      const r = await lib.commit({ ...common, targets });
      if (flags.json) return out.json(r);
      const changed = r.committed.filter((c) => c.changed);
      for (const c of changed) out.info(`Committed ${c.path} → ${c.pointerFile}`);
      if (!changed.length) out.info('Nothing to commit: the pointers already match the workspace.');
      else {
        out.info('');
        out.info('To track the changes with git, run:');
        out.info(`    git add ${changed.map((c) => c.pointerFile).join(' ')}`);
      }
    }));
}
