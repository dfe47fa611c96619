import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf } from '../helpers/cli.js';

/**
 * `rvc lineage`: the provenance of an output at a revision, read from git objects, and the
 * reverse question — which commits were built from one version of a data set. A second
 * pipeline file (sub/rvc.yaml) continues the chain.
 */

const PIPELINE = `stages:
  prepare:
    cmd: cat data/raw/a.csv > prepared.txt
    deps: [data/raw]
    outs: [prepared.txt]
  train:
    cmd: sh train.sh
    deps: [train.sh, prepared.txt]
    params: [lr]
    outs: [model.txt]
`;

let d = '';
/** Commits by name: c1 data v1; c2 lr 0.2; c3 data v2; c4 new train.sh; c5 lr 0.3. */
const c: Record<string, string> = {};
let rawV1 = '';

function step(name: string, files: Record<string, string>, addData = false): void {
  writeTree(d, files);
  if (addData) rvcOk(d, ['add', 'data/raw']);
  rvcOk(d, ['repro']);
  git(d, ['add', '-A']);
  git(d, ['commit', '-q', '-m', name]);
  c[name] = git(d, ['rev-parse', 'HEAD']).trim();
}

function json<T = any>(args: string[]): T {
  return JSON.parse(rvcOk(d, [...args, '--json']).stdout) as T;
}

beforeAll(() => {
  d = makeRepo();
  step('c1', {
    'data/raw/a.csv': 'x,y\n1,2\n', 'rvc.yaml': PIPELINE, 'params.yaml': 'lr: 0.1\n',
    'train.sh': 'echo "$(cat params.yaml) $(cat prepared.txt) v1" > model.txt\n',
    'sub/rvc.yaml': 'stages:\n  evaluate:\n    cmd: cat ../model.txt > score.txt\n    deps: [../model.txt]\n    outs: [score.txt]\n',
  }, true);
  rawV1 = /oid: (\S+)/.exec(git(d, ['show', 'HEAD:data/raw.rvc']))![1]!;
  step('c2', { 'params.yaml': 'lr: 0.2\n' });
  step('c3', { 'data/raw/a.csv': 'x,y\n1,2\n3,4\n' }, true);
  step('c4', { 'train.sh': 'echo "$(cat params.yaml) $(cat prepared.txt) v2" > model.txt\n' });
  step('c5', { 'params.yaml': 'lr: 0.3\n' });
});
afterAll(() => rmrf(d));

describe('rvc lineage', () => {
  it('gives the chain of stages of an output at HEAD and at an older revision, with code blobs, params and data versions', () => {
    const head = json(['lineage', 'model.txt']);
    expect(head.commit).toBe(c.c5);
    expect(head.stages.map((s: any) => s.stage)).toEqual(['train', 'prepare']);
    const [train, prepare] = head.stages;
    expect(train.params).toEqual({ 'params.yaml': { lr: 0.3 } });
    expect(train.inputs.find((i: any) => i.path === 'train.sh')).toMatchObject({ kind: 'code', blob: git(d, ['rev-parse', `${c.c5}:train.sh`]).trim() });
    expect(train.inputs.find((i: any) => i.path === 'prepared.txt')).toMatchObject({ kind: 'data', source: 'stage', producer: 'prepare', firstCommit: c.c3 });
    expect(train.recorded).toMatchObject({ commit: c.c5, author: 'rvc test', email: 'test@example.com', subject: 'c5' });
    const raw = prepare.inputs[0];
    expect(raw).toMatchObject({ path: 'data/raw', kind: 'data', source: 'pointer', firstCommit: c.c3 });
    expect(raw.oid).not.toBe(rawV1);
    // The prepare entry has not changed since the data did.
    expect(prepare.recorded.commit).toBe(c.c3);

    const old = json(['lineage', 'model.txt', '--rev', 'HEAD~3']);
    expect(old.commit).toBe(c.c2);
    expect(old.stages[0].params).toEqual({ 'params.yaml': { lr: 0.2 } });
    expect(old.stages[0].inputs.find((i: any) => i.path === 'train.sh').blob).toBe(git(d, ['rev-parse', `${c.c2}:train.sh`]).trim());
    expect(old.stages[0].recorded.commit).toBe(c.c2);
    expect(old.stages[1].inputs[0]).toMatchObject({ path: 'data/raw', oid: rawV1, firstCommit: c.c1 });
    expect(old.stages[1].recorded.commit).toBe(c.c1);

    // Across pipeline files: the chain goes on through the root file's stages.
    const text = rvcOk(d, ['lineage', 'sub/score.txt']).stdout;
    expect(text).toContain('stage sub/rvc.yaml:evaluate (sub/rvc.lock)');
    expect(text).toContain('data: model.txt');
    expect(text).toContain('from stage train');
    expect(text).toContain('stage train (rvc.lock)');
    expect(text).toContain('param: params.yaml:lr = 0.3');
    expect(text).toContain('stage prepare (rvc.lock)');
  });

  it('lists exactly the commits built from an old data version, and none for an unknown one', () => {
    const r = json(['lineage', '--uses', 'data/raw', '--oid', rawV1, '--all-commits']);
    expect(r.commits).toBe(6);
    expect(r.used.map((u: any) => u.commit).sort()).toEqual([c.c1, c.c2].sort());
    expect(r.used[0].stages).toEqual(['prepare', 'sub/rvc.yaml:evaluate', 'train']);
    expect(r.used[0].outputs).toEqual(['model.txt', 'prepared.txt', 'sub/score.txt']);
    // Default version: the one the workspace records (v2), built in c3, c4, c5.
    const now = json(['lineage', '--uses', 'data/raw', '-A']);
    expect(now.used.map((u: any) => u.commit).sort()).toEqual([c.c3, c.c4, c.c5].sort());
    expect(json(['lineage', '--uses', 'data/raw', '--oid', rawV1]).used).toEqual([]);
    expect(rvc(d, ['lineage', 'model.txt', '--uses', 'data/raw']).code).toBe(2);
  });

  it('renders the lineage as Graphviz DOT and Mermaid', () => {
    const dot = rvcOk(d, ['lineage', 'model.txt', '--dot']).stdout;
    expect(dot).toMatch(/^strict digraph lineage \{/);
    expect(dot).toContain('"data/raw" -> "stage:prepare";');
    expect(dot).toContain('"stage:train" -> "model.txt";');
    expect(dot).toContain('"train.sh" [shape=note];');
    const mm = rvcOk(d, ['lineage', 'model.txt', '--mermaid']).stdout;
    expect(mm).toMatch(/^flowchart LR\n/);
    expect(mm).toContain('[("data/raw")]');
    expect(mm).toMatch(/n\d+ --> n\d+/);
  });

  it('counts experiments among the commits built from a data version, named, and follows an output at an experiment', () => {
    rvcOk(d, ['exp', 'run', '-S', 'lr=0.9', '-n', 'tuned']);
    const exp = git(d, ['for-each-ref', '--format=%(objectname)', 'refs/exps/']).trim();
    const r = json(['lineage', '--uses', 'data/raw', '-A']);
    expect(r.used.map((u: any) => u.commit).sort()).toEqual([c.c3, c.c4, c.c5, exp].sort());
    expect(r.used.find((u: any) => u.commit === exp).experiment).toBe('tuned');
    expect(r.used.find((u: any) => u.commit === c.c5).experiment).toBeUndefined();
    expect(rvcOk(d, ['lineage', '--uses', 'data/raw', '-A']).stdout).toContain(`${exp.slice(0, 8)} (experiment tuned)`);
    const fwd = json(['lineage', 'model.txt', '--rev', 'tuned']);
    expect(JSON.stringify(fwd)).toContain('0.9');
  });
});
