import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvcOk, makeRepo, writeTree, git, rmrf, tmpDir } from '../helpers/cli.js';
import { stageSeeds, unpinnedLines } from '../../src/verbs/report.js';
import YAML from 'yaml';

/**
 * `rvc report`: one project taken from 0 to 3 stars, another from 4 to 5 with a real `rvc repro`
 * and `rvc verify`; the star count and the first failing criterion's fix command checked at every
 * boundary.
 */

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

interface Criterion { id: string; star: number; status: string; evidence: string; fix?: string }
interface Report { stars: number; criteria: Criterion[]; next?: { star: number; missing: Criterion[] }; neurips: { item: string; answer: string }[] }

function report(d: string): Report {
  return JSON.parse(rvcOk(d, ['report', '--json']).stdout) as Report;
}

function commitAll(d: string, msg: string): void {
  git(d, ['add', '-A']);
  git(d, ['commit', '-q', '-m', msg]);
}

const PIPELINE = `stages:
  prepare:
    cmd: sh prepare.sh
    deps: [raw.txt, prepare.sh]
    outs: [clean.txt]
  train:
    cmd: sh train.sh
    deps: [clean.txt, train.sh]
    params: [seed, epochs]
    outs: [model.txt]
    metrics:
      - metrics.json:
          cache: false
`;

describe('rvc report', () => {
  it('earns stars only on evidence and names the fix of the first failing criterion at each boundary', () => {
    const d = makeRepo();
    const remote = tmpDir();
    made.push(d, remote);

    // 0 stars: the workspace is not the commit.
    writeTree(d, { 'notes.txt': 'draft\n' });
    let r = report(d);
    expect(r.stars).toBe(0);
    expect(r.next!.missing[0]!.id).toBe('git.clean');
    expect(r.next!.missing[0]!.fix).toBe('git add -A && git commit -m "<message>"');
    expect(r.next!.missing[0]!.evidence).toContain('notes.txt');

    // 1 star: a clean commit, but no pipeline.
    commitAll(d, 'notes');
    r = report(d);
    expect(r.stars).toBe(1);
    expect(r.next!.missing.map((c) => c.id)).toEqual(['pipeline.defined']);
    expect(r.next!.missing[0]!.fix).toMatch(/^rvc stage add /);

    // 2 stars: the pipeline ran, params (with a seed) in params.yaml; no remote yet.
    writeTree(d, {
      'raw.txt': 'raw data\n',
      'prepare.sh': 'tr a-z A-Z < raw.txt > clean.txt\n',
      'train.sh': 'cat clean.txt params.yaml > model.txt\necho \'{"acc": 0.9}\' > metrics.json\n',
      'params.yaml': 'seed: 42\nepochs: 3\n',
      'rvc.yaml': PIPELINE,
    });
    rvcOk(d, ['add', 'raw.txt']);
    rvcOk(d, ['repro']);
    commitAll(d, 'pipeline');
    r = report(d);
    expect(r.stars).toBe(2);
    const seeds = r.criteria.find((c) => c.id === 'params.seeds')!;
    // A stage reading no seed is flagged, without costing the star.
    expect(seeds.status).toBe('warn');
    expect(seeds.evidence).toContain('`prepare`');
    expect(r.next!.missing.map((c) => c.id)).toEqual(['data.remote']);
    expect(r.next!.missing[0]!.fix).toBe('rvc remote add -d <name> <url> && rvc push');

    // Still 2 stars with the remote set but the data not pushed.
    rvcOk(d, ['remote', 'add', '-d', 'store', remote]);
    commitAll(d, 'remote');
    r = report(d);
    expect(r.stars).toBe(2);
    expect(r.next!.missing[0]!.fix).toBe('rvc push -r store');

    // 3 stars: every output on the remote; no environment file.
    rvcOk(d, ['push']);
    r = report(d);
    expect(r.stars).toBe(3);
    expect(r.next!.missing[0]!.id).toBe('env.files');
    expect(r.next!.missing[0]!.fix).toBe('pip freeze > requirements.txt');

    // An unpinned requirement is named (and keeps the project at 3 stars from here on).
    writeTree(d, { 'requirements.txt': 'numpy>=1.20\n' });
    commitAll(d, 'requirements');
    r = report(d);
    expect(r.stars).toBe(3);
    expect(r.next!.missing.map((c) => c.id)).toEqual(['env.pinned']);
    expect(r.next!.missing[0]!.evidence).toContain('numpy>=1.20');
    expect(r.next!.missing[0]!.fix).toBe('pip freeze > requirements.txt');

    // The last verify result is read with its date, and a stage it did not reproduce named.
    const verify = path.join(d, '.rvc', 'tmp', 'verify');
    fs.mkdirSync(verify, { recursive: true });
    const head = git(d, ['rev-parse', 'HEAD']).trim();
    const last = (verdict: string) => JSON.stringify({ date: '2026-01-02T03:04:05Z', rev: 'HEAD', commit: head, stages: [{ stage: 'prepare', verdict: 'bit-exact' }, { stage: 'train', verdict }] });
    fs.writeFileSync(path.join(verify, 'last.json'), last('not-reproduced'));
    let v = report(d).criteria.find((c) => c.id === 'verify.reproduced')!;
    expect(v.status).toBe('fail');
    expect(v.evidence).toContain('2026-01-02T03:04:05Z');
    expect(v.evidence).toContain('train (not-reproduced)');
    fs.writeFileSync(path.join(verify, 'last.json'), last('within-tolerance'));
    r = report(d);
    v = r.criteria.find((c) => c.id === 'verify.reproduced')!;
    expect(v.status).toBe('pass');
    expect(r.criteria.find((c) => c.id === 'metrics.tracked')!.status).toBe('pass');
    expect(r.neurips.find((a) => a.item.startsWith('Experimental result reproducibility'))!.answer).toBe('Yes');
    expect(r.neurips.find((a) => a.item.startsWith('Experiments compute resources'))!.answer).toBe('No');

    // -o writes the Markdown report (JSON with --json); stdout says where.
    const out = rvcOk(d, ['report', '-o', 'REPRODUCIBILITY.md']);
    expect(out.stdout).toContain('3/5 stars');
    const md = fs.readFileSync(path.join(d, 'REPRODUCIBILITY.md'), 'utf8');
    expect(md).toContain('★★★☆☆ 3/5 stars');
    expect(md).toContain('## Next star: 4 (environment)');
    expect(md).toContain('`pip freeze > requirements.txt`');
    // The report's own file is not a change to the project: writing it again keeps the stars.
    expect(rvcOk(d, ['report', '-o', 'REPRODUCIBILITY.md']).stdout).toContain('3/5 stars');
    commitAll(d, 'report');
    rvcOk(d, ['report', '--json', '-o', 'report.json']);
    expect((JSON.parse(fs.readFileSync(path.join(d, 'report.json'), 'utf8')) as Report).stars).toBe(3);
  });
});

describe('rvc report at 4 and 5 stars', () => {
  it('asks for rvc verify once the environment is pinned and captured, and gives 5 stars after it reproduces every stage', () => {
    const d = makeRepo();
    const remote = tmpDir();
    made.push(d, remote);
    // Metrics declared only by the top-level `metrics:` of rvc.yaml (a file the stage writes, in git).
    writeTree(d, {
      'raw.txt': 'raw data\n',
      'train.sh': 'tr a-z A-Z < raw.txt > model.txt\necho \'{"acc": 0.9}\' > metrics.json\n',
      'params.yaml': 'seed: 42\n',
      'requirements.txt': 'numpy==1.26.4\n',
      'rvc.yaml': 'stages:\n  train:\n    cmd: sh train.sh\n    deps: [raw.txt, train.sh]\n    params: [seed]\n    outs: [model.txt]\nmetrics:\n  - metrics.json\n',
    });
    rvcOk(d, ['add', 'raw.txt']);
    rvcOk(d, ['repro']);
    rvcOk(d, ['remote', 'add', '-d', 'store', remote]);
    rvcOk(d, ['push']);
    commitAll(d, 'pipeline');

    // 4 stars: pinned requirements, the environment recorded by repro; no verify result yet.
    let r = report(d);
    expect(r.stars).toBe(4);
    expect(r.criteria.find((c) => c.id === 'env.captured')!.status).toBe('pass');
    expect(r.criteria.find((c) => c.id === 'metrics.tracked')!.evidence).toContain('metrics.json');
    expect(r.next!.missing.map((c) => c.id)).toEqual(['verify.reproduced']);
    expect(r.next!.missing[0]!.evidence).toBe('rvc verify has not run');
    expect(r.next!.missing[0]!.fix).toBe('rvc verify');

    // 5 stars: verify reproduced every stage bit-exact at HEAD.
    rvcOk(d, ['verify']);
    r = report(d);
    expect(r.stars).toBe(5);
    expect(r.next).toBeUndefined();
    expect(r.criteria.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(r.criteria.find((c) => c.id === 'verify.reproduced')!.evidence).toContain('all 1 stage(s) reproduced');
    expect(r.neurips.every((a) => a.answer === 'Yes')).toBe(true);
    const md = rvcOk(d, ['report']).stdout;
    expect(md).toContain('★★★★★ 5/5 stars');
    expect(md).not.toContain('## Next star');

    // A lock entry without its environment (written by an older rvc, or edited): star 4 is lost.
    const lockPath = path.join(d, 'rvc.lock');
    const lock = YAML.parse(fs.readFileSync(lockPath, 'utf8')) as { stages: Record<string, Record<string, unknown>> };
    delete lock.stages['train']!['environment'];
    fs.writeFileSync(lockPath, YAML.stringify(lock));
    commitAll(d, 'lock without environment');
    r = report(d);
    const captured = r.criteria.find((c) => c.id === 'env.captured')!;
    expect(captured.status).toBe('fail');
    expect(captured.evidence).toBe('no environment recorded for: `train`');
    expect(captured.fix).toBe('rvc repro -f');
    expect(r.stars).toBe(3);
    expect(r.next!.missing.map((c) => c.id)).toEqual(['env.captured']);
    rvcOk(d, ['repro', '-f']);
    commitAll(d, 'environment captured again');
    expect(report(d).criteria.find((c) => c.id === 'env.captured')!.status).toBe('pass');

    // A top-level metrics file no stage outputs is tracked only by git.
    git(d, ['rm', '-q', '--cached', 'metrics.json']);
    const m = report(d).criteria.find((c) => c.id === 'metrics.tracked')!;
    expect(m.status).toBe('fail');
    expect(m.fix).toBe('git add metrics.json');
  });
});

describe('pinned environment files', () => {
  it('accepts exact versions and hashes, and names every other requirement', () => {
    expect(unpinnedLines('requirements.txt', '# tools\nnumpy==1.26.4\n-r base.txt\n--index-url https://x\ntorch===2.1.0\nfoo --hash=sha256:ab\n')).toEqual([]);
    expect(unpinnedLines('requirements.txt', 'numpy>=1\npandas\n-e ./lib\nscipy==1.11 # ok\n')).toEqual(['numpy>=1', 'pandas', '-e ./lib']);
    const conda = 'name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11.5\n  - numpy\n  - pip:\n    - torch==2.1.0\n    - tqdm>=4\n';
    expect(unpinnedLines('environment.yml', conda)).toEqual(['numpy', 'tqdm>=4']);
  });
});

describe('seed-like parameters', () => {
  it('are found by name at any depth, and an empty one is named', () => {
    const r = stageSeeds({ 'params.yaml': { seed: null, 'train.random_state': 7, lr: 0.1, torch_seed: 1 } }, [{ repoPath: 'params.yaml', keys: ['seed', 'train.random_state', 'lr', 'torch_seed'] }]);
    expect(r.seeds.sort()).toEqual(['params.yaml:seed', 'params.yaml:torch_seed', 'params.yaml:train.random_state']);
    expect(r.unset).toEqual(['params.yaml:seed']);
    expect(stageSeeds({ 'params.yaml': { lr: 0.1, seeds_dir: 'x' } }, [])).toEqual({ seeds: [], unset: [] });
  });
});
