import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvcOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir } from '../helpers/cli.js';

/**
 * A pipeline file written the way DVC users and DVCLive write dvc.yaml — DVC's matrix form, a
 * callback stage, an output with `push: false`, stage `meta`/`plots`, top-level `metrics`,
 * `params`, `plots` and `artifacts` — driven through repro, status, metrics show, push (with
 * the run-cache), status --cloud and pull on the real binary.
 */
const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

const json = (r: { stdout: string }) => JSON.parse(r.stdout);

const PIPELINE = `# as DVC users write it
stages:
  train:
    matrix:
      model: [cnn, mlp]
      lr: [0.1]
    cmd: echo train >> runs.log && mkdir -p models && echo \${item.model}-\${item.lr} > models/\${item.model}.txt
    deps: [data.txt]
    outs:
      - models/\${item.model}.txt:
          remote: archive
  report:
    cmd: echo report > report.txt
    deps: [data.txt]
    outs: [report.txt]
  scratch:
    cmd: echo scratch >> runs.log && cp data.txt scratch.bin
    deps: [data.txt]
    outs:
      - scratch.bin:
          push: false
    meta: {owner: ana}
  notify:
    cmd: echo notify >> runs.log
metrics:
  - dvclive/metrics.json
params:
  - dvclive/params.yaml
plots:
  - dvclive/plots/metrics:
      x: step
artifacts:
  cnn:
    path: models/cnn.txt
    type: model
`;

const SCRATCH = 'scratch content only this machine keeps\n';

function project(): { d: string; store: string; archive: string } {
  const d = makeRepo();
  made.push(d);
  const store = tmpDir('rvc-store-');
  const archive = tmpDir('rvc-archive-');
  made.push(store, archive);
  rvcOk(d, ['remote', 'add', '-d', 'store', store]);
  rvcOk(d, ['remote', 'add', 'archive', archive]);
  writeTree(d, {
    'rvc.yaml': PIPELINE,
    'data.txt': SCRATCH,
    'dvclive/metrics.json': JSON.stringify({ acc: 0.9, step: 3 }),
    'dvclive/params.yaml': 'epochs: 3\n',
  });
  return { d, store, archive };
}

const runs = (d: string) => fs.readFileSync(path.join(d, 'runs.log'), 'utf8').trim().split('\n');
const storeHolds = (store: string, content: string) => Object.values(readTree(store)).includes(content);

describe('a DVC-style pipeline file', () => {
  it('repro runs the matrix and the callback stage, status and repro treat the callback as always changed, metrics show reads top-level metrics, push leaves push: false outputs out and sends remote: outputs to their remote', () => {
    const { d, store, archive } = project();
    rvcOk(d, ['repro', '-q']);
    expect(runs(d).sort()).toEqual(['notify', 'scratch', 'train', 'train']); // report logs nothing
    expect(fs.readFileSync(path.join(d, 'models/mlp.txt'), 'utf8')).toBe('mlp-0.1\n');

    const st = json(rvcOk(d, ['status', '--json'])).pipeline;
    const byName = Object.fromEntries(st.stages.map((s: { name: string; state: string; reasons: { kind: string }[] }) => [s.name, s]));
    expect(Object.keys(byName).sort()).toEqual(['notify', 'report', 'scratch', 'train@cnn-0.1', 'train@mlp-0.1']);
    expect(byName['notify'].state).toBe('stale');
    expect(byName['notify'].reasons).toEqual([{ kind: 'always-changed' }]);
    for (const n of ['report', 'scratch', 'train@cnn-0.1', 'train@mlp-0.1']) expect(byName[n].state, n).toBe('up to date');

    fs.rmSync(path.join(d, 'runs.log'));
    rvcOk(d, ['repro', '-q']);
    expect(runs(d)).toEqual(['notify']);

    expect(json(rvcOk(d, ['metrics', 'show', '--json'])).metrics).toEqual({ 'dvclive/metrics.json': { acc: 0.9, step: 3 } });

    // push leaves the push: false output on this machine (with --run-cache too) and sends the
    // remote: archive outputs there; status --cloud and pull do not call it missing.
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'v1']);

    // Given -r, outputs naming another remote are left out (DVC's rule).
    expect(json(rvcOk(d, ['push', '-r', 'store', '--json'])).transferred).toBe(1); // report.txt
    expect(storeHolds(archive, 'cnn-0.1\n')).toBe(false);
    const p = json(rvcOk(d, ['push', '--run-cache', '--json']));
    expect(p.transferred).toBe(2); // models/cnn.txt and models/mlp.txt, to archive
    expect(storeHolds(store, 'report\n')).toBe(true);
    expect(storeHolds(archive, 'cnn-0.1\n')).toBe(true);
    expect(storeHolds(store, 'cnn-0.1\n')).toBe(false);
    expect(storeHolds(store, SCRATCH) || storeHolds(archive, SCRATCH)).toBe(false);
    expect(rvcOk(d, ['status', '--cloud']).stdout).toMatch(/in sync/);
    // Outputs recorded at revisions follow that revision's rvc.yaml: push: false stays here, remote: goes there.
    expect(json(rvcOk(d, ['push', '--all-commits', '--json'])).transferred).toBe(0);
    expect(storeHolds(store, SCRATCH) || storeHolds(archive, SCRATCH)).toBe(false);
    expect(storeHolds(store, 'cnn-0.1\n')).toBe(false);

    const c = tmpDir('rvc-clone-');
    made.push(c);
    git(path.dirname(c), ['clone', '-q', d, c]);
    const cloud = json(rvcOk(c, ['status', '--cloud', '--json']));
    expect(cloud.counts.missing).toBe(0);
    const pull = rvcOk(c, ['pull']);
    expect(fs.readFileSync(path.join(c, 'models/cnn.txt'), 'utf8')).toBe('cnn-0.1\n');
    expect(fs.readFileSync(path.join(c, 'report.txt'), 'utf8')).toBe('report\n');
    expect(pull.stdout + pull.stderr).toMatch(/scratch\.bin: not restored: rvc\.yaml says 'push: false'/);
    expect(fs.existsSync(path.join(c, 'scratch.bin'))).toBe(false);
  });
});
