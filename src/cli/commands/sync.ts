import { Command } from 'commander';
import { action, withGlobals, type Ctx } from '../context.js';
import { EXIT } from '../exit.js';
import { plural } from '../output.js';
import type { SyncResult } from '../../index.js';

function syncOptions(cmd: Command): Command {
  return cmd
    .argument('[targets...]', 'pointer files, tracked paths, or files inside a tracked folder (default: all)')
    .option('-r, --remote <name>', 'remote to use (default: core.remote)')
    .option('-j, --jobs <n>', 'concurrent transfers (default: the remote\'s jobs, 4 × cores)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--jobs must be a positive integer, not '${v}'`);
      return n;
    });
}

function report(ctx: Ctx, r: SyncResult, verb: string): number {
  const { out } = ctx;
  for (const f of r.failed) out.error(`${f.paths.length ? f.paths.join(', ') : f.oid}: ${f.message}`);
  if (r.failed.length) {
    out.error(`${plural(r.failed.length, 'object')} failed; ${plural(r.transferred, 'file')} ${verb}`, 'run the same command again to retry what is missing');
    return EXIT.FAILURE;
  }
  out.info(r.transferred ? `${plural(r.transferred, 'file')} ${verb}` : 'Everything is up to date.');
  return EXIT.OK;
}

export function register(program: Command): void {
  syncOptions(withGlobals(program.command('push'), { json: true }))
    .description('upload the cache objects of tracked data to a remote (only what it lacks)')
    .action(action(async (ctx, targets: string[]) => {
      const { lib, out, flags, common } = ctx;
      const r = await lib.push({ ...common, targets, ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}) });
      if (flags.json) {
        out.json(r);
        return r.failed.length ? EXIT.FAILURE : EXIT.OK;
      }
      return report(ctx, r, 'pushed');
    }));
  syncOptions(withGlobals(program.command('fetch'), { json: true }))
    .description('download missing cache objects of tracked data from a remote (the workspace is not changed)')
    .action(action(async (ctx, targets: string[]) => {
      const { lib, out, flags, common } = ctx;
      const r = await lib.fetch({ ...common, targets, ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}) });
      if (flags.json) {
        out.json(r);
        return r.failed.length ? EXIT.FAILURE : EXIT.OK;
      }
      return report(ctx, r, 'fetched');
    }));
  syncOptions(withGlobals(program.command('pull'), { json: true }))
    .description('fetch, then checkout: get the data of the current pointers into the workspace')
    .option('-f, --force', 'overwrite workspace changes that are not in the cache')
    .action(action(async (ctx, targets: string[]) => {
      const { lib, out, flags, common } = ctx;
      const r = await lib.pull({ ...common, targets, force: !!flags.force, ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}) });
      if (flags.json) {
        out.json(r);
        return r.failed.length || r.checkout.failed ? EXIT.FAILURE : EXIT.OK;
      }
      for (const o of r.checkout.outs) {
        if (o.error) out.error(`${o.path}: ${o.error.message}`, o.error.hint);
        else if (o.added + o.modified + o.deleted) out.info(`M       ${o.path} (${o.added} added, ${o.modified} modified, ${o.deleted} deleted)`);
      }
      const code = report(ctx, r, 'fetched');
      return code || (r.checkout.failed ? EXIT.FAILURE : EXIT.OK);
    }));
}
