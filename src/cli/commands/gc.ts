import { Command } from 'commander';
import { action, withGlobals } from '../context.js';
import { fmtBytes, plural } from '../output.js';

export function register(program: Command): void {
  withGlobals(program.command('gc'), { json: true })
    .description('delete cache objects that nothing in the chosen scope references')
    .option('-w, --workspace', 'keep what the pointers in the workspace reference')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('-c, --cloud', 'also delete unreferenced objects from the remote')
    .option('-r, --remote <name>', 'remote for --cloud (default: core.remote)')
    .action(action(async ({ lib, out, flags, common }) => {
      const r = await lib.gc({ ...common, workspace: !!flags.workspace, dryRun: !!flags.dryRun, cloud: !!flags.cloud, ...(flags.remote ? { remote: String(flags.remote) } : {}) });
      if (flags.json) return out.json(r);
      for (const x of r.removed) out.detail(`${r.dryRun ? 'would remove' : 'removed'} ${x.oid} (${fmtBytes(x.size)})`);
      const verb = r.dryRun ? 'Would remove' : 'Removed';
      out.info(`${verb} ${plural(r.removed.length, 'object')} (${fmtBytes(r.bytes)}); kept ${plural(r.kept, 'object')}.`);
      if (r.cloud) out.info(`${verb} ${plural(r.cloud.removed.length, 'object')} from remote '${r.cloud.remote}'; kept ${plural(r.cloud.kept, 'object')} there.`);
      if (r.leftovers) out.info(`${r.dryRun ? 'Would clean' : 'Cleaned'} ${plural(r.leftovers, 'temporary file')} of interrupted writes.`);
    }));
}
