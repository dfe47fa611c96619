/**
 * What a DVC user meets first: exit codes scripts rely on, command names and aliases, and the
 * messages of common situations (a fresh clone, a stage that never ran, no git, refused
 * credentials), each with the command its hint names. Few repositories, many assertions each.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, RVC_BIN, rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';
import { startS3Server, S3RVER_KEY } from '../helpers/s3-server.js';

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
afterAll(() => {
  while (made.length) rmrf(made.pop()!);
});

/** The error `--json` prints when a command fails. */
function jsonError(r: { stdout: string }): { code: string; hint?: string } {
  return (JSON.parse(r.stdout) as { error: { code: string; hint?: string } }).error;
}

const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('ERROR:'));

describe('a DVC user in a git repository', () => {
  it('status -q exits 1 when anything changed; names, aliases and messages match what happened', () => {
    const dir = track(makeRepo());
    const store = track(tmpDir('rvc-store-'));
    writeTree(dir, { 'data/a.txt': 'one\n', 'params.txt': 'lr 1\n' });
    rvcOk(dir, ['add', 'data']);
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'data']);

    // 1. status -q: the exit code says whether anything changed (DVC's meaning); -q alone changes it.
    expect(rvc(dir, ['status', '-q']).code).toBe(0);
    expect(rvc(dir, ['status', '-q', '--cloud']).code).toBe(1); // not pushed yet
    rvcOk(dir, ['push', '-q']);
    expect(rvc(dir, ['status', '-q', '--cloud']).code).toBe(0);
    fs.writeFileSync(path.join(dir, 'data/a.txt'), 'two\n');
    const quiet = rvc(dir, ['status', '-q']);
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).toBe('');
    expect(rvc(dir, ['status']).code).toBe(0);
    expect(rvc(dir, ['status', '-q', '--json']).code).toBe(0);
    fs.writeFileSync(path.join(dir, 'data/a.txt'), 'one\n');

    // A stage that never ran, then one whose dependency changed: stale pipelines count too.
    writeTree(dir, {
      'rvc.yaml': [
        'stages:',
        '  check:', '    cmd: cat params.txt', '    deps:', '      - params.txt',
        '  use:', '    cmd: ls data', '    deps:', '      - data',
        '',
      ].join('\n'),
    });
    rvcOk(dir, ['repro', '-q']);
    expect(rvc(dir, ['status', '-q']).code).toBe(0);
    fs.writeFileSync(path.join(dir, 'params.txt'), 'lr 2\n');
    expect(rvc(dir, ['status', '-q']).code).toBe(1);

    // 3. commit of a stage without outputs records it, and says so (not "Nothing to commit").
    const commit = rvcOk(dir, ['commit', 'check']);
    expect(commit.stdout).toContain("Committed stage 'check'");
    expect(commit.stdout).not.toMatch(/Nothing to commit/);
    expect(commit.stdout).toContain('git add rvc.lock');

    // 3. An output of a stage that never ran is not "to add": the hint names the stage.
    fs.appendFileSync(path.join(dir, 'rvc.yaml'), '  train:\n    cmd: echo w > model.bin\n    outs:\n      - model.bin\n');
    // (Every data verb reads targets through the same selection; checkout stands for them.)
    const unrun = rvc(dir, ['checkout', 'model.bin', '--json']);
    expect(unrun.code).toBe(1);
    expect(jsonError(unrun).code).toBe('NOT_TRACKED');
    expect(jsonError(unrun).hint).toContain('`rvc repro train`');
    expect(jsonError(unrun).hint).not.toContain('rvc add');
    rvcOk(dir, ['repro', '-q', 'train']);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'pipeline']);

    // 3. A fresh clone: the data is not in the local cache, and the fix is pull (or fetch).
    const clone = track(tmpDir('rvc-clone-'));
    git(clone, ['clone', '-q', dir, '.']);
    const st = rvc(clone, ['status']);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain('not in the local cache');
    expect(st.stdout).toContain('`rvc pull`');
    expect(st.stdout).not.toMatch(/rvc commit/);
    // repro of a stage whose dependency a pointer tracks: pull it, or check it out once fetched.
    let r = rvc(clone, ['repro', 'use', '--json']);
    expect(r.code).toBe(1);
    expect(jsonError(r).code).toBe('PATH_NOT_FOUND');
    expect(jsonError(r).hint).toContain('`rvc pull data`');
    rvcOk(clone, ['fetch', '-q', 'data']);
    r = rvc(clone, ['repro', 'use', '--json']);
    expect(jsonError(r).hint).toContain('`rvc checkout data`');
    expect(r.stderr).not.toMatch(/create the file/);

    // 2. DVC's short names: rm, mv, list (shown in the help).
    const help = rvcOk(dir, ['--help']).stdout;
    expect(help).toMatch(/remove\|rm\b/);
    expect(help).toMatch(/move\|mv\b/);
    expect(help).toMatch(/ls\|list\b/);
    rvcOk(dir, ['mv', 'data', 'data2']);
    expect(fs.existsSync(path.join(dir, 'data2.rvc'))).toBe(true);
    expect(rvcOk(dir, ['list', '.', '--json']).stdout).toContain('"path": "data"');
    rvcOk(dir, ['rm', 'data2.rvc']);
    expect(fs.existsSync(path.join(dir, 'data2.rvc'))).toBe(false);

    // 3. DVC commands rvc does not have: said plainly, with no guess at an unrelated command.
    for (const name of ['queue']) {
      const u = rvc(dir, [name, 'show']);
      expect(u.code, name).toBe(2);
      expect(u.stderr, name).toContain(`rvc does not have \`${name}\``);
      expect(u.stderr, name).toContain('`rvc --help`');
      expect(u.stderr, name).not.toMatch(/did you mean/i);
    }
    const typo = rvc(dir, ['stauts']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('`rvc status`');
    expect(rvc(dir, ['frobnicate']).stderr).not.toMatch(/did you mean/i);
  });

  it('without git (--no-scm), no command suggests git add', () => {
    const dir = track(tmpDir('rvc-noscm-'));
    rvcOk(dir, ['init', '--no-scm']);
    writeTree(dir, { 'in.txt': 'x\n' });
    const outs = [
      rvcOk(dir, ['add', 'in.txt']),
      rvcOk(dir, ['stage', 'add', '-n', 's', '-d', 'in.txt', '-o', 'out.txt', 'cp in.txt out.txt']),
      rvcOk(dir, ['repro']),
    ];
    fs.writeFileSync(path.join(dir, 'out.txt'), 'edited\n');
    outs.push(rvcOk(dir, ['commit']));
    expect(outs[3]!.stdout).toContain('Committed out.txt');
    for (const o of outs) expect(o.stdout + o.stderr).not.toMatch(/git add/);
  });
});

describe('refused S3 credentials', () => {
  it('pull and fetch report one error with the credentials hint, as push does', async () => {
    const s3 = await startS3Server({ buckets: ['creds'] });
    try {
      const good = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };
      const bad = { ...good, AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG' };
      const dir = track(makeRepo());
      writeTree(dir, { 'd/a': '1\n', 'd/b': '2\n', c: '3\n' });
      rvcOk(dir, ['add', 'd', 'c']);
      rvcOk(dir, ['remote', 'add', '-d', 's3', 's3://creds/p']);
      rvcOk(dir, ['remote', 'modify', 's3', 'endpointurl', s3.endpoint]);
      rvcOk(dir, ['push', '-q'], good);
      git(dir, ['add', '-A']);
      git(dir, ['commit', '-q', '-m', 'data']);
      const clone = track(tmpDir('rvc-clone-'));
      git(clone, ['clone', '-q', dir, '.']);
      writeTree(dir, { e: '4\n' });
      rvcOk(dir, ['add', 'e']);
      for (const [where, what] of [[dir, 'push'], [clone, 'pull'], [clone, 'fetch']] as const) {
        const r = rvc(where, [what, '--json'], bad);
        expect(r.code, what).toBe(1);
        expect(jsonError(r).code, what).toBe('REMOTE_ACCESS_DENIED');
        expect(errorLines(r.stderr), `${what}: ${r.stderr}`).toHaveLength(1);
        expect(r.stderr, what).toContain('AWS_ACCESS_KEY_ID');
        expect(r.stderr, what).not.toMatch(/again/);
      }
      expect(fs.existsSync(path.join(clone, 'c'))).toBe(false);
      // 4. The tuning options docs/remotes.md names are config keys, and reach the remote.
      rvcOk(dir, ['remote', 'modify', 's3', 'partsize', '1000']);
      const small = rvc(dir, ['push', '--json'], good);
      expect(jsonError(small).code).toBe('CONFIG_INVALID');
      expect(small.stderr).toContain('partsize');
    } finally {
      await s3.stop();
    }
  });
});

describe('README', () => {
  it('the quick start runs as written with no git configuration, whatever the default branch', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.split(/^## 60-second quick start$/m)[1]!;
    const block = /^```sh\n([\s\S]*?)^```$/m.exec(section)?.[1];
    expect(block, 'the quick start shell block').toBeDefined();
    const work = track(tmpDir('rvc-readme-'));
    const bin = path.join(work, 'bin');
    const home = path.join(work, 'home');
    fs.mkdirSync(bin);
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(bin, 'rvc'), `#!/bin/sh\nexec '${process.execPath}' '${RVC_BIN}' "$@"\n`, { mode: 0o755 });
    const r = spawnSync('sh', ['-e', '-c', block!], {
      cwd: work, encoding: 'utf8',
      env: {
        PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, HOME: home, NO_COLOR: '1', GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'readme', GIT_AUTHOR_EMAIL: 'readme@example.com', GIT_COMMITTER_NAME: 'readme', GIT_COMMITTER_EMAIL: 'readme@example.com',
      },
    });
    expect(r.status, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    // `cat` showed version 1; the last line brought version 2 back.
    expect(r.stdout).toContain('x,y\n1,2\n');
    expect(fs.readFileSync(path.join(work, 'rvc-quickstart/data/train.csv'), 'utf8')).toBe('x,y\n1,2\n3,6\n');
  });
});
