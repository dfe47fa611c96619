import { EXIT } from '../exit.js';
import type { QueueEntry, QueueRunResult } from '../../index.js';
import type { Ctx } from '../context.js';

function label(e: QueueEntry): string {
  return e.experiment?.name ?? e.name ?? e.id;
}

function params(e: QueueEntry): string {
  return e.params.length ? e.params.join(' ') : '-';
}

function entryJson(e: QueueEntry): QueueEntry {
  return e;
}

/**
 * `exp run --queue | --temp | --run-all`: what `exp run` does when one of the queue's flags is
 * given (called from the `exp run` action). Returns the exit code.
 */
export async function expRunQueued(ctx: Ctx, targets: string[]): Promise<number> {
  const { lib, out, flags, common } = ctx;
  const addOpts = {
    ...common, targets, setParams: flags.setParam as string[],
    ...(flags.name !== undefined ? { name: String(flags.name) } : {}),
    ...(flags.message !== undefined ? { message: String(flags.message) } : {}),
    ...(flags.force ? { force: true } : {}),
  };
  const jobs = (flags.jobs as number | undefined) ?? 1;
  if (flags.queue) {
    const added = await lib.queueAdd(addOpts);
    if (flags.json) out.json(added.map(entryJson));
    else for (const e of added) out.info(`Queued experiment ${e.id}${e.name ? ` '${e.name}'` : ''}${e.params.length ? ` (${params(e)})` : ''}. Run the queue with \`rvc queue start\` or \`rvc exp run --run-all\`.`);
    if (!flags.runAll) return EXIT.OK;
  }
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => stop.abort(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const hooks = {
    signal: stop.signal, jobs,
    onRunStart: (e: QueueEntry) => out.info(`Running queued experiment ${e.id}${e.params.length ? ` (${params(e)})` : ''}…`),
    onRunEnd: (e: QueueEntry) => (e.state === 'success'
      ? out.info(`Experiment ${e.id} saved as '${e.experiment?.name}' (${e.experiment?.commit.slice(0, 7)})`)
      : out.error(`Experiment ${e.id} failed: ${e.error ?? 'unknown error'}`, `see its log: \`rvc queue logs ${e.id}\``)),
  };
  let r: QueueRunResult;
  try {
    r = flags.temp ? await lib.runTemp({ ...addOpts, ...hooks }) : await lib.runQueue({ ...common, ...hooks });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (flags.json && !flags.queue) out.json(r.ran.map(entryJson));
  else if (!flags.json && !r.ran.length) out.info('No queued experiments to run.');
  if (stop.signal.aborted) return EXIT.INTERRUPTED;
  return r.failed ? EXIT.FAILURE : EXIT.OK;
}

/**
 * `exp remove --queue`: removes every queued (not yet started) experiment, as `queue remove
 * --queued` does. Called from the `exp remove` action when `--queue` is given.
 */
export async function expRemoveQueued(ctx: Ctx): Promise<number> {
  const { lib, out, flags, common } = ctx;
  const r = await lib.queueRemove({ ...common, queued: true });
  if (flags.json) out.json(r.map(entryJson));
  else out.info(`Removed ${r.length} queued experiment${r.length === 1 ? '' : 's'} from the queue.`);
  return EXIT.OK;
}

export async function runQueueStart({ lib, out, flags, common }: Ctx) {
      const r = await lib.queueStart({ ...common, ...(flags.jobs ? { jobs: flags.jobs as number } : {}) });
      if (flags.json) return out.json(r);
      out.info(`Started a queue worker (pid ${r.pid}, ${r.jobs} at a time) for ${r.queued} queued experiment${r.queued === 1 ? '' : 's'}. Follow it with \`rvc queue status\` and \`rvc queue logs <exp>\`.`);
    }

export async function runQueueStatus({ lib, out, flags, common }: Ctx) {
      const r = await lib.queueStatus(common);
      if (flags.json) return out.json(r);
      if (!r.entries.length) out.info('The queue is empty.');
      else {
        out.info(['id', 'name', 'state', 'created', 'params'].join('\t'));
        for (const e of r.entries) out.info([e.id, label(e), e.state, e.created, params(e)].join('\t') + (e.state === 'failed' || e.error ? `\t${e.error ?? ''}` : ''));
      }
      out.info(r.workers.length ? `Workers: ${r.workers.map((w) => `pid ${w.pid} (${w.jobs} at a time)`).join(', ')}` : 'No worker is running.');
    }

export async function runQueueLogs({ lib, flags, common }: Ctx, exp: string) {
      let r = await lib.queueLogs({ ...common, exp });
      process.stdout.write(r.text);
      while (flags.follow && !r.finished) {
        await new Promise((res) => setTimeout(res, 200));
        r = await lib.queueLogs({ ...common, exp, offset: r.offset });
        process.stdout.write(r.text);
      }
      if (flags.follow) process.stdout.write((await lib.queueLogs({ ...common, exp, offset: r.offset })).text);
    }

export async function runQueueStop({ lib, out, flags, common }: Ctx) {
      const r = await lib.queueStop({ ...common, kill: !!flags.kill });
      if (flags.json) return out.json(r);
      out.info(r.workers.length ? `Stopped ${r.workers.length} worker${r.workers.length === 1 ? '' : 's'} (pid ${r.workers.join(', ')}).` : 'No worker was running.');
      for (const e of r.killed) out.info(`Killed experiment ${e.id}.`);
    }

export async function runQueueKill({ lib, out, flags, common }: Ctx, exps: string[]) {
      const r = await lib.queueKill({ ...common, exps });
      if (flags.json) return out.json(r);
      for (const e of r) out.info(`Killed experiment ${e.id}.`);
    }

export async function runQueueRemove({ lib, out, flags, common }: Ctx, exps: string[]) {
      if (!exps.length && !flags.all && !flags.queued && !flags.failed && !flags.success) {
        throw new lib.RvcError('USAGE', 'name the entries to remove, or give --all, --queued, --failed or --success', { hint: 'see `rvc queue status`' });
      }
      const r = await lib.queueRemove({ ...common, exps, all: !!flags.all, queued: !!flags.queued, failed: !!flags.failed, success: !!flags.success });
      if (flags.json) return out.json(r);
      out.info(`Removed ${r.length} queue entr${r.length === 1 ? 'y' : 'ies'}${r.length ? `: ${r.map((e) => e.id).join(', ')}` : ''}.`);
    }
