/**
 * Entry script of the queue's own processes, started with `process.execPath`:
 *
 *   queue-worker.js worker <root> <jobs>   a background worker: runs the queue until nothing is queued
 *   queue-worker.js run <root> <id>        one run of a claimed entry (a worker starts it)
 *
 * Its output goes to the log file its starter opened; the exit code says whether it succeeded.
 */
import { runQueuedEntry } from './queue-run.js';
import { workerMain } from './queue.js';

const [mode, root, arg] = process.argv.slice(2);

async function main(): Promise<number> {
  if (mode === 'worker' && root && arg) {
    const r = await workerMain(root, Number(arg) || 1);
    return r.failed > 0 ? 1 : 0;
  }
  if (mode === 'run' && root && arg) {
    const e = await runQueuedEntry(root, arg);
    return e?.state === 'success' ? 0 : 1;
  }
  throw new Error(`usage: queue-worker.js worker <root> <jobs> | run <root> <id> (got ${process.argv.slice(2).join(' ')})`);
}

main().then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  process.exitCode = 2;
  throw e;
});
