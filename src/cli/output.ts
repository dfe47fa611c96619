import type { SingleBar } from 'cli-progress';
import type { FailureSummary, ProgressEvent, ProgressFn, SyncFailure } from '../index.js';

export interface GlobalFlags {
  quiet?: boolean;
  verbose?: boolean;
  json?: boolean;
}

/** Everything the CLI writes goes through here, so -q, -v, --json and NO_COLOR apply everywhere. */
export class Output {
  readonly color: boolean;
  private bar?: SingleBar;
  /** Loaded only when a bar can be shown (stderr is a TTY), to keep scripted runs' start-up short. */
  private barLib?: typeof import('cli-progress');
  private barPhase?: string;
  private firstEventAt = 0;

  constructor(readonly flags: GlobalFlags) {
    this.color = !process.env.NO_COLOR && !!process.stdout.isTTY && process.env.TERM !== 'dumb';
  }

  /** Normal result lines (stdout); silent with -q or --json. */
  info(line = ''): void {
    if (this.flags.quiet || this.flags.json) return;
    this.stopBar();
    process.stdout.write(line + '\n');
  }

  /** Details shown only with -v. */
  detail(line: string): void {
    if (this.flags.verbose && !this.flags.json) {
      this.stopBar();
      process.stdout.write(line + '\n');
    }
  }

  /** Warnings and notices (stderr); kept with -q only when they matter. */
  warn(line: string): void {
    if (this.flags.quiet) return;
    this.stopBar();
    process.stderr.write(this.paint('33', 'WARNING: ') + line + '\n');
  }

  error(line: string, hint?: string): void {
    this.stopBar();
    process.stderr.write(this.paint('31', 'ERROR: ') + line + '\n');
    if (hint) process.stderr.write(this.paint('2', `hint: ${hint}`) + '\n');
  }

  json(value: unknown): void {
    this.stopBar();
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  paint(code: string, s: string): string {
    return this.color ? `\u001b[${code}m${s}\u001b[0m` : s;
  }

  /**
   * A progress callback for the library. On a TTY (and not -q), a bar appears once work has gone
   * on for about a second, so quick commands print nothing extra.
   */
  async progress(): Promise<ProgressFn | undefined> {
    if (this.flags.quiet || !process.stderr.isTTY) return undefined;
    this.barLib = (await import('cli-progress')).default;
    return (e: ProgressEvent) => this.onProgress(e);
  }

  private onProgress(e: ProgressEvent): void {
    const now = Date.now();
    if (!this.firstEventAt) this.firstEventAt = now;
    if (!this.bar && now - this.firstEventAt < 1000) return;
    if (this.bar && this.barPhase !== e.phase) this.stopBar();
    if (!this.bar && this.barLib) {
      const cliProgress = this.barLib;
      this.bar = new cliProgress.SingleBar({
        stream: process.stderr,
        format: `${e.phase.padEnd(9)} [{bar}] {percentage}% | {value}/{total} | {bytesDone} | {rate} | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 10,
      }, cliProgress.Presets.shades_classic);
      this.barPhase = e.phase;
      this.bar.start(e.total ?? 0, e.done, { bytesDone: fmtBytes(e.bytes ?? 0), rate: '' });
    }
    if (!this.bar) return;
    const secs = Math.max(0.001, (now - this.firstEventAt) / 1000);
    if (e.total !== undefined) this.bar.setTotal(e.total);
    this.bar.update(e.done, {
      bytesDone: e.totalBytes ? `${fmtBytes(e.bytes ?? 0)}/${fmtBytes(e.totalBytes)}` : fmtBytes(e.bytes ?? 0),
      rate: e.bytes ? `${fmtBytes((e.bytes ?? 0) / secs)}/s` : `${Math.round(e.done / secs)}/s`,
    });
  }

  stopBar(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
      this.barPhase = undefined;
    }
  }
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What to do about failures of one cause, when the failures themselves do not say. */
export const RETRY_HINT = 'run the same command again to retry what is missing';

/**
 * Prints failures as the library keeps them: the bounded sample per cause (error code), then
 * "… and N more" for each cause. Returns the hints of the causes seen (a corrupt remote copy is
 * not helped by retrying). A million failures print a few dozen lines.
 */
export function printFailures(out: Output, r: FailureSummary<SyncFailure>, prefix = ''): string[] {
  const shown: Record<string, number> = {};
  const hints: string[] = [];
  for (const f of r.failed) {
    out.error(`${prefix}${f.paths.length ? f.paths.join(', ') : f.oid}: ${f.message}`);
    shown[f.code] = (shown[f.code] ?? 0) + 1;
    const hint = f.code === 'REMOTE_TRANSFER_FAILED' ? RETRY_HINT : (f.hint ?? RETRY_HINT);
    if (!hints.includes(hint)) hints.push(hint);
  }
  for (const [code, n] of Object.entries(r.failedByCode)) {
    const more = n - (shown[code] ?? 0);
    if (more > 0) out.error(`${prefix}… and ${more} more ${code} ${more === 1 ? 'failure' : 'failures'}`);
  }
  return hints;
}

/** `A` for an output checked out whole where nothing was (a fresh clone), `M` for one changed. */
export function changeLetter(o: { added: number; modified: number; deleted: number; unchanged: number }): 'A' | 'M' {
  return o.added && !o.modified && !o.deleted && !o.unchanged ? 'A' : 'M';
}
