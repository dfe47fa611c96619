import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { rvc, rvcOk, makeRepo, writeTree, rmrf, git } from '../helpers/cli.js';

/**
 * gc and the run-cache: an entry is kept only when the scope keeps every output it records;
 * the others go before the objects only they held. `--keep-run-cache` keeps them all.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

/** Every file under the cache folder (objects and run-cache entries), relative to it. */
function cacheFiles(d: string): string[] {
  return listFiles(path.join(d, '.rvc/cache')).filter((f) => !f.startsWith('tmp/') && !f.includes('complete'));
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.map((f) => f.split(path.sep).join('/')).sort();
}

function runEntries(d: string): string[] {
  return cacheFiles(d).filter((f) => f.startsWith('runs/'));
}

/** The model folder's oid in rvc.lock now. */
function modelOid(d: string): string {
  const lock = parseYaml(fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8')) as { stages: Record<string, { outs: { path: string; oid: string }[] }> };
  return lock.stages['train']!.outs.find((o) => o.path === 'model')!.oid;
}

function stageStatus(d: string, args: string[] = []): string {
  return json<{ stages: { name: string; status: string }[] }>(rvcOk(d, ['repro', '--json', ...args])).stages[0]!.status;
}

describe('gc and the run-cache', () => {
  it('drops the entries of runs the scope does not keep, with the objects only they held; keeps the others, which repro still restores', () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, {
      'params.yaml': 'lr: 1\n',
      // One file differs with lr, one is the same in every run (shared by every entry).
      'train.sh': 'mkdir -p model; grep lr params.yaml > model/w.bin; echo shared > model/common.txt\n',
      'rvc.yaml': 'stages:\n  train:\n    cmd: sh train.sh\n    deps: [train.sh]\n    params: [lr]\n    outs: [model]\n',
    });
    const oids: string[] = [];
    for (const lr of [1, 2, 3]) {
      writeTree(d, { 'params.yaml': `lr: ${lr}\n` });
      expect(stageStatus(d)).toBe('ran');
      oids.push(modelOid(d));
      // The first run is committed: `--rev HEAD` keeps it.
      if (lr === 1) {
        git(d, ['add', '-A']);
        git(d, ['commit', '-q', '-m', 'lr 1']);
      }
    }
    expect(runEntries(d)).toHaveLength(3);
    // A folder remote holding every run (push --run-cache), for gc --cloud below.
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-store-'));
    made.push(store);
    rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    rvcOk(d, ['push', '--run-cache']);
    const remoteFiles = (): string[] => listFiles(store).filter((f) => !f.startsWith('.rvc-tmp'));
    const remoteBefore = remoteFiles();
    expect(remoteBefore.filter((f) => f.startsWith('runs/'))).toHaveLength(3);
    const before = cacheFiles(d);

    // --dry-run (and DVC's --dry, with -f) lists and changes nothing.
    const dry = json(rvcOk(d, ['gc', '-w', '--dry-run', '--json']));
    expect(dry.dryRun).toBe(true);
    expect(dry.runs.removed).toHaveLength(2);
    expect(dry.runs.kept).toBe(1);
    for (const e of dry.runs.removed) {
      expect(e.entry).toMatch(/^runs\/[a-z0-9]+\/[0-9a-f]{2}\/[0-9a-f]{62}$/);
      expect(e.outs).toEqual(['model']);
    }
    // Old runs' manifests and their w.bin: 2 objects each; common.txt stays with the current run.
    expect(dry.removed.map((r: { oid: string }) => r.oid)).toEqual(expect.arrayContaining([oids[0], oids[1]]));
    expect(dry.removed).toHaveLength(4);
    const text = rvcOk(d, ['gc', '-w', '--dry', '-f']);
    expect(text.stdout + text.stderr).toContain('Would remove 2 run-cache entries');
    expect(cacheFiles(d)).toEqual(before);

    // --keep-run-cache: every entry keeps its objects.
    const keepAll = json(rvcOk(d, ['gc', '-w', '--keep-run-cache', '--json']));
    expect(keepAll.removed).toEqual([]);
    expect(keepAll.runs).toEqual({ removed: [], kept: 3 });
    expect(cacheFiles(d)).toEqual(before);

    // --rev HEAD keeps the committed run (lr 1) and the workspace's (lr 3): only lr 2 goes.
    const rev = json(rvcOk(d, ['gc', '--rev', 'HEAD', '-f', '--json']));
    expect(rev.runs.removed).toHaveLength(1);
    expect(rev.runs.kept).toBe(2);
    expect(rev.removed.map((r: { oid: string }) => r.oid)).toContain(oids[1]);
    expect(rev.removed).toHaveLength(2);
    expect(runEntries(d)).toHaveLength(2);
    rvcOk(d, ['fsck']);

    // repro after gc: lr 1's entry survived and restores; lr 2's is gone and runs.
    writeTree(d, { 'params.yaml': 'lr: 1\n' });
    expect(stageStatus(d)).toBe('restored');
    expect(fs.readFileSync(path.join(d, 'model/w.bin'), 'utf8')).toBe('lr: 1\n');
    writeTree(d, { 'params.yaml': 'lr: 3\n' });
    expect(stageStatus(d)).toBe('restored');

    // On the remote, --keep-run-cache keeps every entry there (lr 2's too, gone locally) and
    // what it records.
    const cloudKeep = json(rvcOk(d, ['gc', '-w', '--cloud', '--keep-run-cache', '--dry-run', '--json']));
    expect(cloudKeep.cloud.runs).toEqual({ removed: [], kept: 3 });
    expect(cloudKeep.cloud.removed).toEqual([]);

    // -w now: only the current run's entry and objects stay, here and on the remote; a damaged
    // entry (it records nothing) goes too. -f does not stand for a scope.
    const algo = runEntries(d)[0]!.split('/')[1]!;
    const damaged = `runs/${algo}/00/${'0'.repeat(62)}`;
    fs.mkdirSync(path.join(d, '.rvc/cache', path.dirname(damaged)), { recursive: true });
    fs.writeFileSync(path.join(d, '.rvc/cache', damaged), 'not json\n');
    expect(rvc(d, ['gc', '-f']).code).toBe(2);
    const ws = json(rvcOk(d, ['gc', '-w', '--cloud', '--json']));
    expect(ws.runs.removed).toEqual(expect.arrayContaining([{ entry: damaged, outs: [], damaged: true }]));
    expect(ws.runs.removed).toHaveLength(2);
    expect(ws.runs.kept).toBe(1);
    // lr 1's manifest and w.bin, and lr 2's manifest, which the gc above fetched to keep its files.
    expect(ws.removed.map((r: { oid: string }) => r.oid)).toEqual(expect.arrayContaining([oids[0], oids[1]]));
    expect(ws.removed).toHaveLength(3);
    expect(runEntries(d)).toHaveLength(1);
    expect(ws.cloud.runs.removed).toHaveLength(2);
    expect(ws.cloud.runs.kept).toBe(1);
    expect(ws.cloud.removed).toHaveLength(4);
    const remoteAfter = remoteFiles();
    expect(remoteAfter.filter((f) => f.startsWith('runs/'))).toEqual(runEntries(d));
    expect(remoteAfter).toEqual(remoteBefore.filter((f) => !ws.cloud.removed.includes(f) && !ws.cloud.runs.removed.includes(f)));
    rvcOk(d, ['fsck']);
    expect(stageStatus(d)).toBe('up to date');
    writeTree(d, { 'params.yaml': 'lr: 2\n' });
    expect(stageStatus(d)).toBe('ran');
    expect(fs.readFileSync(path.join(d, 'model/w.bin'), 'utf8')).toBe('lr: 2\n');
    // repro takes --dry-run too, as DVC's spelling; it runs nothing.
    writeTree(d, { 'params.yaml': 'lr: 4\n' });
    expect(stageStatus(d, ['--dry-run'])).toBe('would run');
    expect(fs.readFileSync(path.join(d, 'model/w.bin'), 'utf8')).toBe('lr: 2\n');
  });

});
