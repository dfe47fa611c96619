import { isRvcError } from '../errors.js';
import type { LockFileEntry } from '../model/lock.js';
import { producerOf } from '../model/dag.js';
import type { Output, OutputSelection } from '../model/output.js';
import type { CommonOptions } from '../repo/repo.js';
import type { LoadedProject } from '../repo/project.js';
import { selectOutputs, workspaceOutputs } from '../repo/outputs.js';
import { restoreOutputs } from '../repo/restore.js';
import { fetchRunEntries } from '../repo/run-cache-transfer.js';
import { ObjectSet } from '../repo/object-set.js';
import { addSyncResult, emptySyncResult, fetchWanted, openSyncRemote, type OpenedRemote, type SyncOptions, type SyncResult } from '../repo/sync.js';
import { Workspace } from './workspace.js';

/** What `repro --pull` downloaded. */
export interface PullMissingResult extends SyncResult {
  /** Missing dependencies (pointer data, or outputs of stages not run) checked out before running. */
  checkedOut: string[];
}

export interface PullMissingOptions extends CommonOptions {
  /** Remote name; default: core.remote. */
  remote?: string;
  /** Also the remote's run-cache entries (not with `--no-run-cache` or `--force`). */
  runCache?: boolean;
}

/**
 * `repro --pull`, DVC's "try pulling missing data": every download goes through the sync verbs'
 * fetch (`fetchWanted`, objects verified by hash) from one remote, opened once when first needed.
 * Before anything runs (`prepare`): the remote's run-cache entries the local run-cache lacks, and
 * the selected stages' dependencies that are missing and that no stage of this run writes —
 * tracked by a pointer, or written by a stage left out of the run (`-s`, frozen) as its rvc.lock
 * entry records — which are then checked out. While running (`fetchOutputs`, the runner's hook): the
 * outputs of a stage the runner would restore rather than run — rvc.lock's record of a stage
 * that only lacks its data, or the run-cache entry of its inputs — when the cache lacks them.
 * A download that fails is listed in the result; the stage concerned then runs.
 */
export class MissingPuller {
  private from: OpenedRemote | undefined;
  private res: SyncResult | undefined;
  private readonly checkedOut: string[] = [];
  private readonly syncOpts: SyncOptions;

  constructor(private readonly project: LoadedProject, private readonly opts: PullMissingOptions) {
    this.syncOpts = {
      ...(opts.remote !== undefined ? { remote: opts.remote } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    };
  }

  private async remote(): Promise<OpenedRemote> {
    return (this.from ??= await openSyncRemote(this.project.repo, this.syncOpts));
  }

  private async fetch(sel: OutputSelection[]): Promise<void> {
    if (sel.length === 0) return;
    const r = await fetchWanted(this.project.repo, { set: ObjectSet.of(sel), revisions: [] }, await this.remote(), this.syncOpts);
    this.res = this.res ? addSyncResult(this.res, r) : r;
  }

  async prepare(selected: readonly string[]): Promise<void> {
    const { repo, graph } = this.project;
    if (this.opts.runCache) await fetchRunEntries(repo, (await this.remote()).remote);
    // Stages that run (or are restored) in this run bring their own outputs; the data of the
    // others — pointers, and stages left out (-s, frozen) — is what rvc.lock or a pointer records.
    const running = new Set(selected.filter((n) => !graph.stages.get(n)!.frozen));
    const recorded = (await workspaceOutputs(repo, { skipDamagedPointers: true }))
      .filter((o) => o.kind === 'pointer' || (o.kind === 'stage' && o.stage !== undefined && !running.has(o.stage)));
    const ws = new Workspace(repo);
    const sel: OutputSelection[] = [];
    const seen = new Set<string>();
    for (const name of running) {
      for (const d of graph.stages.get(name)!.deps) {
        if (seen.has(d.repoPath) || ws.hash(d.repoPath, repo.odb.algo)) continue;
        seen.add(d.repoPath);
        const producer = producerOf(graph, d.repoPath);
        if (producer !== undefined && running.has(producer)) continue;
        try {
          for (const s of await selectOutputs(repo, recorded, [d.repoPath], { cwd: repo.root })) sel.push(s);
        } catch (e) {
          if (!isRvcError(e)) throw e; // tracked by nothing: repro reports the missing dependency
        }
      }
    }
    if (sel.length === 0) return;
    await this.fetch(sel);
    const co = await repo.withLock('rvc repro --pull (checkout)', this.opts, async () => {
      try {
        return restoreOutputs(repo, sel, this.opts);
      } catch (e) {
        if (!isRvcError(e)) throw e;
        return undefined; // the stage then reports its missing dependency
      }
    });
    for (const o of co?.outs ?? []) if (!o.error) this.checkedOut.push(o.path);
  }

  /** The runner's fetchOutputs hook. */
  readonly fetchOutputs = async (stage: string, outs: LockFileEntry[]): Promise<void> => {
    const sel = outs.map((o): OutputSelection => {
      const output: Output = { kind: 'run', rel: o.path, file: stage, out: { ...o }, where: `${stage}:${o.path}`, stage, cached: true };
      return { output };
    });
    await this.fetch(sel);
  };

  result(): PullMissingResult {
    return { ...(this.res ?? emptySyncResult(this.project.repo, this.syncOpts)), checkedOut: [...this.checkedOut] };
  }

  async close(): Promise<void> {
    await this.from?.remote.close();
  }
}
