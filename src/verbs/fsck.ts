import fs from 'node:fs';
import { ProgressTicker } from '../progress.js';
import { Repo, type CommonOptions } from '../repo/repo.js';

export interface FsckOptions extends CommonOptions {
  repair?: boolean;
}

export interface FsckResult {
  checked: number;
  corrupt: string[];
  leftovers: string[];
  repaired: boolean;
}

/**
 * Re-hashes every cache object (loose, and in local packs); with `repair`, removes corrupt
 * objects and temp leftovers, and replaces a local pack holding a corrupt object by its sound
 * objects written loose.
 */
export async function fsck(opts: FsckOptions = {}): Promise<FsckResult> {
  const repo = Repo.open(opts.cwd);
  const run = (): FsckResult => {
    // With --repair objects may be deleted: marks are voided before and after (Odb.markComplete).
    if (opts.repair) for (const odb of repo.allOdbs()) odb.clearCompleteMarks();
    // The cache is listed as it is checked, not gathered first: a million objects made a
    // million-entry array of objects. A progress display gets its total from a counting pass.
    let total = 0;
    if (opts.onProgress) for (const odb of repo.allOdbs()) for (const _ of odb.list()) total++;
    const tick = new ProgressTicker(opts.onProgress ?? (() => {}), 'fsck', total);
    const corrupt: string[] = [];
    const leftovers: string[] = [];
    let checked = 0;
    for (const odb of repo.allOdbs()) {
      const damagedPacks = new Set<string>();
      for (const item of odb.list()) {
        if ('leftover' in item) {
          leftovers.push(item.leftover);
          if (opts.repair) fs.rmSync(item.leftover, { force: true });
          continue;
        }
        checked++;
        const size = odb.sizeOf(item.oid);
        if (odb.verify(item.oid, item.pack) === 'corrupt') {
          corrupt.push(item.oid);
          if (!opts.repair) {
            // reported only
          } else if (item.pack !== undefined) damagedPacks.add(item.pack);
          else odb.remove(item.oid);
        }
        tick.tick(1, size);
      }
      // A damaged local pack goes whole, once its sound objects are written loose.
      if (damagedPacks.size) {
        for (const p of odb.localPacks()) if (p.index && damagedPacks.has(p.id)) odb.dropPack(p.id, p.index, () => true);
        odb.reloadPacks();
      }
    }
    tick.finish();
    // Marks say "every file of this manifest is in the cache"; after objects were removed (here,
    // or by hand) that may no longer hold, so fsck always drops them and status re-checks.
    for (const odb of repo.allOdbs()) odb.clearCompleteMarks();
    return { checked, corrupt, leftovers, repaired: !!opts.repair };
  };
  // Only repairing writes; a plain check can run beside other commands.
  return opts.repair ? repo.withLock('rvc fsck --repair', opts, run) : run();
}
