import { Command, InvalidArgumentError } from 'commander';
import { Output, type GlobalFlags } from './output.js';
import type { CommonOptions } from '../index.js';

export type Lib = typeof import('../index.js');

export interface Ctx {
  out: Output;
  lib: Lib;
  /** Options every library call gets: progress, lock-wait notice. */
  common: CommonOptions;
  flags: GlobalFlags & Record<string, unknown>;
}

/** -q / -v on every command (and --json where a command has data to give scripts). */
export function withGlobals(cmd: Command, opts: { json?: boolean } = {}): Command {
  cmd.option('-q, --quiet', 'print only errors').option('-v, --verbose', 'print more detail');
  if (opts.json) cmd.option('--json', 'print the result as JSON for scripts');
  return cmd;
}

let lastCtx: Ctx | undefined;
export function currentOutput(): Output | undefined {
  return lastCtx?.out;
}

/**
 * Wraps a command action: builds the context, loads the library lazily (so `rvc --help` stays
 * instant), and stores the exit code for main() to use.
 */
export function action<A extends unknown[]>(fn: (ctx: Ctx, ...args: A) => Promise<number | void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const flags = cmd.optsWithGlobals() as GlobalFlags & Record<string, unknown>;
    const out = new Output(flags);
    const lib = await import('../index.js');
    const progress = await out.progress();
    const lockWait = process.env.RVC_LOCK_WAIT ? Number(process.env.RVC_LOCK_WAIT) * 1000 : undefined;
    const common: CommonOptions = {
      ...(progress ? { onProgress: progress } : {}),
      ...(lockWait !== undefined && Number.isFinite(lockWait) ? { lockWaitMs: lockWait } : {}),
      onLockWait: (h) => out.warn(h ? `waiting for '${h.command}' (pid ${h.pid}) to release the repository lock…` : 'waiting for the repository lock…'),
      onWarning: (m) => out.warn(m),
    };
    const ctx: Ctx = { out, lib, common, flags };
    lastCtx = ctx;
    const code = await fn(ctx, ...(args.slice(0, -2) as A));
    out.stopBar();
    if (typeof code === 'number') process.exitCode = code;
  };
}

/** What a command's implementation module exports: actions taking the context and the command's arguments. */
type ActionModule<K extends string> = { [P in K]: (ctx: Ctx, ...args: never[]) => Promise<number | void> };

/**
 * The action of a command whose implementation lives in `src/cli/actions/`: the module is
 * imported only when the command runs (together with the library), so start-up, `--help` and
 * commander's usage errors load the definitions alone.
 * `commands/status.ts` shows the form.
 */
export function lazyAction<K extends string>(load: () => Promise<ActionModule<K>>, name: K) {
  return action(async (ctx, ...args: unknown[]) => {
    const run = (await load())[name] as (ctx: Ctx, ...a: unknown[]) => Promise<number | void>;
    return run(ctx, ...args);
  });
}

/** Digits after the decimal point metrics are rounded to when printed, as in DVC. */
export const DEFAULT_PRECISION = 5;

/** commander parser for `--precision <n>`: a whole number from 0 to 100. */
export function parsePrecision(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 100) throw new InvalidArgumentError(`a whole number from 0 to 100 is needed, not '${v}'`);
  return n;
}

/** commander parser for `-j, --jobs <n>`: a positive integer. */
export function parseJobs(v: string): number {
  const n = Number(v);
  // commander reports InvalidArgumentError as a usage error (exit 2), naming the option.
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`a positive integer is needed, not '${v}'`);
  return n;
}

/** commander parser for a count (`-n <n>`): a positive whole number. */
export function parseCount(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`a positive whole number is needed, not '${v}'`);
  return Number(v);
}

/** `--rev`, `-o/--out`, `-f/--force` and `-j/--jobs` as library options (get, import). */
export function copyFlags(flags: Record<string, unknown>): { rev?: string; out?: string; force?: boolean; jobs?: number } {
  return {
    ...(flags.rev !== undefined ? { rev: String(flags.rev) } : {}),
    ...(flags.out !== undefined ? { out: String(flags.out) } : {}),
    ...(flags.force ? { force: true } : {}),
    ...(flags.jobs ? { jobs: flags.jobs as number } : {}),
  };
}
