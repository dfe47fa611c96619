import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf } from '../helpers/cli.js';

/**
 * A pipeline whose metric is known from its params (acc = seed / 10 + lr), run as experiments
 * with `rvc exp run -S`, so every figure `exp show` prints can be checked.
 */
const TRAIN = `const fs = require('fs');
const p = Object.fromEntries(fs.readFileSync('params.yaml', 'utf8').trim().split('\\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
fs.writeFileSync('metrics.json', JSON.stringify({ acc: p.seed / 10 + p.lr, epochs: p.epochs }));
`;
const PIPELINE = `stages:
  train:
    cmd: node train.js
    deps: [train.js]
    params: [seed, lr, epochs]
    metrics:
      - metrics.json:
          cache: false
`;

interface Row { kind: string; name: string; rev: string; state?: string; params: Record<string, unknown>; metrics: Record<string, unknown>; error?: string }
interface Show { columns: { params: string[]; metrics: string[] }; rows: Row[]; groups?: { members: string[]; metrics: Record<string, { n: number; mean: number; std?: number; ci95?: [number, number] }>; replicateValues: Record<string, unknown[]> }[] }

const show = (dir: string, args: string[] = []): Show => JSON.parse(rvcOk(dir, ['exp', 'show', '--json', ...args]).stdout) as Show;
const names = (s: Show, kind = 'experiment'): string[] => s.rows.filter((r) => r.kind === kind).map((r) => r.name);

describe('rvc exp show', () => {
  let dir: string;
  let base: string;
  beforeAll(() => {
    dir = makeRepo();
    writeTree(dir, { 'train.js': TRAIN, 'rvc.yaml': PIPELINE, 'params.yaml': 'seed: 1\nlr: 0.5\nepochs: 10\n' });
    rvcOk(dir, ['repro', '-q']);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'baseline']);
    base = git(dir, ['rev-parse', 'HEAD']).trim();
    for (const s of [1, 2, 3]) rvcOk(dir, ['exp', 'run', '-q', '-S', `seed=${s}`, '-n', `s${s}`]);
    rvcOk(dir, ['exp', 'run', '-q', '-S', 'seed=4', '-S', 'lr=1', '-n', 'other']);
  });
  afterAll(() => rmrf(dir));

  it('lists the workspace, the baseline and its experiments with every metric and param, as JSON, CSV, Markdown and a table', () => {
    const s = show(dir);
    expect(s.columns.metrics).toEqual(['metrics.json:acc', 'metrics.json:epochs']);
    expect(s.columns.params).toEqual(['params.yaml:epochs', 'params.yaml:lr', 'params.yaml:seed']);
    expect(s.rows.map((r) => r.kind)).toEqual(['workspace', 'baseline', 'experiment', 'experiment', 'experiment', 'experiment']);
    const baseline = s.rows[1]!;
    expect(baseline).toMatchObject({ name: 'main', rev: base, metrics: { 'metrics.json:acc': 0.6 }, params: { 'params.yaml:seed': 1 } });
    expect(new Set(names(s))).toEqual(new Set(['s1', 's2', 's3', 'other']));
    const other = s.rows.find((r) => r.name === 'other')!;
    expect(other).toMatchObject({ state: 'success', params: { 'params.yaml:lr': 1, 'params.yaml:seed': 4 }, metrics: { 'metrics.json:acc': 1.4 } });

    const csv = rvcOk(dir, ['exp', 'show', '--csv']).stdout.split('\n');
    expect(csv[0]).toBe('Experiment,rev,Created,State,metrics.json:acc,metrics.json:epochs,params.yaml:epochs,params.yaml:lr,params.yaml:seed');
    const s2 = s.rows.find((r) => r.name === 's2')!;
    expect(csv.find((l) => l.startsWith('s2,'))).toMatch(new RegExp(`^s2,${s2.rev.slice(0, 7)},[^,]+,success,0\\.7,10,10,0\\.5,2$`));
    const md = rvcOk(dir, ['exp', 'show', '--md']).stdout;
    expect(md).toMatch(/^\| Experiment +\| rev +\|/);
    expect(md).toMatch(/\| s3 +\| [0-9a-f]{7} +\|.*\| 0\.8 +\|/);
    const table = rvcOk(dir, ['exp', 'show', '--precision', '0']).stdout;
    expect(table).toMatch(/^main +[0-9a-f]{7} .* 1 +10 +10 +0\.5 +1$/m);
    expect(table).toMatch(/└── \w+/);
  });

  it('sorts experiments by a metric, and chooses columns with --only-changed, --keep and --drop', () => {
    expect(names(show(dir, ['--sort-by', 'acc', '--sort-order', 'desc']))).toEqual(['other', 's3', 's2', 's1']);
    const bad = rvc(dir, ['exp', 'show', '--sort-by', 'epochs']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('metrics.json:epochs, params.yaml:epochs');
    // --keep wins over --only-changed: the unchanged params.yaml:epochs stays, metrics.json:epochs goes.
    expect(show(dir, ['--only-changed', '--keep', '^params.yaml:epochs$']).columns).toEqual({ metrics: ['metrics.json:acc'], params: ['params.yaml:epochs', 'params.yaml:lr', 'params.yaml:seed'] });
    const dropped = show(dir, ['--drop', '^params', '--sort-by', 'params.yaml:seed']);
    expect(dropped.columns.params).toEqual([]);
    expect(names(dropped)).toEqual(['s1', 's2', 's3', 'other']);
  });

  it('groups seed replicates into one row with n, mean ± sample std and a 95% Student t interval; --json keeps every run', () => {
    const s = show(dir, ['--replicates', 'seed']);
    expect(names(s)).toHaveLength(4);
    const g = s.groups!.find((x) => x.members.length === 3)!;
    expect(new Set(g.members)).toEqual(new Set(['s1', 's2', 's3']));
    const acc = g.metrics['metrics.json:acc']!;
    expect(acc.n).toBe(3);
    expect(acc.mean).toBeCloseTo(0.7, 12);
    expect(acc.std).toBeCloseTo(0.1, 12);
    // t(0.975, 2) = 4.302653; half-width 4.302653 × 0.1 / √3 = 0.248414
    expect(acc.ci95![0]).toBeCloseTo(0.7 - 0.248414, 5);
    expect(acc.ci95![1]).toBeCloseTo(0.7 + 0.248414, 5);
    expect(s.groups!.find((x) => x.members[0] === 'other')!.metrics['metrics.json:acc']).toEqual({ n: 1, mean: 1.4 });
    // config exp.replicates is the default of --replicates.
    rvcOk(dir, ['config', 'exp.replicates', 'seed']);
    try {
      const table = rvcOk(dir, ['exp', 'show']).stdout;
      expect(table).toContain('0.7 ± 0.1 [0.45159, 0.94841]');
      expect(table.split('\n').filter((l) => /^(├|└)── /.test(l))).toHaveLength(2);
    } finally {
      rvcOk(dir, ['config', '--unset', 'exp.replicates']);
    }
  });

  it('shows queued and failed runs from the queue files, with their overrides on the baseline\'s params', () => {
    const q = path.join(dir, '.rvc/tmp/exps/queue');
    fs.mkdirSync(q, { recursive: true });
    const entry = (id: string, extra: Record<string, unknown>): void => fs.writeFileSync(path.join(q, `${id}.json`), JSON.stringify({
      id, name: null, baseline: base, params: [], targets: [], state: 'queued', created: '2026-01-01T00:00:00Z', ...extra,
    }));
    try {
      entry('0000000000a1', { name: 'waiting', params: ['seed=9'] });
      entry('0000000000a2', { name: 'broke', params: ['lr=2'], state: 'failed', error: 'stage train failed' });
      entry('0000000000a3', { name: 'elsewhere', baseline: 'f'.repeat(40) });
      fs.writeFileSync(path.join(q, '0000000000a4.json'), '{ half written');
      const s = show(dir);
      const queued = s.rows.filter((r) => r.kind === 'queued');
      expect(queued.map((r) => [r.name, r.state])).toEqual([['waiting', 'queued'], ['broke', 'failed']]);
      expect(queued[0]!.params).toEqual({ 'params.yaml:seed': 9, 'params.yaml:lr': 0.5, 'params.yaml:epochs': 10 });
      expect(queued[1]).toMatchObject({ error: 'stage train failed', params: { 'params.yaml:lr': 2 } });
      expect(rvcOk(dir, ['exp', 'show']).stdout).toMatch(/└── broke +0000000 +2026-01-01 00:00:00 +failed/);
    } finally {
      rmrf(path.join(dir, '.rvc/tmp/exps'));
    }
  });

  it('metrics show -A/-a/-n: one row per revision, experiments left out; exp show -a: every branch as a baseline', () => {
    git(dir, ['checkout', '-q', '-b', 'wide']);
    try {
      fs.writeFileSync(path.join(dir, 'params.yaml'), 'seed: 5\nlr: 0.5\nepochs: 10\n');
      rvcOk(dir, ['repro', '-q']);
      git(dir, ['commit', '-q', '-am', 'wide']);
      const all = JSON.parse(rvcOk(dir, ['metrics', 'show', '-A', '--json']).stdout) as { revisions: { label: string; values: Record<string, Record<string, number>> }[] };
      expect(all.revisions.map((r) => [r.label, r.values['metrics.json']?.acc])).toEqual([['workspace', 1], ['wide', 1], ['main', 0.6], [expect.stringMatching(/^[0-9a-f]{7}$/), undefined]]);
      const branches = rvcOk(dir, ['metrics', 'show', '--all-branches', '--md']).stdout;
      expect(branches).toMatch(/\| Revision +\| metrics\.json:acc +\| metrics\.json:epochs +\|/);
      expect(branches).toMatch(/\| main +\| 0\.6 +\| 10 +\|/);
      expect(rvcOk(dir, ['metrics', 'show', '-n', '1']).stdout.trim().split('\n').map((l) => l.split(/ +/)[0])).toEqual(['Revision', 'workspace', 'wide']);
      const s = show(dir, ['-a']);
      expect(s.rows.filter((r) => r.kind === 'baseline').map((r) => r.name)).toEqual(['wide', 'main']);
      expect(names(s)).toHaveLength(4);
    } finally {
      git(dir, ['checkout', '-q', '-f', 'main']);
    }
  });
});
