import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';

/**
 * Pipeline outputs (recorded in rvc.lock) seen by every data command the way pointer outputs
 * are: as targets by path or stage name, in status --cloud, push, fetch, pull, checkout, commit
 * and diff. Each case is one a new user meets right after `rvc repro`.
 */
const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

const json = (r: string | { stdout: string }) => JSON.parse(typeof r === 'string' ? r : r.stdout);

/** `raw/` tracked by a pointer; stage `train` writes model.pkl (cached) and eval/plots/ (not cached). */
function project(): { d: string; store: string } {
  const d = makeRepo();
  made.push(d);
  const store = tmpDir('rvc-store-');
  made.push(store);
  rvcOk(d, ['remote', 'add', '-d', 'store', store]);
  writeTree(d, { 'raw/a.txt': 'a\n' });
  rvcOk(d, ['add', 'raw']);
  rvcOk(d, ['stage', 'add', '-n', 'train', '-d', 'raw', '-o', 'model.pkl', '-O', 'eval/plots',
    'cat raw/*.txt > model.pkl && mkdir -p eval/plots && ls raw > eval/plots/files.csv']);
  rvcOk(d, ['repro', '-q']);
  git(d, ['add', '-A']);
  git(d, ['commit', '-q', '-m', 'v1']);
  return { d, store };
}

describe('stage outputs in the data commands', () => {
  it('status --cloud after repro names the new model; push uploads it; then in sync', () => {
    const { d } = project();
    rvcOk(d, ['push']);
    writeTree(d, { 'raw/b.txt': 'b\n' });
    rvcOk(d, ['add', 'raw']);
    rvcOk(d, ['repro', '-q']);
    const st = rvc(d, ['status', '--cloud']);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/new\s+model\.pkl/);
    expect(st.stdout).not.toMatch(/in sync\./);
    const p = json(rvcOk(d, ['push', '--json']).stdout);
    // raw's new manifest and b.txt, and the new model.
    expect(p.transferred).toBe(3);
    expect(rvcOk(d, ['status', '--cloud']).stdout).toMatch(/are in sync/);
  });

  it('push, pull, fetch and checkout take a stage name or a stage output as target', () => {
    const { d } = project();
    expect(json(rvcOk(d, ['push', 'train', '--json']).stdout).transferred).toBe(1);
    rvcOk(d, ['push']);
    const c = tmpDir('rvc-clone-');
    made.push(c);
    git(path.dirname(c), ['clone', '-q', d, c]);
    rvcOk(c, ['pull', 'model.pkl']);
    expect(fs.readFileSync(path.join(c, 'model.pkl'), 'utf8')).toBe('a\n');
    expect(fs.existsSync(path.join(c, 'raw'))).toBe(false);
    rvcOk(c, ['fetch', 'raw']);
    fs.rmSync(path.join(c, 'model.pkl'));
    const co = rvcOk(c, ['checkout', 'model.pkl']);
    expect(co.stdout).toMatch(/model\.pkl/);
    expect(fs.readFileSync(path.join(c, 'model.pkl'), 'utf8')).toBe('a\n');
    fs.rmSync(path.join(c, 'model.pkl'));
    rvcOk(c, ['checkout', 'train']);
    expect(fs.existsSync(path.join(c, 'model.pkl'))).toBe(true);
    // A name that is neither tracked nor a stage says so, and how to track it.
    const bad = rvc(c, ['checkout', 'nosuch']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not tracked/);
  });

  it('commit after editing a stage output records it in rvc.lock, so status is clean', () => {
    const { d } = project();
    fs.writeFileSync(path.join(d, 'model.pkl'), 'fine-tuned by hand\n');
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.clean).toBe(false);
    const r = json(rvcOk(d, ['commit', 'model.pkl', '--json']).stdout);
    expect(r.committed.find((c: { path: string }) => c.path === 'model.pkl')).toMatchObject({ stage: 'train', changed: true });
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.clean).toBe(true);
    // The edited model is the recorded one: a checkout after deleting it brings the edit back.
    fs.rmSync(path.join(d, 'model.pkl'));
    rvcOk(d, ['checkout']);
    expect(fs.readFileSync(path.join(d, 'model.pkl'), 'utf8')).toBe('fine-tuned by hand\n');
  });

  it('diff works with a cache: false folder output, leaving it out', () => {
    const { d } = project();
    writeTree(d, { 'raw/b.txt': 'b\n' });
    rvcOk(d, ['add', 'raw']);
    rvcOk(d, ['repro', '-q']);
    const r = rvc(d, ['diff', '--json']);
    expect(r.code).toBe(0);
    const j = json(r.stdout);
    expect(j.added.map((f: { path: string }) => f.path)).toEqual(['raw/b.txt']);
    expect(j.modified.map((f: { path: string }) => f.path)).toEqual(['model.pkl']);
    git(d, ['commit', '-qam', 'v2']);
    const between = json(rvcOk(d, ['diff', 'HEAD~1', 'HEAD', '--json']).stdout);
    expect(between.modified.map((f: { path: string }) => f.path)).toEqual(['model.pkl']);
    // A stage name narrows the diff to its outputs.
    const byStage = json(rvcOk(d, ['diff', 'HEAD~1', 'HEAD', 'train', '--json']).stdout);
    expect([...byStage.added, ...byStage.modified].map((f: { path: string }) => f.path)).toEqual(['model.pkl']);
  });
});
