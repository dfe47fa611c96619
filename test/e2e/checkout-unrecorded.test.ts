import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir } from '../helpers/cli.js';

const made: string[] = [];
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function repo(): string {
  const d = makeRepo();
  made.push(d);
  return d;
}

const exists = (d: string, rel: string): boolean => fs.existsSync(path.join(d, rel));

describe('rvc checkout recreates missing folders', () => {
  it('a tracked empty folder, and a folder removed whole, come back and are reported', () => {
    const d = repo();
    fs.mkdirSync(path.join(d, 'empty'));
    writeTree(d, { 'data/a.txt': 'A\n', 'data/sub/b.txt': 'B\n' });
    rvcOk(d, ['add', 'empty', 'data']);
    rmrf(path.join(d, 'empty'));
    rmrf(path.join(d, 'data'));
    expect(rvcOk(d, ['status']).stdout).toMatch(/empty: deleted/);

    const r = rvcOk(d, ['checkout']);
    expect(r.stdout).toMatch(/^A {7}empty \(empty folder\)$/m);
    expect(r.stdout).toMatch(/^A {7}data \(2 added, 0 modified, 0 deleted\)$/m);
    expect(r.stdout).not.toMatch(/already matches/);
    expect(fs.statSync(path.join(d, 'empty')).isDirectory()).toBe(true);
    expect(readTree(path.join(d, 'data'))).toEqual({ 'a.txt': 'A\n', 'sub/b.txt': 'B\n' });
    expect(rvcOk(d, ['status', '--json']).stdout).toMatch(/"clean": ?true/);
    expect(rvcOk(d, ['checkout']).stdout).toMatch(/already matches/);
  });
});

describe('rvc checkout removes outputs nothing records any more', () => {
  it('after git checkout of an older commit: unchanged data goes, edited data stays with a warning until --force', () => {
    const d = repo();
    writeTree(d, { 'data/a.txt': 'A\n', 'data/sub/b.txt': 'B\n', 'model.bin': 'M\n', 'notes.txt': 'mine\n' });
    fs.mkdirSync(path.join(d, 'data/empty-sub'));
    rvcOk(d, ['add', 'data', 'model.bin']);
    git(d, ['add', 'data.rvc', 'model.bin.rvc', '.gitignore']);
    git(d, ['commit', '-q', '-m', 'data']);

    // The older commit has neither pointer: both outputs go, files rvc never placed stay.
    git(d, ['checkout', '-q', 'HEAD~1']);
    const r = rvcOk(d, ['checkout']);
    expect(r.stdout).toMatch(/^D {7}data$/m);
    expect(r.stdout).toMatch(/^D {7}model\.bin$/m);
    expect(exists(d, 'data')).toBe(false);
    expect(exists(d, 'model.bin')).toBe(false);
    expect(fs.readFileSync(path.join(d, 'notes.txt'), 'utf8')).toBe('mine\n');

    git(d, ['checkout', '-q', 'main']);
    rvcOk(d, ['checkout']);
    expect(readTree(path.join(d, 'data'))).toEqual({ 'a.txt': 'A\n', 'sub/b.txt': 'B\n' });

    // Unsaved edits are never lost: kept, warned about, exit code 0; again on the next checkout.
    fs.writeFileSync(path.join(d, 'data/a.txt'), 'edited\n');
    git(d, ['checkout', '-q', 'HEAD~1']);
    for (let i = 0; i < 2; i++) {
      const k = rvc(d, ['checkout']);
      expect(k.code).toBe(0);
      expect(k.stderr).toMatch(/'data' is no longer recorded.*data\/a\.txt.*rvc add data/s);
      expect(k.stdout).not.toMatch(/^D {7}data$/m);
      expect(fs.readFileSync(path.join(d, 'data/a.txt'), 'utf8')).toBe('edited\n');
    }
    expect(exists(d, 'model.bin')).toBe(false);
    const j = JSON.parse(rvcOk(d, ['checkout', '--json']).stdout) as { kept: string[]; removed: string[] };
    expect(j).toMatchObject({ kept: ['data'], removed: [] });

    const f = rvcOk(d, ['checkout', '--force']);
    expect(f.stdout).toMatch(/^D {7}data$/m);
    expect(exists(d, 'data')).toBe(false);
    expect(rvcOk(d, ['checkout']).stdout).toMatch(/already matches/);
  });

  it('a stage output that rvc.lock no longer records goes; recorded outputs and uncached ones stay', () => {
    const d = repo();
    writeTree(d, { 'in.txt': 'one\n' });
    rvcOk(d, ['stage', 'add', '-n', 'first', '-d', 'in.txt', '-o', 'out1.txt', 'cp in.txt out1.txt']);
    rvcOk(d, ['repro']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'first']);
    rvcOk(d, ['stage', 'add', '-n', 'second', '-d', 'in.txt', '-o', 'out2', '-O', 'scratch.txt', 'mkdir -p out2 && cp in.txt out2/x && echo s > scratch.txt']);
    rvcOk(d, ['repro']);
    git(d, ['add', 'rvc.yaml', 'rvc.lock', '.gitignore']);
    git(d, ['commit', '-q', '-m', 'second']);

    git(d, ['checkout', '-q', 'HEAD~1']);
    const r = rvcOk(d, ['checkout']);
    expect(r.stdout).toMatch(/^D {7}out2$/m);
    expect(r.stderr).not.toMatch(/no longer recorded/);
    expect(exists(d, 'out2')).toBe(false);
    expect(fs.readFileSync(path.join(d, 'out1.txt'), 'utf8')).toBe('one\n');
    // Not in the cache, so never rvc's to delete: no warning either.
    expect(fs.readFileSync(path.join(d, 'scratch.txt'), 'utf8')).toBe('s\n');

    git(d, ['checkout', '-q', 'main']);
    rvcOk(d, ['checkout']);
    expect(fs.readFileSync(path.join(d, 'out2/x'), 'utf8')).toBe('one\n');
  });

  it('data the older commit keeps in git is git\'s: checkout leaves it', () => {
    const d = repo();
    writeTree(d, { 'data/a.txt': 'A\n' });
    git(d, ['add', 'data']);
    git(d, ['commit', '-q', '-m', 'data in git']);
    git(d, ['rm', '-q', '-r', '--cached', 'data']);
    rvcOk(d, ['add', 'data']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'data in rvc']);
    git(d, ['checkout', '-q', 'HEAD~1']);
    expect(rvcOk(d, ['checkout']).stdout).not.toMatch(/^D/m);
    expect(git(d, ['status', '--porcelain'])).toBe('');
  });

  it('rvc remove keeps the data and checkout leaves it; a damaged record is ignored', () => {
    const d = repo();
    writeTree(d, { 'data/a.txt': 'A\n', 'keep.txt': 'A\n' });
    rvcOk(d, ['add', 'data']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'data']);
    rvcOk(d, ['remove', 'data.rvc']);
    expect(rvcOk(d, ['checkout']).stdout).not.toMatch(/^D/m);
    expect(readTree(path.join(d, 'data'))).toEqual({ 'a.txt': 'A\n' });

    // A record naming a path outside the workspace is not trusted at all, not even its other
    // entries (keep.txt's content is in the cache: a trusted entry would delete it).
    const outside = tmpDir();
    made.push(outside);
    fs.writeFileSync(path.join(outside, 'victim'), 'A\n');
    const oid = '0'.repeat(64);
    const rel = path.relative(d, path.join(outside, 'victim'));
    fs.writeFileSync(path.join(d, '.rvc/tmp/placed.json'), JSON.stringify({ v: 1, outs: [
      { path: rel, hash: 'blake3', oid }, { path: 'keep.txt', hash: 'blake3', oid },
    ] }));
    expect(rvcOk(d, ['checkout']).stdout).not.toMatch(/^D/m);
    expect(fs.readFileSync(path.join(outside, 'victim'), 'utf8')).toBe('A\n');
    expect(fs.readFileSync(path.join(d, 'keep.txt'), 'utf8')).toBe('A\n');

    // A valid entry below a folder that is now a symlink out of the workspace is not followed.
    fs.symlinkSync(outside, path.join(d, 'link'));
    fs.writeFileSync(path.join(d, '.rvc/tmp/placed.json'), JSON.stringify({ v: 1, outs: [{ path: 'link/victim', hash: 'blake3', oid }] }));
    const k = rvcOk(d, ['checkout', '--force']);
    expect(k.stderr).toMatch(/'link' is a symbolic link/);
    expect(fs.readFileSync(path.join(outside, 'victim'), 'utf8')).toBe('A\n');
  });
});
