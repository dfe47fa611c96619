import { spawn, type ChildProcess } from 'node:child_process';

export type OutputStream = 'stdout' | 'stderr';

export interface ShellRun {
  /** Exit code, or null when a signal ended the command. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of the command's stderr, for the failure message. */
  stderrTail: string;
}

export interface ShellOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  onOutput?: (chunk: Buffer, stream: OutputStream) => void;
  children: ChildGroup;
  /** Called with the command's process group id as soon as it started. */
  onSpawn?: (pgid: number) => void;
}

/** How much of stderr a failure keeps: enough for a traceback, bounded for a chatty command. */
const TAIL_LINES = 20;
const TAIL_BYTES = 8192;

/**
 * The commands a run has started. Each runs in its own process group (spawned detached), so
 * stopping a run signals the whole group: `sh`, the program it started, and anything that
 * program forked. A terminal's Ctrl-C reaches only rvc's own group; rvc decides what the
 * children get.
 */
export class ChildGroup {
  private readonly running = new Set<ChildProcess>();
  private escalation?: NodeJS.Timeout;
  stopped = false;

  add(c: ChildProcess): void {
    this.running.add(c);
  }

  remove(c: ChildProcess): void {
    this.running.delete(c);
    if (this.running.size === 0 && this.escalation) {
      clearTimeout(this.escalation);
      this.escalation = undefined;
    }
  }

  get size(): number {
    return this.running.size;
  }

  /**
   * Sends `signal` to every running group, SIGTERM a second later to what still runs (the
   * background jobs of a non-interactive shell ignore SIGINT), and SIGKILL after `graceMs`.
   * A second call (a second Ctrl-C) kills at once.
   */
  stop(signal: NodeJS.Signals, graceMs = 5000): void {
    const again = this.stopped;
    this.stopped = true;
    for (const c of this.running) killGroup(c, again ? 'SIGKILL' : signal);
    if (again || this.running.size === 0) return;
    const term = setTimeout(() => {
      for (const c of this.running) killGroup(c, 'SIGTERM');
    }, Math.min(1000, graceMs));
    term.unref();
    this.escalation = setTimeout(() => {
      for (const c of this.running) killGroup(c, 'SIGKILL');
    }, graceMs);
    this.escalation.unref();
  }
}

function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  // The shell may have exited while programs it started still hold the group (and our pipes):
  // the group is signalled as long as the child is running, i.e. until its pipes close.
  if (c.pid === undefined) return;
  try {
    process.kill(-c.pid, signal);
  } catch {
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Runs one command with `sh -c`, streaming its output, and resolves when it ends. */
export function runShell(cmd: string, opts: ShellOptions): Promise<ShellRun> {
  return new Promise((resolve) => {
    let tail = Buffer.alloc(0);
    let child: ChildProcess;
    try {
      child = spawn('sh', ['-c', cmd], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ code: 127, signal: null, stderrTail: e instanceof Error ? e.message : String(e) });
      return;
    }
    opts.children.add(child);
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    child.stdout!.on('data', (b: Buffer) => opts.onOutput?.(b, 'stdout'));
    child.stderr!.on('data', (b: Buffer) => {
      opts.onOutput?.(b, 'stderr');
      tail = Buffer.concat([tail, b]);
      if (tail.length > 2 * TAIL_BYTES) tail = tail.subarray(tail.length - TAIL_BYTES);
    });
    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      opts.children.remove(child);
      const text = tail.subarray(Math.max(0, tail.length - TAIL_BYTES)).toString('utf8');
      const lines = text.replace(/\n$/, '').split('\n');
      const stderrTail = spawnError && !text ? spawnError.message : lines.slice(-TAIL_LINES).join('\n');
      resolve({ code: spawnError && code === null && signal === null ? 127 : code, signal, stderrTail });
    });
  });
}
