import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvcOk, git, makeRepo, writeTree, rmrf, tmpDir, ROOT } from '../helpers/cli.js';

/**
 * The public library API (the package's `main`, dist/index.js), called directly: no binary.
 * Each verb must cover pointer outputs and pipeline outputs (rvc.lock) alike, and take stage
 * names and stage outputs as targets, as the commands of the same name do.
 */
type Lib = typeof import('../../src/index.js');
const lib = (await import(path.join(ROOT, 'dist/index.js'))) as Lib;

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

/** Every object file below a cache or folder remote, as `algo/oid`. */
function objectsIn(dir: string): string[] {
  const res: string[] = [];
  for (const algo of ['blake3', 'sha256']) {
    const base = path.join(dir, algo);
    if (!fs.existsSync(base)) continue;
    for (const shard of fs.readdirSync(base)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const n of fs.readdirSync(path.join(base, shard))) if (/^[0-9a-f]+(\.tree)?$/.test(n)) res.push(`${algo}/${shard}${n}`);
    }
  }
  return res.sort();
}

/**
 * A project with both kinds of outputs: `raw/` tracked by a pointer, and stage `train` writing
 * `model.pkl` (cached) and `eval/plots/` (`cache: false`, DVC's tutorial layout), recorded in
 * rvc.lock; a folder remote set as default. Returns the repository and the remote.
 */
function project(): { d: string; store: string } {
  const d = makeRepo();
  made.push(d);
  const store = tmpDir('rvc-store-');
  made.push(store);
  rvcOk(d, ['remote', 'add', '-d', 'store', store]);
  writeTree(d, { 'raw/a.txt': 'a\n', 'raw/b.txt': 'b\n' });
  rvcOk(d, ['add', 'raw']);
  rvcOk(d, ['stage', 'add', '-n', 'train', '-d', 'raw', '-o', 'model.pkl', '-O', 'eval/plots',
    'cat raw/*.txt > model.pkl && mkdir -p eval/plots && ls raw > eval/plots/p.csv']);
  rvcOk(d, ['repro', '-q']);
  git(d, ['add', '-A']);
  git(d, ['commit', '-q', '-m', 'data and model']);
  return { d, store };
}

describe('library: status', () => {
  it('reports pointer outputs and the stages of the pipeline in one call', async () => {
    const { d } = project();
    const clean = await lib.status({ cwd: d });
    expect(clean.outs.map((o) => o.path)).toEqual(['raw']);
    expect(clean.pipeline?.clean).toBe(true);
    fs.writeFileSync(path.join(d, 'model.pkl'), 'edited\n');
    const r = await lib.status({ cwd: d });
    expect(r.pipeline?.clean).toBe(false);
    expect(r.pipeline?.stages.find((s) => s.name === 'train')?.reasons).toContainEqual({ kind: 'out-modified', path: 'model.pkl' });
  });

  it('takes a stage output or a stage name as a target', async () => {
    const { d } = project();
    fs.writeFileSync(path.join(d, 'model.pkl'), 'edited\n');
    for (const t of ['model.pkl', 'train']) {
      const r = await lib.status({ cwd: d, targets: [t] });
      expect(r.outs).toEqual([]);
      expect(r.pipeline?.stages.map((s) => [s.name, s.state])).toEqual([['train', 'stale']]);
    }
  });
});

describe('library: checkout', () => {
  it('restores pointer and stage outputs, by path, by stage name, or all', async () => {
    const { d } = project();
    fs.rmSync(path.join(d, 'model.pkl'));
    fs.rmSync(path.join(d, 'raw'), { recursive: true });
    const one = await lib.checkout({ cwd: d, targets: ['model.pkl'] });
    expect(one.outs.map((o) => o.path)).toEqual(['model.pkl']);
    expect(fs.readFileSync(path.join(d, 'model.pkl'), 'utf8')).toBe('a\nb\n');
    fs.rmSync(path.join(d, 'model.pkl'));
    const byStage = await lib.checkout({ cwd: d, targets: ['train'] });
    expect(byStage.outs.map((o) => [o.path, o.stage])).toEqual([['model.pkl', 'train']]);
    expect(fs.existsSync(path.join(d, 'raw'))).toBe(false);
    fs.rmSync(path.join(d, 'model.pkl'));
    const all = await lib.checkout({ cwd: d });
    expect(all.failed).toBe(0);
    expect(all.outs.map((o) => o.path).sort()).toEqual(['model.pkl', 'raw']);
    expect(fs.readFileSync(path.join(d, 'raw/b.txt'), 'utf8')).toBe('b\n');
  });
});

describe('library: commit', () => {
  it('records an edited stage output in rvc.lock (by path or stage name), and pointers as before', async () => {
    const { d } = project();
    fs.writeFileSync(path.join(d, 'model.pkl'), 'tuned by hand\n');
    const r = await lib.commit({ cwd: d, targets: ['model.pkl'] });
    // The stage is recorded whole: every output of it, as it is now.
    expect(r.committed.map((c) => [c.path, c.stage, c.changed]).sort()).toEqual([['eval/plots', 'train', true], ['model.pkl', 'train', true]]);
    expect(fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8')).toContain('size: 14');
    expect((await lib.status({ cwd: d })).pipeline?.clean).toBe(true);
    fs.writeFileSync(path.join(d, 'raw/c.txt'), 'c\n');
    const all = await lib.commit({ cwd: d });
    // raw changed and is committed; train read raw, so it needs a run, not a commit: left stale.
    expect(all.committed.map((c) => [c.path, c.changed])).toEqual([['raw', true]]);
    expect(all.skipped).toEqual(['train']);
    expect((await lib.status({ cwd: d })).clean).toBe(true);
    expect((await lib.status({ cwd: d })).pipeline?.stages[0]?.reasons).toEqual([{ kind: 'dep-changed', path: 'raw' }]);
    // Named, the stage is recorded as it is (as `dvc commit train`).
    const named = await lib.commit({ cwd: d, targets: ['train'] });
    expect(named.committed.map((c) => [c.path, c.changed]).sort()).toEqual([['eval/plots', true], ['model.pkl', true]]);
    expect(fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8')).toMatch(/path: raw\n/);
    expect((await lib.status({ cwd: d })).pipeline?.clean).toBe(true);
  });
});

describe('library: push, fetch, pull, status --cloud', () => {
  it('cover the stage outputs with the pointer outputs, and take stage names as targets', async () => {
    const { d, store } = project();
    const before = await lib.statusCloud({ cwd: d });
    // model.pkl is new on the remote like raw's files; eval/plots is not cached, so not listed.
    expect(before.objects.filter((o) => o.state === 'new').flatMap((o) => o.paths).sort()).toEqual(['model.pkl', 'raw', 'raw/a.txt', 'raw/b.txt']);
    const pushedTrain = await lib.push({ cwd: d, targets: ['train'] });
    expect(pushedTrain.transferred).toBe(1);
    const p = await lib.push({ cwd: d });
    expect(p.failedCount).toBe(0);
    expect(p.transferred).toBe(3);
    const after = await lib.statusCloud({ cwd: d });
    expect(after.counts.new).toBe(0);

    // A fresh clone gets everything with pull, and one stage output alone with pull <stage output>.
    const c = tmpDir('rvc-clone-');
    made.push(c);
    git(path.dirname(c), ['clone', '-q', d, c]);
    const one = await lib.pull({ cwd: c, targets: ['model.pkl'] });
    expect(one.failedCount).toBe(0);
    expect(fs.readFileSync(path.join(c, 'model.pkl'), 'utf8')).toBe('a\nb\n');
    expect(fs.existsSync(path.join(c, 'raw'))).toBe(false);
    const f = await lib.fetch({ cwd: c });
    expect(f.failedCount).toBe(0);
    const all = await lib.pull({ cwd: c });
    expect(all.checkout.failed).toBe(0);
    expect(fs.readFileSync(path.join(c, 'raw/a.txt'), 'utf8')).toBe('a\n');
    expect(objectsIn(path.join(c, '.rvc/cache'))).toEqual(objectsIn(store));
  });
});

describe('library: diff', () => {
  it('compares pointer and stage outputs, and skips a cache: false folder output', async () => {
    const { d } = project();
    writeTree(d, { 'raw/c.txt': 'c\n' });
    rvcOk(d, ['add', 'raw']);
    rvcOk(d, ['repro', '-q']);
    const r = await lib.diff({ cwd: d });
    expect(r.added.map((f) => f.path)).toEqual(['raw/c.txt']);
    // eval/plots changed too, but is not cached: it has no manifest to compare, so it is left out.
    expect(r.modified.map((f) => f.path)).toEqual(['model.pkl']);
  });
});

describe('library: one scope, seen alike by every verb', () => {
  it('status --cloud, push, fetch, pull, checkout, commit and gc agree on what the workspace holds', async () => {
    const { d, store } = project();
    const cache = path.join(d, '.rvc/cache');
    // Garbage: an object nothing records.
    writeTree(d, { 'junk.txt': 'junk\n' });
    rvcOk(d, ['add', 'junk.txt']);
    fs.rmSync(path.join(d, 'junk.txt.rvc'));
    fs.rmSync(path.join(d, 'junk.txt'));
    const outputs = ['model.pkl', 'raw'];

    const sc = await lib.statusCloud({ cwd: d });
    const scope = sc.objects.map((o) => o.oid).sort();
    const gc = await lib.gc({ cwd: d, workspace: true });
    expect(gc.removed.length).toBe(1);
    expect(objectsIn(cache).map((o) => o.split('/')[1]).sort()).toEqual(scope);
    await lib.push({ cwd: d });
    expect(objectsIn(store).map((o) => o.split('/')[1]).sort()).toEqual(scope);
    fs.rmSync(cache, { recursive: true });
    await lib.fetch({ cwd: d });
    expect(objectsIn(cache).map((o) => o.split('/')[1]).sort()).toEqual(scope);
    for (const o of outputs) fs.rmSync(path.join(d, o), { recursive: true });
    const co = await lib.checkout({ cwd: d });
    expect(co.outs.map((o) => o.path).sort()).toEqual(outputs);
    const cm = await lib.commit({ cwd: d });
    expect(cm.committed.filter((o) => o.cached !== false).map((o) => o.path).sort()).toEqual(outputs);
    fs.rmSync(cache, { recursive: true });
    for (const o of outputs) fs.rmSync(path.join(d, o), { recursive: true });
    const pl = await lib.pull({ cwd: d });
    expect(pl.checkout.outs.map((o) => o.path).sort()).toEqual(outputs);
    expect(objectsIn(cache).map((o) => o.split('/')[1]).sort()).toEqual(scope);
  });
});
