import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';

/**
 * Params and metrics across git revisions, foreach templating, gc keeping pipeline outputs,
 * and the run-cache shared through a remote with a clone.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

function ran(d: string): string[] {
  const f = path.join(d, 'runs.log');
  if (!fs.existsSync(f)) return [];
  const names = fs.readFileSync(f, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(f);
  return names;
}

function read(d: string, rel: string): string {
  return fs.readFileSync(path.join(d, rel), 'utf8');
}

const PIPELINE = `stages:
  train:
    foreach: [small, large]
    do:
      cmd: echo train@\${item} >> runs.log && mkdir -p models && echo "\${item} lr=\${lr}" > models/\${item}.txt
      params: [lr]
      outs: ["models/\${item}.txt"]
  evaluate:
    cmd: node ev.mjs
    deps: [ev.mjs, models]
    params:
      - params.yaml:
    metrics: [metrics.json]
`;

const EV = `import fs from 'node:fs';
fs.appendFileSync('runs.log', 'evaluate\\n');
const p = Object.fromEntries(fs.readFileSync('params.yaml', 'utf8').trim().split('\\n').map((l) => l.split(': ')));
fs.writeFileSync('metrics.json', JSON.stringify({ acc: Math.round((1 - Number(p.lr)) * 100) / 100, train: { epochs: Number(p.epochs), models: fs.readdirSync('models').filter((f) => f.endsWith('.txt')).length } }));
`;

describe('params and metrics across revisions', () => {
  it('diffs params and metrics (cached metrics read through rvc.lock), shows metrics, keeps outputs through gc, shares the run-cache', () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, { 'rvc.yaml': PIPELINE, 'ev.mjs': EV, 'params.yaml': 'lr: 0.1\nepochs: 5\n' });
    rvcOk(d, ['repro']);
    expect(ran(d).sort()).toEqual(['evaluate', 'train@large', 'train@small']);
    expect(read(d, 'models/large.txt')).toBe('large lr=0.1\n');
    // metrics.json is cached, so git ignores it: older values come from the cache.
    expect(read(d, '.gitignore')).toContain('/metrics.json');
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'v1']);
    expect(rvcOk(d, ['params', 'diff']).stdout).toBe('No params changed between HEAD and workspace.\n');

    writeTree(d, { 'params.yaml': 'lr: 0.3\nepochs: 6\n' });
    const pd = rvcOk(d, ['params', 'diff']);
    expect(pd.stdout).toBe([
      'Path         Param   HEAD  workspace',
      'params.yaml  epochs  5     6',
      'params.yaml  lr      0.1   0.3',
      '',
    ].join('\n'));
    rvcOk(d, ['repro']);
    expect(ran(d).sort()).toEqual(['evaluate', 'train@large', 'train@small']);
    const md = json(rvcOk(d, ['metrics', 'diff', '--json']));
    expect(md.changes).toEqual([
      { path: 'metrics.json', key: 'acc', old: 0.9, new: 0.7, change: expect.closeTo(-0.2, 10) },
      { path: 'metrics.json', key: 'train.epochs', old: 5, new: 6, change: 1 },
    ]);
    expect(rvcOk(d, ['metrics', 'diff']).stdout).toBe([
      'Path          Metric        HEAD  workspace  Change',
      'metrics.json  acc           0.9   0.7        -0.2',
      'metrics.json  train.epochs  5     6          +1',
      '',
    ].join('\n'));
    git(d, ['commit', '-qam', 'v2']);
    expect(json(rvcOk(d, ['metrics', 'diff', 'HEAD~1', 'HEAD', '--json'])).changes.map((c: any) => c.key)).toEqual(['acc', 'train.epochs']);
    expect(json(rvcOk(d, ['params', 'diff', 'HEAD~1', '--json'])).changes).toEqual([
      { file: 'params.yaml', key: 'epochs', change: 'modified', old: 5, new: 6 },
      { file: 'params.yaml', key: 'lr', change: 'modified', old: 0.1, new: 0.3 },
    ]);
    expect(rvcOk(d, ['metrics', 'show']).stdout).toBe([
      'Path          Metric        Value',
      'metrics.json  acc           0.7',
      'metrics.json  train.epochs  6',
      'metrics.json  train.models  2',
      '',
    ].join('\n'));

    // gc keeps what rvc.lock records in the scope (there are no pointer files at all), and the
    // run-cache entries of those runs: every commit's runs here.
    const gc = json(rvcOk(d, ['gc', '--all-commits', '--json']));
    expect(gc.removed).toEqual([]);
    expect(gc.runs).toEqual({ removed: [], kept: 6 });
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.clean).toBe(true);

    // The run-cache travels through a remote to a clone, which then restores instead of running.
    const store = tmpDir('rvc-remote-');
    made.push(store);
    rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    git(d, ['commit', '-qam', 'remote']);
    expect(rvcOk(d, ['push', '--run-cache']).stdout).toMatch(/6 run-cache entries pushed/);
    const clone = tmpDir('rvc-clone-');
    made.push(clone);
    git(path.dirname(clone), ['clone', '-q', d, clone]);
    const pulled = rvcOk(clone, ['pull', '--run-cache']);
    expect(pulled.stdout).toMatch(/6 run-cache entries fetched/);
    expect(pulled.stdout).toContain('A       models/small.txt');
    expect(read(clone, 'models/small.txt')).toBe('small lr=0.3\n');
    expect(rvcOk(clone, ['repro']).stdout).toMatch(/Data and pipelines are up to date/);
    writeTree(clone, { 'params.yaml': 'lr: 0.1\nepochs: 5\n' });
    const back = rvcOk(clone, ['repro']);
    expect(back.stdout).toContain("Stage 'train@small' is cached — restored outputs");
    expect(back.stdout).toContain("Stage 'evaluate' is cached — restored outputs");
    expect(ran(clone)).toEqual([]);
    expect(read(clone, 'models/small.txt')).toBe('small lr=0.1\n');
    expect(JSON.parse(read(clone, 'metrics.json')).acc).toBe(0.9);
  });
});
