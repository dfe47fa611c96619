import { describe, expect, it, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Repo } from '../../src/repo/repo.js';
import { processRunning } from '../../src/fsutil/lockfile.js';
import {
  claimFile, claimLive, findEntry, newQueueId, readEntry, readQueue, recoverOrphans, tryClaim, writeEntry, type QueueEntry,
} from '../../src/verbs/exp/queue-store.js';
import { makeRepo, rmrf } from '../helpers/cli.js';

/** Claims and orphan recovery of the experiment queue's store. */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

/** A PID that surely ran and is gone: a child that has exited and been reaped. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

function entry(id: string, state: QueueEntry['state']): QueueEntry {
  return { id, name: null, baseline: 'a'.repeat(40), params: [], targets: [], state, created: new Date().toISOString() };
}

describe('experiment queue store', () => {
  it('ids are 12 hex digits and sort by creation', () => {
    const ids = Array.from({ length: 50 }, () => newQueueId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(50);
  });

  it('reads nothing when the folder is absent, and the entries written otherwise', () => {
    const d = makeRepo();
    made.push(d);
    const repo = Repo.open(d);
    expect(readQueue(repo)).toEqual([]);
    const a = entry(newQueueId(), 'queued');
    const b = { ...entry(newQueueId(), 'success'), experiment: { name: 'x', commit: 'c'.repeat(40) } };
    writeEntry(repo, b);
    writeEntry(repo, a);
    expect(readQueue(repo).map((e) => e.id)).toEqual([a.id, b.id]);
    expect(findEntry(readQueue(repo), 'x')?.id).toBe(b.id);
    expect(findEntry(readQueue(repo), a.id.slice(0, 12))?.id).toBe(a.id);
  });

  it('grants a claim to one taker only; a claim of dead processes is broken and its running entry re-queued', () => {
    const d = makeRepo();
    made.push(d);
    const repo = Repo.open(d);
    const live = entry(newQueueId(), 'running');
    const orphan = entry(newQueueId(), 'running');
    writeEntry(repo, live);
    writeEntry(repo, orphan);
    expect(tryClaim(repo, live.id)).toBe(true);
    expect(tryClaim(repo, live.id)).toBe(false);
    const dead = deadPid();
    expect(processRunning(dead)).toBe(false);
    expect(processRunning(process.pid)).toBe(true);
    expect(tryClaim(repo, orphan.id, [dead])).toBe(true);
    expect(claimLive(repo, orphan.id)).toBe(false);

    expect(recoverOrphans(repo)).toEqual([orphan.id]);
    expect(readEntry(repo, orphan.id)!.state).toBe('queued');
    expect(fs.existsSync(claimFile(repo, orphan.id))).toBe(false);
    // The live claim and its entry are left alone.
    expect(readEntry(repo, live.id)!.state).toBe('running');
    expect(claimLive(repo, live.id)).toBe(true);
    expect(tryClaim(repo, orphan.id)).toBe(true);
  });
});
