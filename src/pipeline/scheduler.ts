import { RvcError } from '../errors.js';
import { topoOrder, type Graph } from '../model/dag.js';
import { compareStrings } from '../model/values.js';

/** Where a stage is in one run (not whether it is stale: that is `StageState` of status.ts). */
export type RunState = 'waiting' | 'ready' | 'running' | 'succeeded' | 'failed' | 'skipped';

/**
 * Ready-set scheduling for running stages in parallel (`-j N`) with no I/O of its own: the
 * runner asks which stages are ready, starts up to N of them, and reports each one's end. A
 * failure marks everything downstream of it skipped; independent branches go on.
 */
export class Scheduler {
  private readonly state = new Map<string, RunState>();
  private readonly pending = new Map<string, number>();
  private readonly order: string[];

  constructor(private readonly g: Graph, subset?: Iterable<string>) {
    this.order = topoOrder(g, subset);
    const inSet = new Set(this.order);
    for (const n of this.order) {
      const k = g.parents.get(n)!.filter((p) => inSet.has(p)).length;
      this.pending.set(n, k);
      this.state.set(n, k === 0 ? 'ready' : 'waiting');
    }
  }

  /** Stages that can start now, in topological order. */
  ready(): string[] {
    return this.order.filter((n) => this.state.get(n) === 'ready');
  }

  start(name: string): void {
    if (this.state.get(name) !== 'ready') {
      throw new RvcError('INTERNAL', `stage '${name}' is not ready to start (${this.state.get(name) ?? 'not scheduled'})`);
    }
    this.state.set(name, 'running');
  }

  /** Records the end of a running stage; returns the stages skipped because it failed. */
  finish(name: string, ok: boolean): string[] {
    if (this.state.get(name) !== 'running') {
      throw new RvcError('INTERNAL', `stage '${name}' is not running (${this.state.get(name) ?? 'not scheduled'})`);
    }
    this.state.set(name, ok ? 'succeeded' : 'failed');
    const skipped: string[] = [];
    for (const c of this.g.children.get(name)!) {
      if (!this.pending.has(c)) continue;
      if (ok) {
        const k = this.pending.get(c)! - 1;
        this.pending.set(c, k);
        if (k === 0 && this.state.get(c) === 'waiting') this.state.set(c, 'ready');
      } else {
        this.skipFrom(c, skipped);
      }
    }
    return skipped.sort(compareStrings);
  }

  private skipFrom(start: string, acc: string[]): void {
    const todo = [start];
    while (todo.length > 0) {
      const n = todo.pop()!;
      const s = this.state.get(n);
      if (s === undefined || s === 'skipped') continue;
      this.state.set(n, 'skipped');
      acc.push(n);
      for (const c of this.g.children.get(n)!) if (this.pending.has(c)) todo.push(c);
    }
  }

  stateOf(name: string): RunState | undefined {
    return this.state.get(name);
  }

  /** True when nothing is ready, waiting or running. */
  get done(): boolean {
    for (const s of this.state.values()) if (s === 'ready' || s === 'waiting' || s === 'running') return false;
    return true;
  }
}
