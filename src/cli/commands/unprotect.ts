import { Command } from 'commander';
import { action, withGlobals } from '../context.js';
import { plural } from '../output.js';

export function register(program: Command): void {
  withGlobals(program.command('unprotect'), { json: true })
    .description('turn linked workspace files into private writable copies, so they can be edited')
    .argument('<targets...>', 'tracked paths or files inside tracked folders')
    .action(action(async ({ lib, out, flags, common }, targets: string[]) => {
      const r = await lib.unprotect(targets, common);
      if (flags.json) return out.json(r);
      out.info(`Unprotected ${plural(r.unprotected.length, 'file')}.`);
    }));
}
