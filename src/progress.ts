/**
 * Progress events the library emits through an `onProgress` callback. The library never renders
 * them; the CLI turns them into a bar on a TTY and ignores them elsewhere.
 */
export interface ProgressEvent {
  /** A short, stable name of the phase: 'hash', 'store', 'checkout', 'query', 'upload', … */
  phase: string;
  /** Items done so far in this phase, and the total if known. */
  done: number;
  total?: number;
  /** Bytes done so far and the total if known. */
  bytes?: number;
  totalBytes?: number;
  /** What the phase is working on, for the bar's label. */
  label?: string;
}

export type ProgressFn = (e: ProgressEvent) => void;

export const noProgress: ProgressFn = () => {};

/**
 * Coalesces per-item updates into at most one callback per `intervalMs` (plus a final one), so a
 * loop over a million files does not spend its time rendering.
 */
export class ProgressTicker {
  private last = 0;
  done = 0;
  bytes = 0;
  constructor(
    private readonly fn: ProgressFn,
    private readonly phase: string,
    private readonly total?: number,
    private readonly totalBytes?: number,
    private readonly intervalMs = 100,
  ) {}

  tick(items = 1, bytes = 0): void {
    this.done += items;
    this.bytes += bytes;
    const now = Date.now();
    if (now - this.last >= this.intervalMs) {
      this.last = now;
      this.emit();
    }
  }

  finish(): void {
    this.emit();
  }

  private emit(): void {
    const e: ProgressEvent = { phase: this.phase, done: this.done, bytes: this.bytes };
    if (this.total !== undefined) e.total = this.total;
    if (this.totalBytes !== undefined) e.totalBytes = this.totalBytes;
    this.fn(e);
  }
}
