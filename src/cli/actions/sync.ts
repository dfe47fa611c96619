import type { Ctx } from '../context.js';
import { EXIT } from '../exit.js';
import { RETRY_HINT, changeLetter, plural, printFailures } from '../output.js';
import type { FailureSummary, SyncFailure, SyncResult } from '../../index.js';
import { scopeFrom, targetFlagsFrom } from '../scope.js';

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

/** With --run-cache: one line on the run-cache entries moved. */
function reportRuns(ctx: Ctx, r: SyncResult, dir: 'push' | 'fetch'): void {
  if (!r.runs || ctx.flags.json) return;
  const entries = (n: number) => `${n} run-cache ${n === 1 ? 'entry' : 'entries'}`;
  ctx.out.info(`${entries(r.runs.transferred)} ${dir === 'push' ? 'pushed' : 'fetched'}${r.runs.skipped ? `, ${r.runs.skipped} already there` : ''}`);
  if (r.runs.invalid) ctx.out.warn(`${entries(r.runs.invalid)} skipped: invalid`);
}

function syncArgs(ctx: Ctx, targets: string[]): Record<string, unknown> {
  const { flags, common } = ctx;
  return {
    ...common, ...scopeFrom(flags), targets, ...targetFlagsFrom(flags), ...(flags.runCache ? { runCache: true } : {}),
    ...(flags.remote ? { remote: String(flags.remote) } : {}), ...(flags.jobs ? { jobs: flags.jobs as number } : {}),
  };
}

export async function runPush(ctx: Ctx, targets: string[]) {
  const { lib, out, flags } = ctx;
  const r = await lib.push(syncArgs(ctx, targets));
  if (flags.json) {
    out.json(r);
    return r.failedCount ? EXIT.FAILURE : EXIT.OK;
  }
  reportRuns(ctx, r, 'push');
  return report(ctx, r, 'pushed');
}

export async function runFetch(ctx: Ctx, targets: string[]) {
  const { lib, out, flags } = ctx;
  const r = await lib.fetch(syncArgs(ctx, targets));
  if (flags.json) {
    out.json(r);
    return r.failedCount ? EXIT.FAILURE : EXIT.OK;
  }
  reportRuns(ctx, r, 'fetch');
  return report(ctx, r, 'fetched');
}

export async function runPull(ctx: Ctx, targets: string[]) {
  const { lib, out, flags } = ctx;
  const r = await lib.pull({ ...syncArgs(ctx, targets), force: !!flags.force });
  if (flags.json) {
    out.json(r);
    return r.failedCount || r.checkout.failed ? EXIT.FAILURE : EXIT.OK;
  }
  reportRuns(ctx, r, 'fetch');
  for (const o of r.checkout.outs) {
    if (o.error) out.error(`${o.path}: ${o.error.message}`, o.error.hint);
    else if (o.added + o.modified + o.deleted || o.created) out.info(`${o.created ? 'A' : changeLetter(o)}       ${o.path} (${o.added} added, ${o.modified} modified, ${o.deleted} deleted)`);
  }
  for (const o of r.checkout.removed) out.info(`D       ${o}`);
  for (const p of r.checkout.unpushed ?? []) out.info(`${p}: not restored: rvc.yaml says 'push: false' and the cache does not have it (run its stage to make it)`);
  const code = report(ctx, r, 'fetched');
  return code || (r.checkout.failed ? EXIT.FAILURE : EXIT.OK);
}
