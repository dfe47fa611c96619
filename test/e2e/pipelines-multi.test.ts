import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf } from '../helpers/cli.js';

/**
 * A monorepo with a pipeline file in several folders: each folder's rvc.yaml is a pipeline with
 * its rvc.lock beside it, paths relative to its folder, one graph across the files, targets and
 * defaults that follow the folder a command runs in, and history reading every lock file.
 */
const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

const json = (r: { stdout: string }) => JSON.parse(r.stdout);
const read = (d: string, rel: string) => fs.readFileSync(path.join(d, rel), 'utf8');

/**
 * root: prep (raw.txt → data/clean.txt); a/: train (../data/clean.txt + a/params.yaml → model.txt);
 * b/: train (../a/model.txt → report.txt). Two stages named `train`, in different files.
 */
function monorepo(): string {
  const d = makeRepo();
  made.push(d);
  writeTree(d, {
    'raw.txt': 'one\ntwo\n',
    'rvc.yaml': 'stages:\n  prep:\n    cmd: mkdir -p data && sort raw.txt > data/clean.txt\n    deps: [raw.txt]\n    outs: [data/clean.txt]\n',
    'a/params.yaml': 'lr: 0.1\n',
    'a/rvc.yaml': [
      'stages:',
      '  train:',
      '    cmd: (cat ../data/clean.txt; echo "lr=${lr}") > model.txt',
      '    deps: [../data/clean.txt]',
      '    params: [lr]',
      '    outs: [model.txt]',
      '',
    ].join('\n'),
    'b/rvc.yaml': 'stages:\n  train:\n    cmd: wc -l < ../a/model.txt > report.txt\n    deps: [../a/model.txt]\n    outs: [report.txt]\n',
  });
  return d;
}

describe('several pipeline files', () => {
  it('one graph across folders; ids, targets and defaults follow the folder; locks beside each file', () => {
    const d = monorepo();
    // Before anything ran, from a folder: status sees that folder's pipeline and what it reads
    // from others (what repro there would run), not "up to date".
    const st0 = json(rvcOk(path.join(d, 'b'), ['status', '--json']));
    expect(st0.pipeline.stages.map((s: { name: string }) => s.name)).toEqual(['prep', 'a/rvc.yaml:train', 'b/rvc.yaml:train']);
    expect(st0.pipeline.clean).toBe(false);

    // From b/: repro runs b's stage and everything upstream of it, in the other files.
    const r1 = json(rvcOk(path.join(d, 'b'), ['repro', '--json']));
    expect(r1.stages.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['prep:ran', 'a/rvc.yaml:train:ran', 'b/rvc.yaml:train:ran']);
    expect(r1.lockFiles).toEqual(['a/rvc.lock', 'b/rvc.lock', 'rvc.lock']);
    expect(read(d, 'a/model.txt')).toBe('one\ntwo\nlr=0.1\n');
    expect(read(d, 'b/report.txt').trim()).toBe('3');
    // Each lock file names its stages as its pipeline file does; paths are from the repository root.
    const lockA = read(d, 'a/rvc.lock');
    expect(lockA).toMatch(/^ {2}train:$/m);
    expect(lockA).toContain('path: a/model.txt');
    expect(lockA).toContain('path: data/clean.txt');
    expect(read(d, 'rvc.lock')).not.toContain('train');

    // A short name two files use is ambiguous from the root, and names the ids to choose from.
    const amb = rvc(d, ['repro', 'train', '--dry']);
    expect(amb.code).toBe(1);
    expect(amb.stderr).toContain('a/rvc.yaml:train');
    expect(amb.stderr).toContain('b/rvc.yaml:train');
    // In a folder, the short name is that folder's stage; `file:stage` and `folder:stage` work anywhere.
    writeTree(d, { 'a/params.yaml': 'lr: 0.2\n' });
    const dry = (cwd: string, ...args: string[]) => json(rvcOk(cwd, ['repro', '--dry', '--json', ...args])).stages
      .filter((s: { status: string }) => s.status === 'would run').map((s: { name: string }) => s.name);
    expect(dry(path.join(d, 'a'), 'train')).toEqual(['a/rvc.yaml:train']);
    expect(dry(d, 'a/rvc.yaml:train')).toEqual(['a/rvc.yaml:train']);
    expect(dry(d, 'a:train')).toEqual(['a/rvc.yaml:train']);
    expect(dry(path.join(d, 'b'), 'a/rvc.yaml:train')).toEqual(['a/rvc.yaml:train']);
    expect(dry(d, 'a/rvc.yaml')).toEqual(['a/rvc.yaml:train']);
    // From b/, status judges b's stage on its own inputs: a/model.txt has not changed yet.
    const fromB = json(rvcOk(path.join(d, 'b'), ['status', '--json'])).pipeline.stages;
    expect(fromB.map((s: { name: string; state: string }) => `${s.name}:${s.state}`)).toEqual(['prep:up to date', 'a/rvc.yaml:train:stale', 'b/rvc.yaml:train:up to date']);
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.stages.filter((s: { state: string }) => s.state === 'stale')
      .map((s: { name: string }) => s.name)).toEqual(['a/rvc.yaml:train']);

    // stage add in a folder writes that folder's rvc.yaml, paths as typed there.
    fs.mkdirSync(path.join(d, 'c'));
    const added = json(rvcOk(path.join(d, 'c'), ['stage', 'add', '--json', '-n', 'count', '-d', '../b/report.txt', '-o', 'n.txt', 'cp ../b/report.txt n.txt']));
    expect(added.name).toBe('c/rvc.yaml:count');
    expect(read(d, 'c/rvc.yaml')).toContain('- ../b/report.txt');
    // An output another file's stage declares is refused across files.
    const dup = rvc(path.join(d, 'c'), ['stage', 'add', '-n', 'dup', '-o', '../a/model.txt', 'true']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("written by both stage 'a/rvc.yaml:train' and stage 'c/rvc.yaml:dup'");
    expect(read(d, 'c/rvc.yaml')).not.toContain('dup');
    // -P from a folder runs every pipeline; -R takes a folder.
    // (b and c would run because a's output is about to change.)
    expect(dry(path.join(d, 'a'), '-P')).toEqual(['a/rvc.yaml:train', 'b/rvc.yaml:train', 'c/rvc.yaml:count']);
    expect(dry(path.join(d, 'a'))).toEqual(['a/rvc.yaml:train']);
    expect(dry(d, '-s', '-R', 'c')).toEqual(['c/rvc.yaml:count']);
    rvcOk(path.join(d, 'a'), ['repro', '-P', '-q']);
    expect(read(d, 'c/n.txt').trim()).toBe('3');
    expect(json(rvcOk(d, ['stage', 'list', '--json'])).stages.map((s: { name: string }) => s.name))
      .toEqual(['prep', 'a/rvc.yaml:train', 'b/rvc.yaml:train', 'c/rvc.yaml:count']);
    expect(json(rvcOk(path.join(d, 'c'), ['stage', 'list', '--json'])).stages.map((s: { name: string }) => s.name)).toEqual(['c/rvc.yaml:count']);

    // A folder without a pipeline file below it is an error for repro, not "everything".
    fs.mkdirSync(path.join(d, 'docs'));
    const none = rvc(path.join(d, 'docs'), ['repro']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('-P');
  });

  it('history, data commands and lock pruning read every lock file', () => {
    const d = monorepo();
    rvcOk(d, ['repro', '-q']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'v1']);
    writeTree(d, { 'a/params.yaml': 'lr: 0.3\n' });
    rvcOk(d, ['repro', '-q']);
    // params diff reads a/rvc.yaml and a/params.yaml on both sides.
    const pd = json(rvcOk(d, ['params', 'diff', '--json']));
    expect(JSON.stringify(pd)).toContain('a/params.yaml');
    // diff reads a/rvc.lock at HEAD from git objects.
    const df = json(rvcOk(d, ['diff', '--json', 'HEAD']));
    expect(JSON.stringify(df.modified ?? df)).toContain('a/model.txt');
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'v2']);
    // git checkout of v1 + rvc checkout restores a/model.txt from a/rvc.lock.
    git(d, ['checkout', '-q', 'HEAD~1']);
    rvcOk(d, ['checkout', '-q']);
    expect(read(d, 'a/model.txt')).toContain('lr=0.1');
    git(d, ['checkout', '-q', 'main']);
    rvcOk(d, ['checkout', '-q']);
    expect(read(d, 'a/model.txt')).toContain('lr=0.3');
    // gc of the workspace keeps what every lock file records.
    rvcOk(d, ['gc', '-w', '-q']);
    expect(json(rvcOk(d, ['status', '--json'])).clean ?? true).toBe(true);
    rmrf(path.join(d, 'b/report.txt'));
    rvcOk(d, ['checkout', '-q', 'b/report.txt']);
    expect(read(d, 'b/report.txt').trim()).toBe('3');

    // A stage deleted from its file loses its lock entry at the next repro.
    writeTree(d, { 'b/rvc.yaml': 'stages:\n  report2:\n    cmd: cp ../a/model.txt copy.txt\n    deps: [../a/model.txt]\n    outs: [copy.txt]\n' });
    const r = json(rvcOk(d, ['repro', '--json']));
    expect(r.pruned).toEqual(['b/rvc.lock']);
    const lockB = read(d, 'b/rvc.lock');
    expect(lockB).toContain('report2:');
    expect(lockB).not.toMatch(/^ {2}train:$/m);
    // The other files' entries are untouched.
    expect(read(d, 'a/rvc.lock')).toMatch(/^ {2}train:$/m);
  });

  it('a DVCLive-style file in a folder: top-level sections, matrix, meta; -P, file:stage, cd folder; edits keep the file', () => {
    const d = monorepo();
    const live = [
      '# written by a tool',
      'params:',
      '  - params.yaml',
      'metrics:',
      '  - dvclive/metrics.json',
      'plots:',
      '  - dvclive/plots/metrics:',
      '      x: step',
      'artifacts:',
      '  model:',
      '    path: model.txt',
      '    type: model',
      'stages:',
      '  train:',
      '    matrix:',
      '      lr: [0.1, 0.2]',
      '    cmd: >-',
      '      mkdir -p dvclive && cp ../a/model.txt model-${item.lr}.txt && echo \'{"acc": ${item.lr}}\' > dvclive/metrics.json',
      '    deps: [../a/model.txt]',
      '    outs:',
      '      - model-${item.lr}.txt',
      '    meta: {owner: ml-team}  # kept',
      '  publish:',
      '    cmd: cp model-0.1.txt model.txt',
      '    deps: [model-0.1.txt]',
      '    outs: [model.txt]',
      '',
    ].join('\n');
    writeTree(d, { 'live/rvc.yaml': live, 'live/params.yaml': 'seed: 1\n' });
    const ran = (r: { stdout: string }) => json(r).stages.filter((s: { status: string }) => s.status === 'ran').map((s: { name: string }) => s.name).sort();
    // From another folder, -P runs every pipeline, the matrix expanded under its file's id.
    expect(ran(rvcOk(path.join(d, 'b'), ['repro', '-P', '--json']))).toEqual([
      'a/rvc.yaml:train', 'b/rvc.yaml:train', 'live/rvc.yaml:publish', 'live/rvc.yaml:train@0.1', 'live/rvc.yaml:train@0.2', 'prep',
    ]);
    expect(read(d, 'live/model.txt')).toContain('lr=0.1');
    // Top-level metrics paths are relative to their file's folder.
    expect(JSON.stringify(json(rvcOk(d, ['metrics', 'show', '--json'])))).toContain('live/dvclive/metrics.json');
    // A group by file:group, and the folder's own stages from inside it.
    writeTree(d, { 'a/params.yaml': 'lr: 0.5\n' });
    expect(ran(rvcOk(d, ['repro', '--json', 'live/rvc.yaml:train']))).toEqual(['a/rvc.yaml:train', 'live/rvc.yaml:train@0.1', 'live/rvc.yaml:train@0.2']);
    expect(ran(rvcOk(path.join(d, 'live'), ['repro', '--json']))).toEqual(['live/rvc.yaml:publish']);
    // stage add, freeze/unfreeze and remove in the folder keep every other byte of the file.
    rvcOk(path.join(d, 'live'), ['stage', 'add', '-n', 'extra', '-d', 'model.txt', '-o', 'copy.txt', 'cp model.txt copy.txt']);
    const withExtra = read(d, 'live/rvc.yaml');
    expect(withExtra.startsWith(live)).toBe(true);
    rvcOk(d, ['freeze', 'live:extra']);
    expect(read(d, 'live/rvc.yaml')).toContain('frozen: true');
    rvcOk(path.join(d, 'live'), ['unfreeze', 'extra']);
    expect(read(d, 'live/rvc.yaml')).toBe(withExtra);
    rvcOk(path.join(d, 'live'), ['repro', '-q', 'extra']);
    expect(read(d, 'live/rvc.lock')).toMatch(/^ {2}extra:$/m);
    rvcOk(d, ['remove', 'live/rvc.yaml:extra']);
    expect(read(d, 'live/rvc.yaml')).toBe(live);
    expect(read(d, 'live/rvc.lock')).not.toMatch(/^ {2}extra:$/m);
    // From the folder, its pipeline and what it reads are up to date (b/, not upstream of it, is stale).
    expect(json(rvcOk(path.join(d, 'live'), ['status', '--json'])).pipeline.clean).toBe(true);
    expect(json(rvcOk(d, ['status', '--json'])).pipeline.stages.filter((s: { state: string }) => s.state === 'stale')
      .map((s: { name: string }) => s.name)).toEqual(['b/rvc.yaml:train']);
  });
});
