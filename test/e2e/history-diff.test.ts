import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir } from '../helpers/cli.js';
import { hashBuffer } from '../../src/hashing/hash.js';

/**
 * `rvc diff` and `rvc get --rev` across three commits of a tracked folder (files added, changed,
 * removed, one renamed), a single tracked file and a pipeline output recorded in rvc.lock.
 * Everything is read from git objects: the workspace, HEAD and the index must stay as they were.
 */

const V1 = {
  'a.txt': 'alpha\n',
  'b.txt': 'bravo-1\n',
  'keep.txt': 'keep\n',
  'sub/c.txt': 'charlie\n',
  'sub/d.txt': 'delta-delta\n',
};
// a changed, b removed, e added, sub/d.txt renamed to moved/d.txt
const V2 = {
  'a.txt': 'alpha-2\n',
  'e.txt': 'echo\n',
  'keep.txt': 'keep\n',
  'moved/d.txt': 'delta-delta\n',
  'sub/c.txt': 'charlie\n',
};
// sub/c changed, moved/d removed, tool.sh (executable) added
const V3 = {
  'a.txt': 'alpha-2\n',
  'e.txt': 'echo\n',
  'keep.txt': 'keep\n',
  'sub/c.txt': 'charlie-3\n',
  'tool.sh': '#!/bin/sh\necho hi\n',
};

const oid = (s: string): string => hashBuffer('blake3', s);
const mod = (p: string, a: string, b: string) => ({ path: p, old_size: a.length, new_size: b.length, old_oid: oid(a), new_oid: oid(b) });
const file = (p: string, s: string) => ({ path: p, size: s.length });

const D12 = {
  added: [file('data/e.txt', V2['e.txt'])],
  modified: [mod('data/a.txt', V1['a.txt'], V2['a.txt'])],
  deleted: [file('data/b.txt', V1['b.txt'])],
  renamed: [{ from: 'data/sub/d.txt', to: 'data/moved/d.txt', size: V1['sub/d.txt'].length }],
};
const D23 = {
  added: [file('data/tool.sh', V3['tool.sh'])],
  modified: [
    mod('data/sub/c.txt', V2['sub/c.txt'], V3['sub/c.txt']),
    mod('gen.txt', 'one\n', 'three!\n'),
    mod('model.bin', 'model-1\n', 'model-three\n'),
  ],
  deleted: [file('data/moved/d.txt', V2['moved/d.txt'])],
  renamed: [],
};
const D13 = {
  added: [file('data/e.txt', V2['e.txt']), file('data/tool.sh', V3['tool.sh'])],
  modified: [
    mod('data/a.txt', V1['a.txt'], V3['a.txt']),
    mod('data/sub/c.txt', V1['sub/c.txt'], V3['sub/c.txt']),
    mod('gen.txt', 'one\n', 'three!\n'),
    mod('model.bin', 'model-1\n', 'model-three\n'),
  ],
  deleted: [file('data/b.txt', V1['b.txt']), file('data/sub/d.txt', V1['sub/d.txt'])],
  renamed: [],
};
const REVERSED_D12 = {
  added: [file('data/b.txt', V1['b.txt'])],
  modified: [mod('data/a.txt', V2['a.txt'], V1['a.txt'])],
  deleted: [file('data/e.txt', V2['e.txt'])],
  renamed: [{ from: 'data/moved/d.txt', to: 'data/sub/d.txt', size: V1['sub/d.txt'].length }],
};

function setData(d: string, files: Record<string, string>): void {
  rmrf(path.join(d, 'data'));
  writeTree(d, Object.fromEntries(Object.entries(files).map(([k, v]) => [`data/${k}`, v])));
  if (files['tool.sh']) fs.chmodSync(path.join(d, 'data/tool.sh'), 0o755);
}

function json(d: string, args: string[], cwd = d): unknown {
  return JSON.parse(rvcOk(cwd, [...args, '--json']).stdout);
}

/** What must not change when reading history: HEAD, the index, git status and the workspace data. */
function snapshot(d: string): unknown {
  return {
    head: git(d, ['rev-parse', 'HEAD']),
    index: git(d, ['ls-files', '-s']),
    status: git(d, ['status', '--porcelain', '--untracked-files=all']),
    data: readTree(path.join(d, 'data')),
    model: fs.readFileSync(path.join(d, 'model.bin'), 'utf8'),
    pointers: fs.readFileSync(path.join(d, 'data.rvc'), 'utf8'),
  };
}

describe('rvc diff and rvc get --rev across three commits', () => {
  let d: string;
  let remoteDir: string;
  let outDir: string;

  beforeAll(() => {
    d = makeRepo();
    remoteDir = tmpDir('rvc-remote-');
    outDir = tmpDir('rvc-get-');
    rvcOk(d, ['remote', 'add', '-d', 'store', remoteDir]);
    rvcOk(d, ['stage', 'add', '-n', 'gen', '-d', 'src.txt', '-o', 'gen.txt', 'cp src.txt gen.txt']);

    setData(d, V1);
    writeTree(d, { 'model.bin': 'model-1\n', 'src.txt': 'one\n' });
    rvcOk(d, ['add', 'data', 'model.bin']);
    rvcOk(d, ['repro']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'v1']);
    git(d, ['tag', 'v1']);
    rvcOk(d, ['push']); // the remote holds v1 and v3, never v2

    setData(d, V2);
    rvcOk(d, ['add', 'data']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'v2']);
    git(d, ['tag', 'v2']);

    setData(d, V3);
    writeTree(d, { 'model.bin': 'model-three\n', 'src.txt': 'three!\n' });
    rvcOk(d, ['add', 'data', 'model.bin']);
    rvcOk(d, ['repro']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-qm', 'v3']);
    git(d, ['tag', 'v3']);
    rvcOk(d, ['push']);
  });

  afterAll(() => {
    for (const p of [d, remoteDir, outDir]) rmrf(p);
  });

  it('diffs every pair of revisions exactly, and a revision against the workspace', () => {
    const before = snapshot(d);
    expect(json(d, ['diff', 'v1', 'v2'])).toEqual(D12);
    expect(json(d, ['diff', 'v2', 'v3'])).toEqual(D23);
    expect(json(d, ['diff', 'v1', 'v3'])).toEqual(D13);
    expect(json(d, ['diff', 'v2', 'v1'])).toEqual(REVERSED_D12);
    // One revision: that revision against the workspace (whose pointers are v3's).
    expect(json(d, ['diff', 'v2'])).toEqual(D23);
    // Targets narrow the comparison: a folder inside a tracked folder, a single output.
    expect(json(d, ['diff', 'v1', 'v3', 'data/sub'])).toEqual({
      added: [], modified: [mod('data/sub/c.txt', V1['sub/c.txt'], V3['sub/c.txt'])], deleted: [file('data/sub/d.txt', V1['sub/d.txt'])], renamed: [],
    });
    expect(json(d, ['diff', 'v1', 'v3', '--targets', 'model.bin.rvc', 'gen.txt'])).toEqual({
      added: [], modified: [mod('gen.txt', 'one\n', 'three!\n'), mod('model.bin', 'model-1\n', 'model-three\n')], deleted: [], renamed: [],
    });
    // A rename is still one rename when the target names only its old place.
    expect(json(d, ['diff', 'v1', 'v2', 'data/sub/d.txt'])).toEqual({ added: [], modified: [], deleted: [], renamed: D12.renamed });

    const human = rvcOk(d, ['diff', 'v1', 'v2']).stdout;
    expect(human).toMatch(/Added:\n\s+data\/e\.txt\s+5 B\n/);
    expect(human).toMatch(/Modified:\n\s+data\/a\.txt\s+6 B\s+-> 8 B\n/);
    expect(human).toMatch(/Renamed:\n\s+data\/sub\/d\.txt -> data\/moved\/d\.txt\s+12 B\n/);
    expect(human).toMatch(/v1 → v2: 1 file added, 1 modified, 1 deleted, 1 renamed/);
    expect(snapshot(d)).toEqual(before);
  });

  it('compares the workspace by its pointers: an added-but-uncommitted change shows, an un-added edit does not', () => {
    expect(rvcOk(d, ['diff']).stdout).toMatch(/No changes in tracked data between HEAD and workspace/);
    fs.writeFileSync(path.join(d, 'data/keep.txt'), 'kept, and changed\n');
    try {
      expect(json(d, ['diff'])).toEqual({ added: [], modified: [], deleted: [], renamed: [] });
      rvcOk(d, ['add', 'data']);
      expect(json(d, ['diff'])).toEqual({ added: [], modified: [mod('data/keep.txt', 'keep\n', 'kept, and changed\n')], deleted: [], renamed: [] });
    } finally {
      git(d, ['checkout', '-q', '--', 'data.rvc']);
      rvcOk(d, ['checkout', '--force', 'data']);
    }
    expect(readTree(path.join(d, 'data'))).toEqual(V3);
  });

  it('gets every version byte for byte without touching the workspace, HEAD or the index', () => {
    const before = snapshot(d);
    for (const [rev, tree] of [['v1', V1], ['v2', V2], ['v3', V3]] as const) {
      const r = json(d, ['get', '--rev', rev, 'data', '-o', path.join(outDir, rev)]) as { kind: string; files: number; commit: string };
      expect(r).toMatchObject({ path: 'data', rev, kind: 'dir', files: Object.keys(tree).length, fetched: 0 });
      expect(r.commit).toBe(git(d, ['rev-parse', `${rev}^{commit}`]).trim());
      expect(readTree(path.join(outDir, rev))).toEqual(tree);
    }
    // Plain private files with the executable bit restored, never links into the cache.
    const tool = fs.statSync(path.join(outDir, 'v3/tool.sh'));
    expect(tool.mode & 0o777).toBe(0o755);
    expect(tool.nlink).toBe(1);
    expect(fs.lstatSync(path.join(outDir, 'v1/a.txt')).mode & 0o777).toBe(0o644);

    // A file and a folder inside the tracked folder; a pipeline output; a single tracked file.
    rvcOk(d, ['get', '--rev', 'v1', 'data/sub/d.txt', '-o', path.join(outDir, 'd.txt')]);
    expect(fs.readFileSync(path.join(outDir, 'd.txt'), 'utf8')).toBe(V1['sub/d.txt']);
    rvcOk(d, ['get', '--rev', 'v2', 'data/moved', '-o', outDir]); // an existing folder receives it under its name
    expect(readTree(path.join(outDir, 'moved'))).toEqual({ 'd.txt': V2['moved/d.txt'] });
    rvcOk(d, ['get', '--rev', 'v1', 'gen.txt', '-o', path.join(outDir, 'gen-v1.txt')]);
    expect(fs.readFileSync(path.join(outDir, 'gen-v1.txt'), 'utf8')).toBe('one\n');

    // Default destination: the name in the current folder; an existing one needs --force.
    const scratch = path.join(d, 'scratch');
    fs.mkdirSync(scratch);
    try {
      rvcOk(scratch, ['get', '--rev', 'v1', '../model.bin']);
      expect(fs.readFileSync(path.join(scratch, 'model.bin'), 'utf8')).toBe('model-1\n');
      const refused = rvc(scratch, ['get', '--rev', 'v3', '../model.bin', '--json']);
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout).error.code).toBe('PATH_OVERLAPS');
      expect(fs.readFileSync(path.join(scratch, 'model.bin'), 'utf8')).toBe('model-1\n');
      rvcOk(scratch, ['get', '--rev', 'v3', '../model.bin', '--force']);
      expect(fs.readFileSync(path.join(scratch, 'model.bin'), 'utf8')).toBe('model-three\n');
      // --force replaces a whole folder with another version of it.
      rvcOk(d, ['get', '--rev', 'v1', 'data', '-o', path.join(outDir, 'v3'), '--force']);
      expect(readTree(path.join(outDir, 'v3', 'data'))).toEqual(V1);
    } finally {
      rmrf(scratch);
    }
    expect(snapshot(d)).toEqual(before);
  });

  it('refuses unknown revisions and untracked paths clearly', () => {
    const badRev = rvc(d, ['get', '--rev', 'no-such-rev', 'data', '--json']);
    expect(badRev.code).toBe(1);
    expect(JSON.parse(badRev.stdout).error.code).toBe('REV_NOT_FOUND');
    const badDiff = rvc(d, ['diff', 'no-such-rev', '--json']);
    expect(badDiff.code).toBe(1);
    expect(JSON.parse(badDiff.stdout).error.code).toBe('REV_NOT_FOUND');

    const untracked = rvc(d, ['get', '--rev', 'v1', 'src.txt']);
    expect(untracked.code).toBe(1);
    expect(untracked.stderr).toMatch(/'src\.txt' is not tracked by rvc at v1/);
    const gone = rvc(d, ['get', '--rev', 'v3', 'data/b.txt', '--json']);
    expect(JSON.parse(gone.stdout).error.code).toBe('NOT_TRACKED');
    expect(fs.existsSync(path.join(d, 'b.txt'))).toBe(false);
  });

  it('fetches what the cache lacks from the default remote (verified), and names what no remote has', () => {
    rmrf(path.join(d, '.rvc', 'cache'));
    const before = snapshot(d);
    const r = json(d, ['get', '--rev', 'v1', 'data', '-o', path.join(outDir, 'remote-v1')]) as { fetched: number };
    expect(readTree(path.join(outDir, 'remote-v1'))).toEqual(V1);
    expect(r.fetched).toBe(Object.keys(V1).length + 1); // the files and the manifest
    expect(json(d, ['diff', 'v1', 'v3'])).toEqual(D13);

    // v2 was never pushed: its manifest is neither in the cache nor on the remote.
    const missing = rvc(d, ['diff', 'v1', 'v2', '--json']);
    expect(missing.code).toBe(1);
    const err = JSON.parse(missing.stdout).error;
    expect(err.code).toBe('OBJECT_MISSING');
    expect(err.path).toBe('data');
    expect(err.message).toMatch(/manifest of 'data' at v2/);
    const noGet = rvc(d, ['get', '--rev', 'v2', 'data/e.txt', '-o', path.join(outDir, 'e.txt')]);
    expect(noGet.code).toBe(1);
    expect(noGet.stderr).toMatch(/not in the cache nor on remote 'store'/);
    expect(fs.existsSync(path.join(outDir, 'e.txt'))).toBe(false);
    expect(snapshot(d)).toEqual(before);
  });
});
