/**
 * Repositories that must keep working: after `rvc remove`, with a configuration someone broke,
 * with secrets in the configuration, with data-sized inputs, and with targets that name nothing.
 */
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';

const made: string[] = [];
function repo(): string {
  const d = makeRepo();
  made.push(d);
  return d;
}
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

describe('rvc remove', () => {
  it('stops tracking in the workspace at once: every command works before the deletion is committed to git', () => {
    const d = repo();
    const store = tmpDir('rvc-store-');
    made.push(store);
    writeTree(d, { 'keep/a': 'a\n', 'gone.txt': 'gone\n' });
    rvcOk(d, ['add', 'keep', 'gone.txt']);
    rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'data']);

    const r = rvcOk(d, ['remove', 'gone.txt.rvc']);
    expect(fs.existsSync(path.join(d, 'gone.txt.rvc'))).toBe(false);
    // rvc leaves git's index alone and says how to record the removal.
    expect(git(d, ['ls-files', 'gone.txt.rvc']).trim()).toBe('gone.txt.rvc');
    expect(r.stdout).toMatch(/git add \.gitignore gone\.txt\.rvc/);

    const st = JSON.parse(rvcOk(d, ['status', '--json']).stdout) as unknown;
    expect(JSON.stringify(st)).not.toContain('gone.txt');
    rvcOk(d, ['checkout']);
    rvcOk(d, ['push']);
    const gc = rvcOk(d, ['gc', '-w', '--json']);
    expect(JSON.parse(gc.stdout).removed).toHaveLength(1); // the removed file's object
    expect(fs.readFileSync(path.join(d, 'gone.txt'), 'utf8')).toBe('gone\n');
    rvcOk(d, ['add', 'gone.txt']);
    expect(fs.existsSync(path.join(d, 'gone.txt.rvc'))).toBe(true);

    // The suggested command records the removal.
    rvcOk(d, ['remove', 'gone.txt.rvc']);
    git(d, ['add', '.gitignore', 'gone.txt.rvc']);
    expect(git(d, ['status', '--porcelain', '--', 'gone.txt.rvc'])).toMatch(/^D {2}gone\.txt\.rvc/);
    rvcOk(d, ['status']);
  });
});

function errorOf(r: { stdout: string; stderr: string }): { code: string; message: string; hint?: string } {
  return (JSON.parse(r.stdout) as { error: { code: string; message: string; hint?: string } }).error;
}

describe('rvc config never writes what it cannot read, and repairs what someone else broke', () => {
  it('refuses a key with an empty part or an impossible remote name, leaving the file as it was', () => {
    const d = repo();
    const cfg = path.join(d, '.rvc/config.yaml');
    const before = fs.readFileSync(cfg, 'utf8');
    for (const key of ['remote..url', 'remote.a b.url', 'colour.red']) {
      const r = rvc(d, ['config', key, '/tmp/x', '--json']);
      expect(r.code, key).toBe(2);
      expect(errorOf(r).code, key).toBe('CONFIG_KEY_UNKNOWN');
    }
    expect(rvc(d, ['remote', 'add', 'a b', '/tmp/x']).code).toBe(2);
    expect(fs.readFileSync(cfg, 'utf8')).toBe(before);
    rvcOk(d, ['status']);
  });

  it('repairs a broken tracked or local config with config --unset and remote remove, as the error hints say', () => {
    const d = repo();
    const cfg = path.join(d, '.rvc/config.yaml');
    fs.writeFileSync(cfg, 'core:\n  remote: "a b"\n  nope: 1\nremote:\n  "":\n    url: x\n  "a b":\n    url: y\n  keep:\n    url: /tmp/keep\n');
    const seen: string[] = [];
    // Follow the hints one by one, as a user would.
    for (let i = 0; i < 5; i++) {
      const st = rvc(d, ['status', '--json']);
      if (st.code === 0) break;
      const e = errorOf(st);
      expect(e.code).toBe('CONFIG_INVALID');
      const cmd = /`rvc ([^`]+)`/.exec(e.hint ?? '')?.[1];
      expect(cmd, e.hint).toBeDefined();
      seen.push(cmd!);
      const args = cmd!.match(/'[^']*'|\S+/g)!.map((a) => a.replace(/^'(.*)'$/, '$1'));
      const fix = rvc(d, args);
      expect(fix.code, `${cmd}\n${fix.stderr}`).toBe(0);
    }
    expect(seen).toEqual(['config --unset core.nope', "remote remove ''", "remote remove 'a b'"]);
    rvcOk(d, ['status']);
    expect(fs.readFileSync(cfg, 'utf8')).toBe('remote:\n  keep:\n    url: /tmp/keep\n');

    // The same for the local file; a set is made when the result reads back.
    const local = path.join(d, '.rvc/config.local.yaml');
    fs.writeFileSync(local, 'core:\n  hash: md5\n');
    const st = rvc(d, ['status', '--json']);
    expect(errorOf(st).hint).toContain('`rvc config --local core.hash <value>`');
    rvcOk(d, ['config', '--local', 'core.hash', 'sha256']);
    expect(rvcOk(d, ['config', 'core.hash']).stdout.trim()).toBe('sha256');
    // An unset that leaves another problem says so, and the file is one step better.
    fs.writeFileSync(local, 'core:\n  hash: md5\n  nope: 1\n');
    const partial = rvcOk(d, ['config', '--local', '--unset', 'core.nope']);
    expect(partial.stderr).toMatch(/still has a problem: .*core\.hash/);
    expect(fs.readFileSync(local, 'utf8')).toBe('core:\n  hash: md5\n');
    expect(rvc(d, ['config', '--local', '--unset', 'core.nope']).code).toBe(1); // nothing to remove: the error says what is wrong
    rvcOk(d, ['config', '--local', '--unset', 'core.hash']);
    rvcOk(d, ['status']);
  });
});

describe('secrets in the configuration', () => {
  const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRET';

  it('a URL with credentials is refused in every URL-valued option; secret values are never printed', () => {
    const d = repo();
    rvcOk(d, ['remote', 'add', '-d', 'r', 's3://bucket/prefix']);
    const attempts = [
      ['config', 'remote.r.endpointurl', `http://AKIA:${SECRET}@127.0.0.1:9000`],
      ['config', '--local', 'remote.r.endpointurl', `http://AKIA:${SECRET}@127.0.0.1:9000`],
      ['config', 'remote.r.url', `s3://AKIA:${SECRET}@bucket`],
      ['remote', 'modify', 'r', 'endpointurl', `https://${SECRET}@example.com`],
      ['remote', 'modify', '--local', 'r', 'endpointurl', `https://${SECRET}@example.com`],
    ];
    for (const a of attempts) {
      const r = rvc(d, a);
      expect(r.code, a.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/credentials/);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
    for (const f of ['.rvc/config.yaml', '.rvc/config.local.yaml']) {
      expect(fs.existsSync(path.join(d, f)) ? fs.readFileSync(path.join(d, f), 'utf8') : '').not.toContain(SECRET);
    }

    // Secrets belong in the local file, and no command prints them.
    rvcOk(d, ['config', '--local', 'remote.r.secret_access_key', SECRET]);
    rvcOk(d, ['remote', 'modify', '--local', 'r', 'session_token', SECRET]);
    expect(fs.readFileSync(path.join(d, '.rvc/config.local.yaml'), 'utf8')).toContain(SECRET);
    const reads = [['config', '--local', 'remote.r.secret_access_key'], ['config', '--list'], ['config', '--list', '--local', '--json'], ['remote', 'list', '--json']];
    for (const a of reads) {
      const r = rvcOk(d, a);
      expect(r.stdout + r.stderr, a.join(' ')).not.toContain(SECRET);
    }
    expect(rvcOk(d, ['config', 'remote.r.secret_access_key']).stdout.trim()).toBe('***');
    expect(JSON.parse(rvcOk(d, ['config', 'remote.r.session_token', '--json']).stdout)).toEqual({ 'remote.r.session_token': '***' });
  });

  it('a tracked config holding a URL with credentials is refused without echoing them, and repaired as the hint says', () => {
    const d = repo();
    const cfg = path.join(d, '.rvc/config.yaml');
    fs.writeFileSync(cfg, `remote:\n  r:\n    url: s3://bucket/p\n    endpointurl: http://AKIA:${SECRET}@127.0.0.1:9000\n`);
    const st = rvc(d, ['status', '--json']);
    expect(st.code).toBe(1);
    expect(st.stdout + st.stderr).not.toContain(SECRET);
    expect(errorOf(st)).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(errorOf(st).hint).toContain('`rvc config --unset remote.r.endpointurl`');
    for (const a of [['config', '--list'], ['remote', 'list', '--json'], ['config', 'remote.r.endpointurl']]) {
      const r = rvc(d, a);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
    rvcOk(d, ['config', '--unset', 'remote.r.endpointurl']);
    expect(fs.readFileSync(cfg, 'utf8')).not.toContain(SECRET);
    rvcOk(d, ['status']);
  });
});

describe('data-sized inputs', () => {
  it('params diff lists 200,000 changed keys (the table overflowed the stack at ~125,000)', () => {
    const d = repo();
    const params = (add: number) => {
      const o: Record<string, number> = {};
      for (let i = 0; i < 200_000; i++) o[`k${i}`] = i + add;
      return JSON.stringify(o);
    };
    writeTree(d, { 'rvc.yaml': 'stages:\n  s:\n    cmd: echo hi\n    params:\n      - params.json:\n', 'params.json': params(0) });
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'params']);
    writeTree(d, { 'params.json': params(1) });
    const r = rvcOk(d, ['params', 'diff']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(200_001);
    expect(lines[0]).toMatch(/^Path {9}Param {4}HEAD {4}workspace$/);
    expect(lines).toContain('params.json  k199999  199999  200000');
  });
});

describe('targets that name nothing', () => {
  it('a path inside a tracked output that is neither in the workspace nor recorded fails, for every verb taking targets', () => {
    const d = repo();
    const store = tmpDir('rvc-store-');
    made.push(store);
    writeTree(d, { 'd/a': 'a\n', 'd/sub/b': 'b\n', 'x': 'x\n' });
    rvcOk(d, ['add', 'd', 'x']);
    rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    rvcOk(d, ['push']);
    for (const [args, target] of [
      [['status'], 'd/nope'], [['checkout'], 'd/nope'], [['commit'], 'd/nope'], [['push'], 'd/nope'],
      [['fetch'], 'd/sub/nope'], [['pull'], 'd/nope'], [['status'], 'x/nope'], [['checkout'], 'x/nope'],
    ] as const) {
      const r = rvc(d, [...args, target, '--json']);
      expect(r.code, `${args.join(' ')} ${target}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(errorOf(r)).toMatchObject({ code: 'PATH_NOT_FOUND' });
      expect(errorOf(r).message).toContain(`'${target}'`);
      expect(errorOf(r).hint).toContain('rvc status');
    }
    // Recorded but deleted from the workspace, or new in the workspace: valid targets.
    fs.rmSync(path.join(d, 'd/a'));
    writeTree(d, { 'd/new': 'new\n' });
    expect(JSON.parse(rvcOk(d, ['status', 'd/a', '--json']).stdout).outs[0].changes.deleted).toEqual(['a']);
    rvcOk(d, ['status', 'd/new']);
    rvcOk(d, ['checkout', 'd/a']);
    expect(fs.readFileSync(path.join(d, 'd/a'), 'utf8')).toBe('a\n');
    rvcOk(d, ['checkout', 'd/sub']);

    // With the manifest not in the cache yet, fetch finds out once it has it.
    fs.rmSync(path.join(d, 'd/new'));
    for (const f of fs.readdirSync(path.join(d, '.rvc/cache'), { recursive: true }) as string[]) {
      fs.chmodSync(path.join(d, '.rvc/cache', f), 0o755);
    }
    fs.rmSync(path.join(d, '.rvc/cache/blake3'), { recursive: true });
    const f = rvc(d, ['fetch', 'd/nope', '--json']);
    expect(f.code).toBe(1);
    expect(JSON.parse(f.stdout).failed).toMatchObject([{ code: 'PATH_NOT_FOUND', paths: ['d'] }]);
    rvcOk(d, ['pull', 'd/sub/b']);
  });
});
