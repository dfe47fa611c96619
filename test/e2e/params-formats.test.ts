import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf } from '../helpers/cli.js';

/**
 * Params and metrics files as DVC projects write them: Python and TOML params read by key,
 * `params diff` over whole files, and `metrics show` of named files with rounding and Markdown.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function runs(d: string): number {
  const f = path.join(d, 'runs.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
}

const TRAIN_PY = (lr: string, batch: string, comment: string) => `"""Training parameters."""
import os
from pathlib import Path

LR = ${lr}  # ${comment}
BATCH: int = ${batch}
DATA = Path("data")  # not a literal: not a param


class Model:
    depth = 3
    name = 'net'

    def __init__(self):
        self.dropout = 0.5


if __name__ == "__main__":
    print(LR)
`;

describe('Python and TOML params files', () => {
  it('a stage reading train.py and conf.toml (also as vars) reruns when a value it reads changes, not for comments or other keys; params diff shows whole files', () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, {
      'rvc.yaml': [
        'vars: [conf.toml]',
        'stages:',
        '  train:',
        '    cmd: echo run ${opt.beta} >> runs.log',
        '    params:',
        '      - train.py: [LR, Model.depth, Model.dropout]',
        '      - conf.toml: [opt.beta]',
        '',
      ].join('\n'),
      'train.py': TRAIN_PY('0.1', '32', 'learning rate'),
      'conf.toml': '[opt]\nbeta = 0.9\nstarted = 2024-01-02T03:04:05Z\n',
    });
    rvcOk(d, ['repro']);
    expect(fs.readFileSync(path.join(d, 'runs.log'), 'utf8')).toBe('run 0.9\n'); // vars: from a TOML file
    const lock = fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8');
    expect(lock).toMatch(/LR: 0\.1/);
    expect(lock).toMatch(/Model\.depth: 3/);
    expect(lock).toMatch(/Model\.dropout: 0\.5/);
    expect(lock).toMatch(/opt\.beta: 0\.9/);
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'v1']);

    // A comment, a key no stage reads and a non-literal do not make the stage stale.
    writeTree(d, { 'train.py': TRAIN_PY('0.1', '64', 'the learning rate').replace('DATA = Path("data")', 'DATA = Path("other")') });
    rvcOk(d, ['repro']);
    expect(runs(d)).toBe(1);

    writeTree(d, { 'train.py': TRAIN_PY('2e-1', '64', 'the learning rate') });
    expect(rvcOk(d, ['status']).stdout).toMatch(/changed params: LR 0\.1 → 0\.2/);
    rvcOk(d, ['repro']);
    expect(runs(d)).toBe(2);
    writeTree(d, { 'conf.toml': '[opt]\nbeta = 0.95\nstarted = 2024-01-02T03:04:05Z\n' });
    expect(rvcOk(d, ['status']).stdout).toMatch(/changed params: opt\.beta 0\.9 → 0\.95/);

    // Every param of the files stages read; --deps only those the stages list.
    expect(rvcOk(d, ['params', 'diff']).stdout).toBe([
      'Path       Param     HEAD  workspace',
      'conf.toml  opt.beta  0.9   0.95',
      'train.py   BATCH     32    64',
      'train.py   LR        0.1   0.2',
      '',
    ].join('\n'));
    expect(rvcOk(d, ['params', 'diff', '--deps', '--md']).stdout).toBe([
      '| Path      | Param    | HEAD | workspace |',
      '| --------- | -------- | ---- | --------- |',
      '| conf.toml | opt.beta | 0.9  | 0.95      |',
      '| train.py  | LR       | 0.1  | 0.2       |',
      '',
    ].join('\n'));
    const all = JSON.parse(rvcOk(d, ['params', 'diff', '--all', '--json']).stdout) as { changes: { file: string; key: string }[] };
    expect(all.changes.map((c) => `${c.file}:${c.key}`)).toEqual([
      'conf.toml:opt.beta', 'conf.toml:opt.started',
      'train.py:BATCH', 'train.py:LR', 'train.py:Model.depth', 'train.py:Model.dropout', 'train.py:Model.name',
    ]);

    // A Python file with a lexical error names the file and line.
    writeTree(d, { 'train.py': 'LR = 0.1\nNAME = "unterminated\n' });
    const bad = rvc(d, ['status']);
    expect(bad.stdout + bad.stderr).toContain('train.py:2: unterminated string literal');
  });
});

describe('metrics show and diff', () => {
  it('show takes metrics files (declared or not) and folders, --rev for a revision; show and diff round with --precision and print Markdown', () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, {
      'rvc.yaml': [
        'stages:',
        '  evaluate:',
        '    cmd: node ev.cjs',
        '    metrics:',
        '      - eval/m.json:',
        '          cache: false',
        '',
      ].join('\n'),
      'ev.cjs': "require('fs').writeFileSync('eval/m.json', JSON.stringify({ acc: 0.123456789, n: 3 }));\n",
      'eval/.keep': '',
      'extra.toml': 'loss = 1.23456789\n[per_class]\ncat = 0.5\n',
    });
    rvcOk(d, ['repro']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'v1']);

    expect(rvcOk(d, ['metrics', 'show']).stdout).toBe([
      'Path         Metric  Value',
      'eval/m.json  acc     0.12346',
      'eval/m.json  n       3',
      '',
    ].join('\n'));
    expect(rvcOk(d, ['metrics', 'show', 'extra.toml', 'eval', '--precision', '2', '--md']).stdout).toBe([
      '| Path        | Metric        | Value |',
      '| ----------- | ------------- | ----- |',
      '| eval/m.json | acc           | 0.12  |',
      '| eval/m.json | n             | 3     |',
      '| extra.toml  | loss          | 1.23  |',
      '| extra.toml  | per_class.cat | 0.5   |',
      '',
    ].join('\n'));
    // What used to be `metrics show <rev>`: a missing file, with the option named in the hint.
    const asRev = rvc(d, ['metrics', 'show', 'HEAD']);
    expect(asRev.code).toBe(1);
    expect(asRev.stderr).toContain("metrics file 'HEAD' does not exist");
    expect(asRev.stderr).toContain('--rev');

    writeTree(d, { 'eval/m.json': '{"acc": 0.2, "n": 3}', 'extra.toml': 'loss = 1.0\n' });
    expect(JSON.parse(rvcOk(d, ['metrics', 'show', '--rev', 'HEAD', '--json']).stdout).metrics).toEqual({ 'eval/m.json': { acc: 0.123456789, n: 3 } });
    expect(rvcOk(d, ['metrics', 'diff', '--precision', '3', '--md']).stdout).toBe([
      '| Path        | Metric | HEAD  | workspace | Change |',
      '| ----------- | ------ | ----- | --------- | ------ |',
      '| eval/m.json | acc    | 0.123 | 0.2       | +0.077 |',
      '',
    ].join('\n'));
    expect(rvc(d, ['metrics', 'diff', '--precision', '-1']).code).toBe(2);
  });
});
