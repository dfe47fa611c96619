import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { rvc, rvcOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir } from '../helpers/cli.js';

const made: string[] = [];
function repo(opts?: Parameters<typeof makeRepo>[0]): string {
  const d = makeRepo(opts);
  made.push(d);
  return d;
}
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

describe('rvc init', () => {
  it('creates .rvc and .rvcignore, refuses to re-init without --force, and needs git unless --no-scm', () => {
    const d = repo({ rvcInit: false });
    rvcOk(d, ['init']);
    for (const p of ['.rvc/config.yaml', '.rvc/.gitignore', '.rvc/cache', '.rvc/tmp', '.rvcignore']) expect(fs.existsSync(path.join(d, p)), p).toBe(true);
    expect(fs.readFileSync(path.join(d, '.rvc/.gitignore'), 'utf8')).toContain('/config.local.yaml');
    const again = rvc(d, ['init']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already');
    rvcOk(d, ['init', '--force']);

    const plain = tmpDir();
    made.push(plain);
    const r = rvc(plain, ['init']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not inside a git repository/);
    expect(r.stderr).toMatch(/hint: .*--no-scm/);
    rvcOk(plain, ['init', '--no-scm']);
    writeTree(plain, { 'data/x': 'x' });
    rvcOk(plain, ['add', 'data']);
    expect(json(rvcOk(plain, ['status', '--json'])).clean).toBe(true);
  });

  it('records sha256 when asked', () => {
    const d = repo({ initArgs: ['--hash', 'sha256'] });
    writeTree(d, { 'f.txt': 'hello' });
    rvcOk(d, ['add', 'f.txt']);
    const ptr = fs.readFileSync(path.join(d, 'f.txt.rvc'), 'utf8');
    expect(ptr).toContain('hash: sha256');
    expect(ptr).toContain('oid: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  });
});

describe('hash algorithms', () => {
  it('keeps finding data added before core.hash changed', () => {
    const d = repo();
    writeTree(d, { 'old/a': 'blake3 era' });
    rvcOk(d, ['add', 'old']);
    rvcOk(d, ['config', 'core.hash', 'sha256']);
    writeTree(d, { 'new/b': 'sha256 era' });
    rvcOk(d, ['add', 'new']);
    expect(fs.readFileSync(path.join(d, 'new.rvc'), 'utf8')).toContain('hash: sha256');
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
    rmrf(path.join(d, 'old'));
    rvcOk(d, ['checkout']);
    expect(readTree(path.join(d, 'old'))).toEqual({ a: 'blake3 era' });
    expect(json(rvcOk(d, ['gc', '--workspace', '--json'])).removed).toEqual([]);
    expect(json(rvcOk(d, ['fsck', '--json'])).checked).toBe(4);
  });
});

describe('the quick start', () => {
  it('add → commit → change → add → git checkout + rvc checkout moves between versions byte-exactly', () => {
    const d = repo();
    writeTree(d, { 'data/a.csv': 'x,y\n1,2\n', 'data/sub/b.bin': Buffer.from([0, 1, 2, 255]), 'data/c.txt': 'same' });
    const add = rvcOk(d, ['add', 'data']);
    expect(add.stdout).toContain('data.rvc');
    expect(fs.readFileSync(path.join(d, '.gitignore'), 'utf8')).toBe('/data\n');
    const ptr = fs.readFileSync(path.join(d, 'data.rvc'), 'utf8');
    expect(ptr).toMatch(/hash: blake3/);
    expect(ptr).toMatch(/nfiles: 3/);
    git(d, ['add', 'data.rvc', '.gitignore']);
    git(d, ['commit', '-q', '-m', 'v1']);
    const v1 = readTree(path.join(d, 'data'));

    writeTree(d, { 'data/a.csv': 'x,y\n1,2\n3,4\n', 'data/new.txt': 'new' });
    fs.rmSync(path.join(d, 'data/sub/b.bin'));
    rvcOk(d, ['add', 'data']);
    git(d, ['commit', '-q', '-am', 'v2']);
    const v2 = readTree(path.join(d, 'data'));
    expect(v2).not.toEqual(v1);

    git(d, ['checkout', '-q', 'HEAD~1']);
    const co = rvcOk(d, ['checkout']);
    expect(co.stdout).toMatch(/data/);
    expect(readTree(path.join(d, 'data'))).toEqual(v1);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);

    git(d, ['checkout', '-q', 'main']);
    rvcOk(d, ['checkout']);
    expect(readTree(path.join(d, 'data'))).toEqual(v2);
    // The folder v2 removed is gone, not left empty.
    expect(fs.existsSync(path.join(d, 'data/sub'))).toBe(false);
  });
});

describe('add → edit → status → commit', () => {
  it('reports added/modified/deleted files inside a folder, then commit records them', () => {
    const d = repo();
    writeTree(d, { 'data/a': '1', 'data/b': '2', 'data/c': '3' });
    rvcOk(d, ['add', 'data']);
    expect(json(rvcOk(d, ['status', '--json']))).toEqual({ outs: [{ pointerFile: 'data.rvc', path: 'data', workspace: 'unchanged', inCache: true }], clean: true });
    writeTree(d, { 'data/a': 'changed', 'data/d': 'new' });
    fs.rmSync(path.join(d, 'data/c'));
    const st = json(rvcOk(d, ['status', '--json']));
    expect(st.clean).toBe(false);
    expect(st.outs[0].workspace).toBe('modified');
    expect(st.outs[0].changes).toEqual({ added: ['d'], modified: ['a'], deleted: ['c'] });
    const human = rvcOk(d, ['status']).stdout;
    expect(human).toContain('modified (1 added, 1 modified, 1 deleted)');
    const before = fs.readFileSync(path.join(d, 'data.rvc'), 'utf8');
    rvcOk(d, ['commit']);
    expect(fs.readFileSync(path.join(d, 'data.rvc'), 'utf8')).not.toBe(before);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
  });

  it('reports deleted and not-in-cache outputs', () => {
    const d = repo();
    writeTree(d, { 'm.bin': 'model' });
    rvcOk(d, ['add', 'm.bin', '--no-commit']);
    let st = json(rvcOk(d, ['status', '--json']));
    expect(st.outs[0]).toMatchObject({ workspace: 'unchanged', inCache: false });
    rvcOk(d, ['commit', 'm.bin']);
    fs.rmSync(path.join(d, 'm.bin'));
    st = json(rvcOk(d, ['status', '--json']));
    expect(st.outs[0]).toMatchObject({ workspace: 'deleted', inCache: true });
  });

  it('records and restores the executable bit', () => {
    const d = repo();
    writeTree(d, { 'tools/run.sh': '#!/bin/sh\necho hi\n', 'tools/data.txt': 'x' });
    fs.chmodSync(path.join(d, 'tools/run.sh'), 0o755);
    rvcOk(d, ['add', 'tools']);
    rmrf(path.join(d, 'tools'));
    rvcOk(d, ['checkout']);
    expect(fs.statSync(path.join(d, 'tools/run.sh')).mode & 0o111).not.toBe(0);
    expect(fs.statSync(path.join(d, 'tools/data.txt')).mode & 0o111).toBe(0);
  });
});

describe('rvc add refuses what it must not track, and leaves nothing behind', () => {
  it('refuses git-tracked paths, paths outside the repo, symlinked folders and .rvc', () => {
    const d = repo();
    writeTree(d, { 'code/x.py': 'print(1)', 'real/f': 'f' });
    git(d, ['add', 'code']);
    git(d, ['commit', '-q', '-m', 'code']);
    let r = rvc(d, ['add', 'code']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tracked by git/);
    expect(r.stderr).toMatch(/git rm -r --cached/);

    const outside = tmpDir();
    made.push(outside);
    r = rvc(d, ['add', outside]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/outside the repository/);

    fs.symlinkSync(path.join(d, 'real'), path.join(d, 'link'));
    r = rvc(d, ['add', 'link']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/symbolic link/);

    r = rvc(d, ['add', '.rvc']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\.rvc/);

    r = rvc(d, ['add', 'missing']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing/);

    for (const p of ['code.rvc', 'link.rvc', 'missing.rvc']) expect(fs.existsSync(path.join(d, p)), p).toBe(false);
    expect(fs.existsSync(path.join(d, '.gitignore'))).toBe(false);
  });

  it('a failed add (unreadable file) writes no pointer, no .gitignore line and no partial object', () => {
    if (process.getuid?.() === 0) {
      // root can read anything: simulate the failure with a symlink leaving the repository instead
      const d = repo();
      const outside = tmpDir();
      made.push(outside);
      writeTree(outside, { secret: 's' });
      writeTree(d, { 'data/ok': 'ok' });
      fs.symlinkSync(path.join(outside, 'secret'), path.join(d, 'data/escape'));
      const r = rvc(d, ['add', 'data']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/outside the repository/);
      expect(fs.existsSync(path.join(d, 'data.rvc'))).toBe(false);
      expect(fs.existsSync(path.join(d, '.gitignore'))).toBe(false);
      expect(json(rvcOk(d, ['fsck', '--json'])).corrupt).toEqual([]);
      return;
    }
    const d = repo();
    writeTree(d, { 'data/ok': 'ok', 'data/locked': 'x' });
    fs.chmodSync(path.join(d, 'data/locked'), 0);
    const r = rvc(d, ['add', 'data']);
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(d, 'data.rvc'))).toBe(false);
  });

  it('refuses overlapping outputs', () => {
    const d = repo();
    writeTree(d, { 'data/a/x': '1', 'data/b': '2' });
    rvcOk(d, ['add', 'data']);
    const r = rvc(d, ['add', 'data/a']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already tracks/);
  });
});

describe('rvc checkout', () => {
  it('checks out one file inside a tracked folder without touching the rest', () => {
    const d = repo();
    writeTree(d, { 'data/x/1': 'one', 'data/x/2': 'two', 'data/y': 'why' });
    rvcOk(d, ['add', 'data']);
    rmrf(path.join(d, 'data'));
    rvcOk(d, ['checkout', 'data/x/2']);
    expect(readTree(path.join(d, 'data'))).toEqual({ 'x/2': 'two' });
    rvcOk(d, ['checkout', 'data']);
    expect(readTree(path.join(d, 'data'))).toEqual({ 'x/1': 'one', 'x/2': 'two', y: 'why' });
  });

  it('leaves unchanged files alone (same inode) and restores changed ones', () => {
    const d = repo();
    writeTree(d, { 'data/keep': 'keep', 'data/edit': 'v1' });
    rvcOk(d, ['add', 'data']);
    const inoKeep = fs.statSync(path.join(d, 'data/keep')).ino;
    writeTree(d, { 'data/edit': 'v2' });
    rvcOk(d, ['add', 'data']);
    git(d, ['add', 'data.rvc', '.gitignore']);
    git(d, ['commit', '-q', '-m', 'v2']);
    fs.writeFileSync(path.join(d, 'data/edit'), 'v1'); // content that is in the cache
    rvcOk(d, ['checkout']);
    expect(fs.readFileSync(path.join(d, 'data/edit'), 'utf8')).toBe('v2');
    expect(fs.statSync(path.join(d, 'data/keep')).ino).toBe(inoKeep);
  });

  it('refuses to destroy uncached changes or unknown files without --force', () => {
    const d = repo();
    writeTree(d, { 'data/a': 'a' });
    rvcOk(d, ['add', 'data']);
    writeTree(d, { 'data/a': 'precious edit', 'data/extra': 'precious new file' });
    const r = rvc(d, ['checkout']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not in the cache/);
    expect(r.stderr).toMatch(/--force/);
    expect(readTree(path.join(d, 'data'))).toEqual({ a: 'precious edit', extra: 'precious new file' });
    rvcOk(d, ['checkout', '--force']);
    expect(readTree(path.join(d, 'data'))).toEqual({ a: 'a' });
  });

  it('removes files the tree no longer lists when they are in the cache', () => {
    const d = repo();
    writeTree(d, { 'data/a': 'a', 'data/b': 'b' });
    rvcOk(d, ['add', 'data']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'two files']);
    fs.rmSync(path.join(d, 'data/b'));
    rvcOk(d, ['add', 'data']);
    git(d, ['commit', '-q', '-am', 'one file']);
    git(d, ['checkout', '-q', 'HEAD~1']);
    rvcOk(d, ['checkout']);
    expect(readTree(path.join(d, 'data'))).toEqual({ a: 'a', b: 'b' });
    git(d, ['checkout', '-q', 'main']);
    rvcOk(d, ['checkout']);
    expect(readTree(path.join(d, 'data'))).toEqual({ a: 'a' });
  });

  it('fails clearly when the data is not in the cache', () => {
    const d = repo();
    writeTree(d, { 'f.bin': 'x' });
    rvcOk(d, ['add', 'f.bin']);
    rmrf(path.join(d, '.rvc/cache'));
    fs.rmSync(path.join(d, 'f.bin'));
    const r = rvc(d, ['checkout']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not in the cache/);
    expect(r.stderr).toMatch(/rvc pull/);
  });

  it('works with hardlink and symlink link types, and unprotect makes files editable', () => {
    for (const type of ['hardlink', 'symlink']) {
      const d = repo();
      rvcOk(d, ['config', 'cache.type', `${type},copy`]);
      writeTree(d, { 'data/a': 'aaa' });
      rvcOk(d, ['add', 'data']);
      const a = path.join(d, 'data/a');
      if (type === 'hardlink') expect(fs.statSync(a).nlink).toBe(2);
      else expect(fs.lstatSync(a).isSymbolicLink()).toBe(true);
      rmrf(path.join(d, 'data'));
      rvcOk(d, ['checkout']);
      expect(fs.readFileSync(a, 'utf8')).toBe('aaa');
      expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
      rvcOk(d, ['unprotect', 'data']);
      expect(fs.lstatSync(a).isSymbolicLink()).toBe(false);
      expect(fs.statSync(a).nlink).toBe(1);
      fs.writeFileSync(a, 'edited');
      expect(json(rvcOk(d, ['fsck', '--json'])).corrupt).toEqual([]);
    }
  });
});

describe('rvc gc and fsck', () => {
  it('gc --workspace keeps what is referenced and removes the rest; refuses without a scope', () => {
    const d = repo();
    writeTree(d, { 'data/a': 'v1', 'data/b': 'stays' });
    rvcOk(d, ['add', 'data']);
    writeTree(d, { 'data/a': 'v2' });
    rvcOk(d, ['add', 'data']);
    const noScope = rvc(d, ['gc']);
    expect(noScope.code).toBe(2);
    const dry = json(rvcOk(d, ['gc', '--workspace', '--dry-run', '--json']));
    expect(dry.removed).toHaveLength(2); // the old tree and the old content of a
    const objectsBefore = json(rvcOk(d, ['fsck', '--json'])).checked;
    expect(objectsBefore).toBe(5);
    const r = json(rvcOk(d, ['gc', '--workspace', '--json']));
    expect(r.removed.map((x: any) => x.oid).sort()).toEqual(dry.removed.map((x: any) => x.oid).sort());
    expect(json(rvcOk(d, ['fsck', '--json'])).checked).toBe(3);
    rmrf(path.join(d, 'data'));
    rvcOk(d, ['checkout']);
    expect(readTree(path.join(d, 'data'))).toEqual({ a: 'v2', b: 'stays' });
  });

  it('fsck finds a corrupt object, --repair removes it', () => {
    const d = repo();
    writeTree(d, { 'f.txt': 'good content' });
    rvcOk(d, ['add', 'f.txt']);
    const oid = /oid: (\w+)/.exec(fs.readFileSync(path.join(d, 'f.txt.rvc'), 'utf8'))![1]!;
    const obj = path.join(d, '.rvc/cache/blake3', oid.slice(0, 2), oid.slice(2));
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, 'bad content!');
    const r = rvc(d, ['fsck', '--json']);
    expect(r.code).toBe(1);
    expect(json(r).corrupt).toEqual([oid]);
    rvcOk(d, ['fsck', '--repair']);
    expect(fs.existsSync(obj)).toBe(false);
    expect(json(rvcOk(d, ['status', '--json'])).outs[0].inCache).toBe(false);
  });
});

describe('objects removed from the cache by hand', () => {
  it('after rvc fsck, status reports them missing and re-adding stores them again', () => {
    const d = repo();
    writeTree(d, { 'data/a': 'aaa', 'data/b': 'bbb' });
    rvcOk(d, ['add', 'data']);
    expect(json(rvcOk(d, ['status', '--json'])).outs[0].inCache).toBe(true);
    const obj = path.join(d, '.rvc/cache/blake3');
    const shard = fs.readdirSync(obj).find((s) => fs.readdirSync(path.join(obj, s)).some((n) => !n.endsWith('.tree')))!;
    for (const n of fs.readdirSync(path.join(obj, shard))) if (!n.endsWith('.tree')) fs.rmSync(path.join(obj, shard, n), { force: true });
    rvcOk(d, ['fsck']);
    expect(json(rvcOk(d, ['status', '--json'])).outs[0].inCache).toBe(false);
    rvcOk(d, ['add', 'data']);
    expect(json(rvcOk(d, ['status', '--json'])).outs[0].inCache).toBe(true);
    rmrf(path.join(d, 'data'));
    rvcOk(d, ['checkout']);
    expect(readTree(path.join(d, 'data'))).toEqual({ a: 'aaa', b: 'bbb' });
  });
});

describe('rvc remove and move', () => {
  it('remove drops the pointer and the .gitignore line, keeping the data', () => {
    const d = repo();
    writeTree(d, { 'data/a': 'a' });
    rvcOk(d, ['add', 'data']);
    rvcOk(d, ['remove', 'data.rvc']);
    expect(fs.existsSync(path.join(d, 'data.rvc'))).toBe(false);
    expect(fs.existsSync(path.join(d, '.gitignore'))).toBe(false);
    expect(readTree(path.join(d, 'data'))).toEqual({ a: 'a' });
  });

  it('move renames data, pointer and .gitignore lines together', () => {
    const d = repo();
    writeTree(d, { 'data/a': 'a' });
    rvcOk(d, ['add', 'data']);
    fs.mkdirSync(path.join(d, 'sets'));
    rvcOk(d, ['move', 'data', 'sets/raw']);
    expect(fs.existsSync(path.join(d, 'sets/raw.rvc'))).toBe(true);
    expect(fs.existsSync(path.join(d, 'data.rvc'))).toBe(false);
    expect(fs.readFileSync(path.join(d, 'sets/.gitignore'), 'utf8')).toBe('/raw\n');
    expect(fs.readFileSync(path.join(d, 'sets/raw.rvc'), 'utf8')).toContain('path: raw');
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
  });
});

describe('CLI conventions', () => {
  it('a bad --jobs value is a usage error naming the option, not an internal error', () => {
    const dir = repo();
    for (const args of [['push', '-j', '0'], ['repro', '-j', 'abc'], ['import', 'src', 'data', '-j', '-1']]) {
      const r = rvc(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('--jobs');
      expect(r.stderr).not.toContain('internal error');
    }
  });

  it('exit codes, --help, -q, unknown commands and a hint on every error', () => {
    const d = repo();
    expect(rvc(d, ['--help']).code).toBe(0);
    expect(rvc(d, ['help']).code).toBe(0);
    const bare = rvc(d, []);
    expect(bare.code, 'no command named is a usage error').toBe(2);
    expect(bare.stdout + bare.stderr).toContain('Usage: rvc');
    expect(rvc(d, ['add', '--help']).stdout).toContain('--no-commit');
    expect(rvc(d, ['frobnicate']).code).toBe(2);
    expect(rvc(d, ['add']).code).toBe(2);
    writeTree(d, { f: 'x' });
    const q = rvcOk(d, ['add', '-q', 'f']);
    expect(q.stdout).toBe('');
    const outside = tmpDir();
    made.push(outside);
    const r = rvc(outside, ['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ERROR: not inside an rvc repository/m);
    expect(r.stderr).toMatch(/^hint: /m);
    const v = json(rvcOk(d, ['version', '--json']));
    expect(v.linkTypes).toContain('copy');
  });

  it('a held lock makes a second writer wait and then fail naming the holder', () => {
    const d = repo();
    writeTree(d, { f: 'x' });
    fs.writeFileSync(path.join(d, '.rvc/tmp/lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'rvc add big', started: new Date().toISOString() }));
    const t0 = Date.now();
    const r = rvc(d, ['add', 'f'], { RVC_LOCK_WAIT: '1' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/locked by 'rvc add big' \(pid \d+/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    // A lock whose process is gone is cleared automatically.
    fs.writeFileSync(path.join(d, '.rvc/tmp/lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), command: 'rvc add', started: 'x' }));
    rvcOk(d, ['add', 'f']);
  });

  it('.rvcignore hides files from tracked folders', () => {
    const d = repo();
    fs.writeFileSync(path.join(d, '.rvcignore'), '*.tmp\ncache/\n');
    writeTree(d, { 'data/a': 'a', 'data/b.tmp': 'b', 'data/cache/c': 'c' });
    rvcOk(d, ['add', 'data']);
    expect(fs.readFileSync(path.join(d, 'data.rvc'), 'utf8')).toMatch(/nfiles: 1/);
    writeTree(d, { 'data/other.tmp': 'changes nothing' });
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
  });

  it('config get/set/list, with secrets refused in the tracked file', () => {
    const d = repo();
    rvcOk(d, ['config', 'cache.type', 'hardlink,copy']);
    expect(rvcOk(d, ['config', 'cache.type']).stdout.trim()).toBe('hardlink,copy');
    const r = rvc(d, ['config', 'remote.s.secret_access_key', 'xyz']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('xyz');
    rvcOk(d, ['config', '--local', 'remote.s.secret_access_key', 'xyz']);
    expect(rvcOk(d, ['config', '--list', '--local']).stdout).toContain('remote.s.secret_access_key=***');
    expect(rvc(d, ['config', 'core.nope', '1']).code).toBe(2);
  });
});
