import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';
import { startS3Server, S3RVER_KEY, type S3Server } from '../helpers/s3-server.js';

const S3_ENV = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };

/** A stage whose cached output depends on the seed: an experiment's data differs from its baseline's. */
const TRAIN = `const fs = require('fs');
const seed = /seed: (\\d+)/.exec(fs.readFileSync('params.yaml', 'utf8'))[1];
fs.writeFileSync('model.bin', 'model of seed ' + seed + '\\n'.repeat(Number(seed)));
`;

function cacheHas(dir: string, content: string): boolean {
  const root = path.join(dir, '.rvc/cache');
  if (!fs.existsSync(root)) return false;
  const files = (fs.readdirSync(root, { recursive: true }) as string[]).map((f) => path.join(root, f)).filter((f) => fs.statSync(f).isFile());
  return files.some((f) => fs.readFileSync(f, 'utf8') === content);
}

describe('rvc exp push / pull / list / remove -g', () => {
  let s3: S3Server;
  const dirs: string[] = [];
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['rvc-exps'] });
  });
  afterAll(async () => {
    for (const d of dirs) rmrf(d);
    await s3?.stop();
  });

  it('sends an experiment\'s ref to a bare git remote and its data to S3; a clone pulls both', () => {
    const a = makeRepo();
    const bare = tmpDir();
    dirs.push(a, bare);
    git(bare, ['init', '-q', '--bare', '-b', 'main']);
    writeTree(a, {
      'train.js': TRAIN, 'params.yaml': 'seed: 1\n',
      'rvc.yaml': 'stages:\n  train:\n    cmd: node train.js\n    deps: [train.js]\n    params: [seed]\n    outs: [model.bin]\n',
    });
    rvcOk(a, ['remote', 'add', '-d', 's3', 's3://rvc-exps/store']);
    rvcOk(a, ['remote', 'modify', 's3', 'endpointurl', s3.endpoint]);
    rvcOk(a, ['repro', '-q']);
    git(a, ['add', '-A']);
    git(a, ['commit', '-q', '-m', 'baseline']);
    git(a, ['remote', 'add', 'origin', bare]);
    git(a, ['push', '-q', 'origin', 'main']);
    rvcOk(a, ['exp', 'run', '-q', '-S', 'seed=3', '-n', 'three']);
    rvcOk(a, ['exp', 'run', '-q', '-S', 'seed=4', '-n', 'four']);
    const model3 = `model of seed 3${'\n'.repeat(3)}`;

    expect(rvc(a, ['exp', 'push', 'origin']).code).not.toBe(0); // no experiment named
    const pushed = JSON.parse(rvcOk(a, ['exp', 'push', 'origin', 'three', '--run-cache', '--json'], S3_ENV).stdout) as { experiments: { name: string; commit: string }[]; data: { transferred: number; runs: { transferred: number } } };
    expect(pushed.experiments.map((e) => e.name)).toEqual(['three']);
    expect(pushed.data.transferred).toBeGreaterThanOrEqual(1);
    expect(pushed.data.runs.transferred).toBeGreaterThanOrEqual(3); // the runs of seeds 1, 3 and 4
    const listed = JSON.parse(rvcOk(a, ['exp', 'list', 'origin', '--json']).stdout) as { name: string; commit: string }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'three', commit: pushed.experiments[0]!.commit })]);

    // Clone B: the experiment's commit and data come with exp pull.
    const b = tmpDir();
    dirs.push(b);
    git(b, ['clone', '-q', bare, '.']);
    expect(rvc(b, ['get', '--rev', 'three', 'model.bin', '-o', 'x']).code).not.toBe(0);
    // exp show <git-remote>: the remote's experiments with their params, and no ref written here.
    const remoteShown = JSON.parse(rvcOk(b, ['exp', 'show', 'origin', '--json']).stdout) as { rows: { kind: string; name: string; params: Record<string, unknown> }[] };
    expect(remoteShown.rows.map((r) => [r.kind, r.params['params.yaml:seed']])).toEqual([['baseline', 1], ['experiment', 3]]);
    expect(remoteShown.rows[1]!.name).toBe('three');
    expect(git(b, ['for-each-ref', 'refs/exps/']).trim()).toBe('');
    expect(rvcOk(b, ['exp', 'show', 'origin']).stdout).toContain('three');
    expect(rvcOk(b, ['exp', 'pull', 'origin', 'three'], S3_ENV).stdout).toContain("Pulled experiment 'three'");
    expect(cacheHas(b, model3)).toBe(true);
    rvcOk(b, ['get', '--rev', 'three', 'model.bin', '-o', 'got.bin']);
    expect(fs.readFileSync(path.join(b, 'got.bin'), 'utf8')).toBe(model3);
    const shown = JSON.parse(rvcOk(b, ['exp', 'show', '--json']).stdout) as { rows: { kind: string; name: string; params: Record<string, unknown> }[] };
    expect(shown.rows.filter((r) => r.kind === 'experiment').map((r) => [r.name, r.params['params.yaml:seed']])).toEqual([['three', 3]]);

    // --no-cache: the ref only. -A: every experiment.
    rvcOk(a, ['exp', 'push', 'origin', '-A', '--no-cache']);
    const c = tmpDir();
    dirs.push(c);
    git(c, ['clone', '-q', bare, '.']);
    rvcOk(c, ['exp', 'pull', 'origin', 'four', '--no-cache']);
    expect(git(c, ['for-each-ref', '--format=%(refname)', 'refs/exps/']).trim().split('\n').map((r) => r.split('/').pop())).toEqual(['four']);
    expect(cacheHas(c, `model of seed 4${'\n'.repeat(4)}`)).toBe(false);
    // A local experiment of the same name at another commit is not overwritten without -f.
    const fourRef = git(c, ['for-each-ref', '--format=%(refname)', 'refs/exps/']).trim();
    const four = git(c, ['rev-parse', fourRef]).trim();
    git(c, ['update-ref', fourRef, git(c, ['commit-tree', 'HEAD^{tree}', '-m', 'unrelated']).trim()]);
    const refused = rvc(c, ['exp', 'pull', 'origin', 'four', '--no-cache']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('rvc exp pull -f origin');
    rvcOk(c, ['exp', 'pull', 'origin', 'four', '--no-cache', '-f']);
    expect(git(c, ['rev-parse', fourRef]).trim()).toBe(four);

    rvcOk(a, ['exp', 'remove', '-g', 'origin', 'three']);
    expect((JSON.parse(rvcOk(a, ['exp', 'list', 'origin', '--json']).stdout) as { name: string }[]).map((e) => e.name)).toEqual(['four']);
    const gone = rvc(a, ['exp', 'remove', '-g', 'origin', 'three']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("no experiment 'three' on git remote 'origin'");
  });
});
