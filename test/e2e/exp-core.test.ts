import { describe, it, expect, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir, ROOT } from '../helpers/cli.js';

type Lib = typeof import('../../src/index.js');
const lib = (await import(path.join(ROOT, 'dist/index.js'))) as Lib;

/**
 * Experiments with the real binary in real git repositories: exp run (sweeps, identical runs,
 * names, failures), exp save/list/diff/apply/rename/branch/remove/clean, and how experiments
 * meet checkout, get --rev and gc. HEAD, the index and branches are never moved.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

// The stage reads lr and bs from params.yaml, writes a cached model and a git-tracked metric;
// bs=13 makes it fail.
const TRAIN = `lr=$(sed -n 's/^lr: //p' params.yaml); bs=$(sed -n 's/^bs: //p' params.yaml)
[ "$bs" = 13 ] && { echo "unlucky batch" >&2; exit 3; }
mkdir -p model; echo "model lr=$lr bs=$bs" > model/w.bin; echo "{\\"acc\\": $bs}" > metrics.json
`;

function project(): string {
  const d = makeRepo();
  made.push(d);
  writeTree(d, {
    'params.yaml': '# learning rate\nlr: 0.1\nbs: 8\n',
    'train.sh': TRAIN,
    'rvc.yaml': 'stages:\n  train:\n    cmd: sh train.sh\n    deps: [train.sh]\n    params: [lr, bs]\n    outs: [model]\n    metrics:\n      - metrics.json:\n          cache: false\n',
    'notes.txt': 'v1\n',
  });
  git(d, ['add', '-A']);
  git(d, ['commit', '-q', '-m', 'baseline']);
  return d;
}

const gitState = (d: string): string[] => [git(d, ['rev-parse', 'HEAD']), git(d, ['diff', '--cached']), git(d, ['branch', '-a']), git(d, ['symbolic-ref', 'HEAD'])];
const expNames = async (d: string): Promise<string[]> => (await lib.listExperiments({ cwd: d })).baselines.flatMap((b) => b.experiments.map((e) => e.name)).sort();
const read = (d: string, f: string): string => fs.readFileSync(path.join(d, f), 'utf8');

describe('rvc exp', () => {
  it('runs a sweep as one experiment per combination, leaving HEAD, the index and branches alone; identical runs, taken names, unknown keys and failures save nothing', async () => {
    const d = project();
    // Something staged: exp run must not touch the user's index.
    writeTree(d, { 'notes.txt': 'v2 staged\n' });
    git(d, ['add', 'notes.txt']);
    const before = gitState(d);
    rvcOk(d, ['exp', 'run', '-S', 'bs=range(2,4)', '-S', 'lr=choice(0.2)', '-n', 'sw']);
    expect(gitState(d)).toEqual(before);
    expect(await expNames(d)).toEqual(['sw-1', 'sw-2']);
    // Each experiment's commit holds its params (comments kept), lock and metric; its parent is HEAD.
    const ref4 = git(d, ['for-each-ref', '--format=%(refname)', 'refs/exps/']).split('\n').find((r) => r.endsWith('/sw-2'))!;
    expect(git(d, ['show', `${ref4}:params.yaml`])).toBe('# learning rate\nlr: 0.2\nbs: 3\n');
    expect(git(d, ['rev-parse', `${ref4}^`]).trim()).toBe(before[0]!.trim());
    expect(git(d, ['show', `${ref4}:metrics.json`])).toBe('{"acc": 3}\n');
    expect(git(d, ['show', `${ref4}:rvc.lock`])).toMatch(/model/);
    // The workspace holds the last run's result.
    expect(read(d, 'model/w.bin')).toBe('model lr=0.2 bs=3\n');

    // Same inputs as sw-2: reported, not run again.
    const same = rvcOk(d, ['exp', 'run', '-S', 'bs=3']);
    expect(same.stderr + same.stdout).toMatch(/Identical to experiment 'sw-2'/);
    expect(await expNames(d)).toHaveLength(2);
    // A name the baseline has is refused before anything runs.
    const taken = rvc(d, ['exp', 'run', '-S', 'bs=5', '-n', 'sw-1']);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toMatch(/experiment 'sw-1' already exists/);
    expect(read(d, 'params.yaml')).toContain('bs: 3');
    // A name git cannot hold is refused before the pipeline runs (bs=13 would fail the stage).
    const badName = rvc(d, ['exp', 'run', '-S', 'bs=13', '-n', 'bad name']);
    expect(badName.stderr).toMatch(/'bad name' cannot name an experiment/);
    expect(read(d, 'params.yaml')).toContain('bs: 3');
    // Unknown key refused unless +key.
    const unknown = rvc(d, ['exp', 'run', '-S', 'bss=5']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/params\.yaml has no parameter 'bss'/);
    expect(unknown.stderr).toMatch(/\+bss=5/);
    // A bad sweep is a usage error naming it.
    const bad = rvc(d, ['exp', 'run', '-S', 'bs=range(5)']);
    expect(bad.stderr).toMatch(/-S 'bs=range\(5\)': range\(\) takes two or three numbers/);
    // A failing stage: a clear error, nothing saved.
    const failed = rvc(d, ['exp', 'run', '-S', 'bs=13', '-n', 'unlucky']);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/failed: stage 'train' exited 3 \(unlucky batch\); nothing was saved/);
    expect(await expNames(d)).toHaveLength(2);
    expect(gitState(d)).toEqual(before);
    // The date a saved experiment reports is its commit's, as git prints it.
    const saved = JSON.parse(rvcOk(d, ['exp', 'run', '-S', 'bs=7', '--json']).stdout) as Array<{ experiment: { commit: string; created: string } }>;
    expect(saved[0]!.experiment.created).toBe(git(d, ['show', '-s', '--format=%cI', saved[0]!.experiment.commit]).trim());
  });

  it('diff, apply (refusing unsaved edits), checkout, get --rev, gc keeping experiments, rename, branch, remove', async () => {
    const d = project();
    rvcOk(d, ['exp', 'run', '-S', 'bs=2', '-n', 'two']);
    rvcOk(d, ['exp', 'run', '-S', 'bs=4', '-n', 'four']);
    const before = gitState(d);

    // diff: an experiment against its baseline, and two experiments.
    const vsBase = JSON.parse(rvcOk(d, ['exp', 'diff', 'two', '--json']).stdout);
    expect(vsBase.params).toEqual([{ file: 'params.yaml', key: 'bs', change: 'modified', old: 8, new: 2 }]);
    expect(vsBase.metrics).toMatchObject([{ path: 'metrics.json', key: 'acc', new: 2 }]);
    const pair = await lib.expDiff({ cwd: d, a: 'two', b: 'four' });
    expect(pair.metrics).toMatchObject([{ key: 'acc', old: 2, new: 4, change: 2 }]);

    // gc of the workspace (which holds 'four') keeps 'two''s model: experiments count as kept revisions.
    rvcOk(d, ['gc', '-w', '--all-experiments']);
    // apply from one experiment's result to another's is not an unsaved edit.
    rvcOk(d, ['exp', 'apply', 'two']);
    expect(read(d, 'params.yaml')).toBe('# learning rate\nlr: 0.1\nbs: 2\n');
    expect(read(d, 'model/w.bin')).toBe('model lr=0.1 bs=2\n');
    expect(read(d, 'metrics.json')).toBe('{"acc": 2}\n');
    expect(gitState(d)).toEqual(before);

    // An edit saved nowhere is refused, naming the file; -f overwrites it.
    writeTree(d, { 'params.yaml': 'lr: 0.1\nbs: 99\n' });
    const refused = rvc(d, ['exp', 'apply', 'four']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/would overwrite unsaved changes in params\.yaml/);
    expect(read(d, 'params.yaml')).toBe('lr: 0.1\nbs: 99\n');
    rvcOk(d, ['exp', 'apply', '-f', 'four']);
    expect(read(d, 'params.yaml')).toContain('bs: 4');

    // checkout after apply restores the experiment's outputs; get --rev reads any experiment.
    rmrf(path.join(d, 'model'));
    rvcOk(d, ['checkout']);
    expect(read(d, 'model/w.bin')).toBe('model lr=0.1 bs=4\n');
    const out = tmpDir();
    made.push(out);
    rvcOk(d, ['get', '.', 'model', '--rev', 'two', '-o', path.join(out, 'got')]);
    expect(read(out, 'got/w.bin')).toBe('model lr=0.1 bs=2\n');

    // rename and branch refuse names in use; branch points at the experiment's commit.
    expect(rvc(d, ['exp', 'rename', 'two', 'four']).stderr).toMatch(/experiment 'four' already exists/);
    rvcOk(d, ['exp', 'rename', 'two', 'deux']);
    rvcOk(d, ['exp', 'branch', 'deux', 'try-deux']);
    expect(rvc(d, ['exp', 'branch', 'four', 'try-deux']).stderr).toMatch(/branch 'try-deux' already exists/);
    expect(git(d, ['show', 'try-deux:params.yaml'])).toContain('bs: 2');
    expect(git(d, ['rev-parse', 'HEAD'])).toBe(before[0]);

    // remove, then gc drops the data only that experiment held.
    expect(rvc(d, ['exp', 'remove', 'deux', 'nope']).stderr).toMatch(/no experiment named 'nope'/);
    // Nothing was removed: 'nope' was checked before 'deux' went.
    expect(await expNames(d)).toEqual(['deux', 'four']);
    git(d, ['branch', '-D', 'try-deux']);
    rvcOk(d, ['exp', 'remove', 'deux']);
    const gc = JSON.parse(rvcOk(d, ['gc', '-w', '--json']).stdout);
    expect(gc.removed.length).toBeGreaterThan(0);
    rvcOk(d, ['exp', 'remove', '-A']);
    expect(await expNames(d)).toEqual([]);
  });

  it('apply fetches outputs the cache lacks from the remote, and names them when no remote has them', () => {
    const d = project();
    const remote = tmpDir('rvc-exp-remote-');
    made.push(remote);
    rvcOk(d, ['exp', 'run', '-S', 'bs=2', '-n', 'two']);
    rvcOk(d, ['remote', 'add', '-d', 'store', remote]);
    rvcOk(d, ['push', '--rev', 'two']);
    const wipe = (): void => {
      rmrf(path.join(d, '.rvc', 'cache'));
      rmrf(path.join(d, 'model'));
    };
    wipe();
    const r = JSON.parse(rvcOk(d, ['exp', 'apply', 'two', '--json']).stdout);
    expect(r.fetched).toBeGreaterThan(0);
    expect(read(d, 'model/w.bin')).toBe('model lr=0.1 bs=2\n');
    rvcOk(d, ['remote', 'remove', 'store']);
    wipe();
    const missing = rvc(d, ['exp', 'apply', 'two']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/the data of model \(experiment 'two'\) is not in the cache and could not be fetched/);
  });

  it('save stores what a run outside rvc changed (DVCLive) and records it; a stage nothing shows ran is saved stale', () => {
    const d = project();
    rvcOk(d, ['repro']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'ran']);
    // Training by hand with new code and params: the stage's inputs and outputs both changed.
    writeTree(d, { 'train.sh': TRAIN.replace('model lr=', 'model v2 lr='), 'params.yaml': '# learning rate\nlr: 0.5\nbs: 8\n' });
    expect(spawnSync('sh', ['train.sh'], { cwd: d }).status).toBe(0);
    const r = JSON.parse(rvcOk(d, ['exp', 'save', '-n', 'by-script', '--json']).stdout);
    expect(r.committed).toContain('model');
    expect(r.stale).toEqual([]);
    const lock = git(d, ['show', `${r.experiment.ref}:rvc.lock`]);
    expect(lock).toContain('lr: 0.5');
    // The recorded model is in the cache: the experiment's data comes back after the workspace loses it.
    rmrf(path.join(d, 'model'));
    rvcOk(d, ['exp', 'apply', 'by-script', '-f']);
    expect(read(d, 'model/w.bin')).toBe('model v2 lr=0.5 bs=8\n');
    // Params edited and nothing run: saved as it is, and said to be stale.
    writeTree(d, { 'params.yaml': '# learning rate\nlr: 0.9\nbs: 8\n' });
    const s = rvc(d, ['exp', 'save', '-n', 'edited']);
    expect(s.code).toBe(0);
    expect(s.stderr).toContain("stage 'train' is saved stale");
  });

  it('save records the workspace (and named ignored files) without running; clean removes only what dead processes left', async () => {
    const d = project();
    writeTree(d, { 'params.yaml': 'lr: 0.3\nbs: 8\n', 'logs/run.txt': 'loss 0.1\n', '.gitignore': 'logs/\n' });
    const before = gitState(d);
    const saved = await lib.saveExperiment({ cwd: d, name: 'by-hand', includeUntracked: ['logs/run.txt'] });
    expect(gitState(d)).toEqual(before);
    expect(git(d, ['show', `${saved.experiment.ref}:params.yaml`])).toBe('lr: 0.3\nbs: 8\n');
    expect(git(d, ['show', `${saved.experiment.ref}:logs/run.txt`])).toBe('loss 0.1\n');
    expect(rvc(d, ['exp', 'save', '-n', 'by-hand']).stderr).toMatch(/already exists/);
    const listed = await lib.listExperiments({ cwd: d, all: true });
    expect(listed.baselines).toMatchObject([{ names: ['HEAD', 'main'], experiments: [{ name: 'by-hand' }] }]);
    expect(rvcOk(d, ['exp', 'list', '--name-only']).stdout).toBe('by-hand\n');

    // Leftovers: one of a process that is gone, one of a live process (this one).
    const dead = spawnSync('true').pid!;
    const gitDir = path.join(d, '.git');
    writeTree(d, {
      [`.git/rvc-exp-index.${dead}.abcd`]: 'x', [`.git/rvc-exp-index.${process.pid}.abcd`]: 'x',
      '.rvc/tmp/exps/old/pid': String(dead), '.rvc/tmp/exps/old/params.yaml': 'x',
      '.rvc/tmp/exps/live/pid': String(process.pid), '.rvc/tmp/exps/nopid/a': 'x', '.rvc/tmp/exps/queue/x.json': '{}',
    });
    const r = JSON.parse(rvcOk(d, ['exp', 'clean', '--json']).stdout);
    expect(r).toEqual({ indexes: [`rvc-exp-index.${dead}.abcd`], copies: ['.rvc/tmp/exps/old'] });
    expect(fs.readdirSync(gitDir).filter((n) => n.startsWith('rvc-exp-index.'))).toEqual([`rvc-exp-index.${process.pid}.abcd`]);
    expect(fs.readdirSync(path.join(d, '.rvc/tmp/exps')).sort()).toEqual(['live', 'nopid', 'queue']);
  });

  it('-S files are relative to the pipeline folder the user is in', async () => {
    const d = makeRepo();
    made.push(d);
    writeTree(d, {
      'sub/params.yaml': 'n: 1\n', 'sub/cfg.json': '{"k": 1}\n',
      'sub/rvc.yaml': 'stages:\n  s:\n    cmd: cat params.yaml cfg.json > out.txt\n    params: [n, {cfg.json: [k]}]\n    outs: [out.txt]\n',
    });
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'sub pipeline']);
    const r = await lib.runExperiment({ cwd: path.join(d, 'sub'), overrides: (await lib.expandSweeps(['n=2', 'cfg.json:k=3']))[0]!, name: 'sub-exp' });
    expect(r.paramsChanged.sort()).toEqual(['sub/cfg.json', 'sub/params.yaml']);
    expect(read(d, 'sub/out.txt')).toBe('n: 2\n{\n  "k": 3\n}\n');
    expect(r.experiment!.name).toBe('sub-exp');
    expect(git(d, ['show', `${r.experiment!.ref}:sub/params.yaml`])).toBe('n: 2\n');
    expect(fs.existsSync(path.join(d, 'params.yaml'))).toBe(false);
  });
});
