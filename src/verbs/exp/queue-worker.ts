/**
 * Entry script of the queue's own processes, started with `process.execPath`:
 *
 *   queue-worker.js worker <root> <jobs>   a background worker: runs the queue until nothing is queued
 *   queue-worker.js serve <root>           a runner: runs claimed entries one after another, for the
 *                                          whole queue (one start-up for many runs)
 *
 * A runner reads entry ids on stdin, one a line, runs each (`runQueuedEntry`) in turn and writes
 * the id back on file descriptor 3 when that run has recorded its end. It ends when its stdin
 * closes (its worker stopped or died) and the run in progress has ended. What it prints itself
 * (nothing, unless it crashes) goes to its worker, which adds it to the log of the run in progress.
 * The exit code says whether the process succeeded.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { gitPrefix } from '../../scm/git.js';
import { runQueuedEntry } from './queue-run.js';
import { workerMain } from './queue.js';

const [mode, root, arg] = process.argv.slice(2);

/** The descriptor a runner answers on (its worker's fourth stdio pipe). */
const REPLY_FD = 3;

async function serve(repoRoot: string): Promise<number> {
  // The project's folder inside its git work tree, the same for every run.
  const prefix = gitPrefix(repoRoot);
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    const id = line.trim();
    if (!/^[0-9a-f]{12}$/.test(id)) continue;
    // A run's own failures are recorded in its entry; what escapes (the entry's files unwritable)
    // ends this process, and the worker marks the run failed with the exit code and the message.
    await runQueuedEntry(repoRoot, id, prefix);
    try {
      fs.writeSync(REPLY_FD, `${id}\n`);
    } catch {
      // the worker is gone: the entry's file holds the result
    }
  }
  return 0;
}

async function main(): Promise<number> {
  if (mode === 'worker' && root && arg) {
    const r = await workerMain(root, Number(arg) || 1);
    return r.failed > 0 ? 1 : 0;
  }
  if (mode === 'serve' && root) return serve(root);
  throw new Error(`usage: queue-worker.js worker <root> <jobs> | serve <root> (got ${process.argv.slice(2).join(' ')})`);
}

main().then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  process.exitCode = 2;
  throw e;
});
