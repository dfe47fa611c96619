import { EXIT } from '../exit.js';
import { plural, type Output } from '../output.js';
import readline from 'node:readline';
import type { StaleReason, StageConfirmEvent, StageRunResult } from '../../index.js';
import type { Ctx } from '../context.js';

/**
 * Answers for `-i`, one line each, from the terminal or from whatever stdin is (so scripts can
 * answer too); undefined once stdin ends.
 */
class LineReader {
  private readonly rl = readline.createInterface({ input: process.stdin, terminal: false });
  private readonly lines: string[] = [];
  private readonly waiting: ((l: string | undefined) => void)[] = [];
  private ended = false;
  constructor() {
    this.rl.on('line', (l) => {
      const w = this.waiting.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    this.rl.on('close', () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(undefined);
    });
  }
  next(): Promise<string | undefined> {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  close(): void {
    this.rl.close();
  }
}

/** A param or env value as the user wrote it: strings bare, everything else as JSON. */
export function fmtValue(v: unknown): string {
  if (v === undefined) return '(none)';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/**
 * One line per kind of reason, in the order checkStage found them:
 * "changed params: lr 0.1 → 0.01, epochs 10 → 20".
 */
export function describeReasons(reasons: readonly StaleReason[]): string[] {
  const groups = new Map<string, string[]>();
  const add = (label: string, item?: string) => {
    const g = groups.get(label) ?? [];
    if (item !== undefined) g.push(item);
    groups.set(label, g);
  };
  for (const r of reasons) {
    switch (r.kind) {
      case 'not-in-lock': add('not in rvc.lock (never run)'); break;
      case 'always-changed': add('always changed'); break;
      case 'forced': add('forced'); break;
      case 'forced-downstream': add(`forced: upstream stage '${r.stage}' changed (--force-downstream)`); break;
      case 'cmd-changed': add('changed command'); break;
      case 'dep-changed': add('changed deps', r.path); break;
      case 'dep-missing': add('missing deps', r.path); break;
      case 'dep-added': add('new deps', r.path); break;
      case 'dep-removed': add('removed deps', r.path); break;
      case 'param-changed': add('changed params', `${r.key} ${fmtValue(r.old)} → ${fmtValue(r.new)}`); break;
      case 'params-unreadable': add('params unreadable', r.message); break;
      case 'env-changed': add('changed env', `${r.name} ${r.old === null ? '(unset)' : fmtValue(r.old)} → ${r.new === null ? '(unset)' : fmtValue(r.new)}`); break;
      case 'environment-changed': add('changed environment (strict)', `${r.key} ${fmtValue(r.old)} → ${fmtValue(r.new)}`); break;
      case 'out-missing': add('missing outs', r.path); break;
      case 'out-modified': add('modified outs', r.path); break;
      case 'out-not-cached': add('outs not in cache', r.path); break;
      case 'out-added': add('new outs', r.path); break;
      case 'out-removed': add('removed outs', r.path); break;
      case 'upstream': add(`upstream stage '${r.stage}' would run`); break;
    }
  }
  return [...groups].map(([label, items]) => (items.length ? `${label}: ${items.join(', ')}` : label));
}

/** Environment differences on one line: "probes.torch 2.1.0 → 2.2.1; cpu.cores 16 → 8". */
export function describeDrift(changes: readonly { key: string; from?: unknown; to?: unknown }[]): string {
  return changes.map((c) => `${c.key} ${fmtValue(c.from)} → ${fmtValue(c.to)}`).join('; ');
}

/** Splits a stage's output into lines and prefixes each with `[stage]` (for -j > 1). */
class Prefixer {
  private readonly partial = new Map<string, string>();
  constructor(private readonly write: (stream: 'stdout' | 'stderr', s: string) => void) {}
  push(stage: string, chunk: Buffer, stream: 'stdout' | 'stderr'): void {
    const key = `${stream}\0${stage}`;
    const text = (this.partial.get(key) ?? '') + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial.set(key, lines.pop()!);
    if (lines.length) this.write(stream, lines.map((l) => `[${stage}] ${l}\n`).join(''));
  }
  flush(stage: string): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const key = `${stream}\0${stage}`;
      const rest = this.partial.get(key);
      if (rest) this.write(stream, `[${stage}] ${rest}\n`);
      this.partial.delete(key);
    }
  }
}

export function reportFailure(out: Output, r: StageRunResult): void {
  if (r.error) {
    out.error(`stage '${r.name}' failed: ${r.error.message}`, r.error.hint);
    return;
  }
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
  out.error(`stage '${r.name}' failed: \`${r.failedCmd}\` ${how}`);
  if (r.stderrTail && r.stderrTail.trim() !== '') {
    process.stderr.write(`  stderr (last lines):\n${r.stderrTail.split('\n').map((l) => `    ${l}`).join('\n')}\n`);
  }
}

export async function runRepro({ lib, out, flags, common }: Ctx, targets: string[]) {
  const jobs = (flags.jobs as number | undefined) ?? 1;
  const dry = !!flags.dry || !!flags.dryRun;
  const json = !!flags.json;
  const answers = flags.interactive ? new LineReader() : undefined;
  const declined = new Set<string>();
  const write = (stream: 'stdout' | 'stderr', s: string) => {
    // Keep stdout for the JSON document; with -q the commands' own stdout is dropped.
    if (stream === 'stdout' && flags.quiet) return;
    (json || stream === 'stderr' ? process.stderr : process.stdout).write(s);
  };
  const prefixer = jobs > 1 ? new Prefixer(write) : undefined;
  const tag = (stage: string) => (jobs > 1 ? `[${stage}] ` : '');
  // Ctrl-C (or SIGTERM) stops the running commands; a second one kills them at once. A dry
  // run starts no command, so the default handling (exit) stays.
  const stop = new AbortController();
  const kill = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    // A question waiting for its answer is answered no, so the run can stop.
    answers?.close();
    if (stop.signal.aborted) kill.abort();
    else stop.abort(sig);
  };
  if (!dry) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const r = await lib.repro({
    ...common,
    signal: stop.signal,
    killSignal: kill.signal,
    targets,
    allPipelines: !!flags.allPipelines,
    recursive: !!flags.recursive,
    force: !!flags.force,
    single: !!flags.singleItem,
    downstream: !!flags.downstream,
    dry,
    keepGoing: !!flags.keepGoing,
    jobs,
    noRunCache: flags.runCache === false,
    pull: !!flags.pull,
    ...(flags.remote !== undefined ? { remote: String(flags.remote) } : {}),
    allowMissing: !!flags.allowMissing,
    noCommit: flags.commit === false,
    forceDownstream: !!flags.forceDownstream,
    ...(answers ? {
      confirm: async (e: StageConfirmEvent) => {
        process.stderr.write(`Going to run stage '${e.stage}' (${describeReasons(e.reasons).join('; ')}).\nRun it? [y/N] `);
        const a = await answers.next();
        // Typed answers echo on the terminal; others are shown so the transcript reads right.
        if (a === undefined || !process.stdin.isTTY) process.stderr.write(`${a ?? ''}\n`);
        return a !== undefined && /^y(es)?$/i.test(a.trim());
      },
    } : {}),
    onStageStart: (e) => {
      if (dry) return;
      out.info(`${tag(e.stage)}Running stage '${e.stage}':`);
      for (const l of describeReasons(e.reasons)) out.detail(`${tag(e.stage)}  because: ${l}`);
    },
    onCommand: (stage, cmd) => out.info(`${tag(stage)}> ${cmd}`),
    onStageOutput: (stage, chunk, stream) => {
      if (prefixer) prefixer.push(stage, chunk, stream);
      else write(stream, chunk.toString('utf8'));
    },
    onStageWait: (stage, holder) => out.warn(`stage '${stage}': waiting for ${holder} to finish with its outputs…`),
    onStageEnd: (s) => {
      prefixer?.flush(s.name);
      switch (s.status) {
        case 'up to date': out.info(`Stage '${s.name}' didn't change, skipping${s.missingData ? ` (missing data: ${s.missingData.join(', ')})` : ''}`); break;
        case 'declined': declined.add(s.name); out.info(`Stage '${s.name}' not run (declined)`); break;
        case 'frozen': out.info(`Stage '${s.name}' is frozen, skipping`); break;
        case 'restored': out.info(`Stage '${s.name}' is cached — restored outputs`); break;
        case 'would run': {
          out.info(`Would run stage '${s.name}':`);
          for (const l of describeReasons(s.reasons)) out.info(`    ${l}`);
          break;
        }
        case 'failed': if (!json) reportFailure(out, s); break;
        case 'skipped': if (s.blockedBy) out.warn(`stage '${s.name}' skipped: upstream stage '${s.blockedBy}' ${declined.has(s.blockedBy) ? 'was not run' : 'failed'}`); break;
        default: break;
      }
    },
  }).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    answers?.close();
  });
  if (json) out.json(r);
  if (r.pulled && !json) {
    const p = r.pulled;
    if (p.transferred || p.checkedOut.length) out.info(`Pulled ${plural(p.transferred, 'object')} from remote '${p.remote}'${p.checkedOut.length ? `; checked out ${p.checkedOut.join(', ')}` : ''}`);
    if (p.failedCount) out.warn(`${plural(p.failedCount, 'object')} could not be pulled (e.g. ${p.failed[0]?.paths[0] ?? p.failed[0]?.oid}: ${p.failed[0]?.message}); the stages concerned ran instead`);
  }
  if (r.interrupted) {
    out.error('interrupted: the running commands were stopped', 'rvc.lock holds the entries of the stages that finished; run `rvc repro` again to go on');
    return EXIT.INTERRUPTED;
  }
  if (r.failed) {
    const names = r.stages.filter((s) => s.status === 'failed').map((s) => s.name);
    const notRun = r.stages.filter((s) => s.status === 'skipped').length;
    out.error(`${plural(r.failed, 'stage')} failed: ${names.join(', ')}${notRun ? ` (${plural(notRun, 'stage')} not run)` : ''}`,
      flags.keepGoing || notRun === 0 ? 'fix the command and run `rvc repro` again' : 'fix the command and run `rvc repro` again; `-k` goes on with independent stages');
    return EXIT.FAILURE;
  }
  if (r.toGit.length) {
    out.info('');
    out.info('To track the changes with git, run:');
    out.info(`    git add ${r.toGit.join(' ')}`);
  } else if (!r.lockChanged && !dry && r.stages.every((s) => s.status === 'up to date' || s.status === 'frozen')) {
    out.info('Data and pipelines are up to date.');
  }
  return EXIT.OK;
}
