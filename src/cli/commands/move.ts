import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('move').alias('mv'), { json: true })
    .description('rename tracked data together with its pointer file')
    .argument('<src>', 'tracked path or its pointer file')
    .argument('<dst>', 'new path (or an existing folder to move into)')
    .action(action(async ({ lib, out, flags, common }, src: string, dst: string) => {
      const r = await lib.move(src, dst, common);
      if (flags.json) return out.json(r);
      out.info(`Moved ${r.from} → ${r.to} (pointer: ${r.pointerFile})`);
    }));
}
