import { Command } from 'commander';
import { action, withGlobals, type Ctx, parseJobs } from '../context.js';
import { EXIT } from '../exit.js';
import { RETRY_HINT, plural, printFailures } from '../output.js';
import type { FailureSummary, PipelineSyncResult, SyncFailure, SyncResult } from '../../index.js';
import { scopeFrom, scopeOptions } from '../scope.js';

function syncOptions(cmd: Command, verb: string): Command {
  return scopeOptions(cmd, `also ${verb} the data recorded`)
    .argument('[targets...]', 'pointer files, tracked paths, or files inside a tracked folder (default: all)')
    .option('-r, --remote <name>', 'remote to use (default: core.remote)')
    .option('--run-cache', 'also transfer the run-cache (earlier runs of pipeline stages and their outputs)')
    .option('-j, --jobs <n>', 'concurrent transfers (default: the remote\'s jobs, 4 × cores)', parseJobs);
}

/** printFailures, then one summary line with the count per cause and their hints. */
function reportFailures(out: Ctx['out'], r: FailureSummary<SyncFailure>, tail: string): void {
  const hints = printFailures(out, r);
  const causes = Object.entries(r.failedByCode);
  const breakdown = causes.length > 1 || r.failedCount > r.failed.length ? ` (${causes.map(([c, n]) => `${n} ${c}`).join(', ')})` : '';
  out.error(`${plural(r.failedCount, 'object')} failed${breakdown}; ${tail}`, hints.join('; ') || RETRY_HINT);
}

function report(ctx: Ctx, r: SyncResult, verb: string): number {
  const { out } = ctx;
  if (r.failedCount) {
    reportFailures(out, r, `${plural(r.transferred, 'file')} ${verb}`);
    return EXIT.FAILURE;
  }
  out.info(r.transferred ? `${plural(r.transferred, 'file')} ${verb}` : 'Everything is up to date.');
  return EXIT.OK;
}

/**
 * Pipeline outputs (recorded in rvc.lock, not in pointers) travel with the data when no target
 * narrows the command; `--run-cache` adds the run-cache. The counts are merged into `r`, so one
 * summary line covers both.
 */
async function pipelineSync(ctx: Ctx, dir: 'push' | 'fetch', targets: string[], r: SyncResult): Promise<PipelineSyncResult | undefined> {
  const { lib, out, flags, common } = ctx;
  if (targets.length && !flags.runCache) return undefined;
  const o = {
    ...common, runCache: !!flags.runCache,
    ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}),
  };
  const p = dir === 'push' ? await lib.pushPipeline(o) : await lib.fetchPipeline(o);
  r.transferred += p.transferred;
  r.skipped += p.skipped;
  lib.mergeFailures(r, p, (f) => f.code);
  if (flags.runCache) {
    const entries = (n: number) => `${n} run-cache ${n === 1 ? 'entry' : 'entries'}`;
    out.info(`${entries(p.runs.transferred)} ${dir === 'push' ? 'pushed' : 'fetched'}${p.runs.skipped ? `, ${p.runs.skipped} already there` : ''}`);
    if (p.runs.invalid) out.warn(`${entries(p.runs.invalid)} skipped: invalid`);
  }
  return p;
}

export function register(program: Command): void {
  syncOptions(withGlobals(program.command('push'), { json: true }), 'push')
    .description('upload the cache objects of tracked data to a remote (only what it lacks)')
    .action(action(async (ctx, targets: string[]) => {
      const { lib, out, flags, common } = ctx;
      const r = await lib.push({ ...common, ...scopeFrom(flags), targets, ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}) });
      const p = await pipelineSync(ctx, 'push', targets, r);
      if (flags.json) {
        out.json(p ? { ...r, pipeline: p } : r);
        return r.failedCount ? EXIT.FAILURE : EXIT.OK;
      }
      return report(ctx, r, 'pushed');
    }));
  syncOptions(withGlobals(program.command('fetch'), { json: true }), 'fetch')
    .description('download missing cache objects of tracked data from a remote (the workspace is not changed)')
    .action(action(async (ctx, targets: string[]) => {
      const { lib, out, flags, common } = ctx;
      const r = await lib.fetch({ ...common, ...scopeFrom(flags), targets, ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}) });
      const p = await pipelineSync(ctx, 'fetch', targets, r);
      if (flags.json) {
        out.json(p ? { ...r, pipeline: p } : r);
        return r.failedCount ? EXIT.FAILURE : EXIT.OK;
      }
      return report(ctx, r, 'fetched');
    }));
  syncOptions(withGlobals(program.command('pull'), { json: true }), 'pull')
    .description('fetch, then checkout: get the data of the current pointers into the workspace')
    .option('-f, --force', 'overwrite workspace changes that are not in the cache')
    .action(action(async (ctx, targets: string[]) => {
      const { lib, out, flags, common } = ctx;
      const r = await lib.pull({ ...common, ...scopeFrom(flags), targets, force: !!flags.force, ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}) });
      const p = await pipelineSync(ctx, 'fetch', targets, r);
      const restored = p ? await lib.checkoutPipeline({ ...common, skipUnrecorded: true }) : undefined;
      if (flags.json) {
        out.json(p ? { ...r, pipeline: { ...p, checkout: restored } } : r);
        return r.failedCount || r.checkout.failed ? EXIT.FAILURE : EXIT.OK;
      }
      for (const o of r.checkout.outs) {
        if (o.error) out.error(`${o.path}: ${o.error.message}`, o.error.hint);
        else if (o.added + o.modified + o.deleted || o.created) out.info(`M       ${o.path} (${o.added} added, ${o.modified} modified, ${o.deleted} deleted)`);
      }
      for (const o of r.checkout.removed) out.info(`D       ${o}`);
      for (const o of restored?.restored ?? []) out.info(`A       ${o}`);
      for (const f of restored?.failed ?? []) out.error(`${f.path}: ${f.message}`);
      const code = report(ctx, r, 'fetched');
      return code || (r.checkout.failed ? EXIT.FAILURE : EXIT.OK);
    }));
}
