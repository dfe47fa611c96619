import { Command } from 'commander';
import { action, withGlobals } from '../context.js';

export function register(program: Command): void {
  withGlobals(program.command('version'), { json: true })
    .description('show versions of rvc, Node and the platform, and which cache link types work here')
    .action(action(async ({ lib, out, flags }) => {
      const v = lib.version();
      if (flags.json) return out.json(v);
      out.info(`rvc version: ${v.rvc}`);
      out.info(`Node: ${v.node}`);
      out.info(`Platform: ${v.platform}`);
      out.info(`Supported link types here: ${v.linkTypes.join(', ')}`);
      if (v.repo) out.info(`Repository: ${v.repo.root} (hash: ${v.repo.hash}, cache.type: ${v.repo.cacheType.join(',')})`);
    }));
}
