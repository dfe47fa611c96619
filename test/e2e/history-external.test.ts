import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rvc, rvcOk, git, writeTree, readTree, rmrf, tmpDir } from '../helpers/cli.js';
import { hashBuffer } from '../../src/hashing/hash.js';

/*
 * Other repositories as sources: `rvc ls`, `rvc get <repo> <path>`, `rvc import`, `rvc update`
 * and `rvc pull` of imports, by local path and by file:// URL (git clones it like any URL).
 * One scenario shared by the tests below, run in order: a first repository publishes v1 (pushed
 * to its folder remote), a second imports from it, the first publishes v2, the import follows.
 */

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

function initRepo(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.email', 'test@example.com']);
  git(dir, ['config', 'user.name', 'rvc test']);
  git(dir, ['config', 'commit.gpgsign', 'false']);
  rvcOk(dir, ['init', '-q']);
  return dir;
}

/** Every path below `dir` with its bytes, to prove a command left a repository untouched. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(readTree(dir)).filter(([k]) => !k.startsWith('.git/')));
}

const V1 = { 'data/a.txt': 'alpha v1\n', 'data/sub/b.txt': 'beta\n'.repeat(50), 'data/sub/c.bin': Buffer.from([0, 1, 2, 255, 254]).toString('latin1') };
const V2 = { 'data/a.txt': 'alpha v2, longer\n', 'data/sub/c.bin': V1['data/sub/c.bin'], 'data/d.txt': 'delta, new in v2\n' };

function under(files: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter(([k]) => k.startsWith(`${prefix}/`)).map(([k, v]) => [k.slice(prefix.length + 1), v]));
}

let base: string;
let first: string;
let second: string;
let firstUrl: string;
let v1: string;

beforeAll(() => {
  base = fs.realpathSync(tmpDir('rvc-ext-'));
  first = initRepo(path.join(base, 'first'));
  writeTree(first, { ...Object.fromEntries(Object.entries(V1).map(([k, v]) => [k, Buffer.from(v, 'latin1')])), 'README.md': 'the first repository\n' });
  rvcOk(first, ['add', 'data']);
  rvcOk(first, ['remote', 'add', '-d', 'store', '../store']); // relative: resolved against the source root
  git(first, ['add', '-A']);
  git(first, ['commit', '-q', '-m', 'v1']);
  git(first, ['tag', 'v1']);
  rvcOk(first, ['push']);
  v1 = git(first, ['rev-parse', 'HEAD']).trim();
  firstUrl = pathToFileURL(first).href;
  second = initRepo(path.join(base, 'second'));
  git(second, ['add', '-A']);
  git(second, ['commit', '-q', '-m', 'init']);
});

afterAll(() => {
  rmrf(base);
});

describe('rvc ls of another repository', () => {
  it('lists git files and tracked data, by path and by file:// URL, recursively into tracked folders', () => {
    for (const repo of ['first', firstUrl]) {
      const r = json(rvcOk(base, ['ls', repo, '--json']));
      expect(r.rev).toBe(v1);
      const byPath = Object.fromEntries(r.entries.map((e: any) => [e.path, e]));
      expect(byPath['data']).toMatchObject({ isdir: true, isout: true, isgit: false, nfiles: 3 });
      expect(byPath['README.md']).toMatchObject({ isdir: false, isout: false, isgit: true, size: 21 });
      expect(byPath['data.rvc']).toMatchObject({ isout: false, isgit: true });
      const rec = json(rvcOk(base, ['ls', repo, 'data', '-R', '--json']));
      expect(rec.entries.map((e: any) => [e.path, e.size, e.isout])).toEqual([['a.txt', 9, true], ['sub/b.txt', 250, true], ['sub/c.bin', 5, true]]);
    }
    const sub = json(rvcOk(base, ['ls', 'first', 'data/sub', '--json']));
    expect(sub.entries.map((e: any) => e.path)).toEqual(['b.txt', 'c.bin']);
    const human = rvcOk(base, ['ls', 'first']).stdout;
    expect(human).toMatch(/^rvc .* data\/$/m);
    expect(human).toMatch(/^git .* README\.md$/m);
    const missing = rvc(base, ['ls', 'first', 'nope', '--json']);
    expect(missing.code).toBe(1);
    expect(json(missing).error.code).toBe('PATH_NOT_FOUND');
  });
});

describe('rvc get from another repository', () => {
  it('is byte-exact by path and by file:// URL, from the cache and from the remote, and writes nothing else', () => {
    const out = path.join(base, 'out');
    fs.mkdirSync(out);
    const before = snapshot(first);
    rvcOk(out, ['get', '../first', 'data', '-o', 'by-path']);
    expect(readTree(path.join(out, 'by-path'))).toEqual(under(V1, 'data'));
    // A URL is cloned bare: its data comes from the remote its committed config names.
    rvcOk(out, ['get', firstUrl, 'data/sub', '-o', 'by-url']);
    expect(readTree(path.join(out, 'by-url'))).toEqual(under(V1, 'data/sub'));
    rvcOk(out, ['get', firstUrl, 'data/sub/c.bin']);
    expect(fs.readFileSync(path.join(out, 'c.bin'), 'latin1')).toBe(V1['data/sub/c.bin']);
    rvcOk(out, ['get', '../first', 'README.md']);
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toBe('the first repository\n');
    // No current repository was needed and none was created; the source did not change.
    expect(fs.existsSync(path.join(out, '.rvc'))).toBe(false);
    expect(snapshot(first)).toEqual(before);
    // An existing destination is refused without --force; an existing folder receives it inside.
    const again = rvc(out, ['get', '../first', 'data/sub/c.bin', '--json']);
    expect(again.code).toBe(1);
    expect(json(again).error.code).toBe('PATH_OVERLAPS');
    fs.mkdirSync(path.join(out, 'into'));
    rvcOk(out, ['get', '../first', 'data/a.txt', '-o', 'into']);
    expect(readTree(path.join(out, 'into'))).toEqual({ 'a.txt': V1['data/a.txt'] });

    // Without its cache, a local source serves the data from its default remote.
    const cache = path.join(first, '.rvc', 'cache');
    fs.renameSync(cache, `${cache}.away`);
    try {
      rvcOk(out, ['get', '../first', 'data', '-o', 'from-remote']);
      expect(readTree(path.join(out, 'from-remote'))).toEqual(under(V1, 'data'));
      expect(fs.existsSync(cache)).toBe(false);
    } finally {
      fs.renameSync(`${cache}.away`, cache);
    }
    // Nothing left in the temporary folder by the clones and temporary object stores.
    expect(fs.readdirSync(os.tmpdir()).filter((n) => /^rvc-(source|objects)-/.test(n))).toEqual([]);
  });
});

describe('rvc import, update and pull', () => {
  it('imports, follows the source to a new version, and pull restores it from the source', () => {
    const before = snapshot(first);
    let r = rvcOk(second, ['import', '../first', 'data', '--json']);
    expect(json(r).import).toEqual({ repo: '../first', path: 'data', rev_lock: v1 });
    expect(readTree(path.join(second, 'data'))).toEqual(under(V1, 'data'));
    expect(fs.readFileSync(path.join(second, 'data.rvc'), 'utf8')).toContain(`import:\n  repo: ../first\n  path: data\n  rev_lock: ${v1}\n`);
    expect(fs.readFileSync(path.join(second, '.gitignore'), 'utf8')).toContain('/data\n');
    // A second import pinned to a tag, by URL, of a folder inside the tracked folder.
    rvcOk(second, ['import', firstUrl, 'data/sub', '--rev', 'v1', '-o', 'pinned']);
    expect(readTree(path.join(second, 'pinned'))).toEqual(under(V1, 'data/sub'));
    const st = json(rvcOk(second, ['status', '--json']));
    expect(st.clean).toBe(true);
    expect(st.outs.map((o: any) => [o.path, o.workspace, o.inCache])).toEqual([['data', 'unchanged', true], ['pinned', 'unchanged', true]]);
    expect(snapshot(first)).toEqual(before);
    git(second, ['add', '-A']);
    git(second, ['commit', '-q', '-m', 'imports']);

    // The first repository publishes v2.
    fs.rmSync(path.join(first, 'data'), { recursive: true, force: true });
    writeTree(first, Object.fromEntries(Object.entries(V2).map(([k, v]) => [k, Buffer.from(v, 'latin1')])));
    rvcOk(first, ['add', 'data']);
    git(first, ['commit', '-q', '-am', 'v2']);
    rvcOk(first, ['push']);
    const v2 = git(first, ['rev-parse', 'HEAD']).trim();

    r = rvcOk(second, ['update', 'data.rvc', 'pinned.rvc', '--json']);
    const [moved, pinned] = json(r).updated;
    expect(moved).toMatchObject({ pointerFile: 'data.rvc', from: v1, to: v2, changed: true, dataChanged: true });
    expect(pinned).toMatchObject({ pointerFile: 'pinned.rvc', rev: 'v1', from: v1, to: v1, changed: false });
    expect(readTree(path.join(second, 'data'))).toEqual(under(V2, 'data'));
    expect(fs.readFileSync(path.join(second, 'data.rvc'), 'utf8')).toContain(`rev_lock: ${v2}\n`);
    expect(readTree(path.join(second, 'pinned'))).toEqual(under(V1, 'data/sub'));
    expect(rvcOk(second, ['update', 'data.rvc']).stdout).toMatch(/up to date/);
    expect(json(rvcOk(second, ['status', '--json'])).clean).toBe(true);

    // Lose the second repository's cache and workspace copies; the first's cache too, so the
    // objects can only come from the first's remote (the second has no remote at all).
    rmrf(path.join(second, '.rvc', 'cache'));
    rmrf(path.join(second, 'data'));
    rmrf(path.join(second, 'pinned'));
    const cache = path.join(first, '.rvc', 'cache');
    fs.renameSync(cache, `${cache}.away`);
    try {
      rvcOk(second, ['pull']);
    } finally {
      fs.renameSync(`${cache}.away`, cache);
    }
    expect(readTree(path.join(second, 'data'))).toEqual(under(V2, 'data'));
    expect(readTree(path.join(second, 'pinned'))).toEqual(under(V1, 'data/sub'));
    // Imported data is not pushed: there is nothing of the second's own to push.
    expect(rvcOk(second, ['push', '--json']).stdout).toMatch(/"transferred": 0/);
    expect(git(second, ['status', '--porcelain'])).toBe(' M data.rvc\n');
  });
});

describe('refusals', () => {
  it('refuses credentials in a repository URL and never prints them', () => {
    const cases: string[][] = [
      ['ls', 'https://alice:s3cr3t-pw@example.invalid/repo.git'],
      ['get', 'https://t0ken-value@example.invalid/repo.git', 'data'],
      ['import', 'ssh://bob:hunter2-pw@example.invalid/repo.git', 'data'],
      ['import', 'carol:l0ngpass@example.invalid:repo.git', 'data'],
    ];
    for (const args of cases) {
      const r = rvc(second, [...args, '--json']);
      expect(r.code, args.join(' ')).toBe(1);
      expect(json(r).error.code).toBe('REMOTE_URL_INVALID');
      expect(r.stdout + r.stderr).not.toMatch(/s3cr3t-pw|t0ken-value|hunter2-pw|l0ngpass/);
    }
    // A pointer carrying one is refused too (and not echoed).
    const p = fs.readFileSync(path.join(second, 'data.rvc'), 'utf8');
    fs.writeFileSync(path.join(second, 'data.rvc'), p.replace('repo: ../first', 'repo: https://dave:pa55w0rd-x@example.invalid/r.git'));
    try {
      const r = rvc(second, ['status', '--json']);
      expect(r.code).toBe(1);
      expect(json(r).error.code).toBe('POINTER_INVALID');
      expect(r.stdout + r.stderr).not.toContain('pa55w0rd-x');
    } finally {
      fs.writeFileSync(path.join(second, 'data.rvc'), p);
    }
  });

  it('refuses a hostile source without writing outside the destination', () => {
    const evil = initRepo(path.join(base, 'evil'));
    const oid = 'a'.repeat(64);
    // Tag `trap`: a manifest (with a matching hash, in the cache) whose entry climbs out of the folder.
    const manifest = `{"path":"../../escaped.txt","oid":"${oid}","size":1}\n`;
    const tree = `${hashBuffer('blake3', manifest)}.tree`;
    writeTree(evil, {
      'bad/trap.rvc': `outs:\n  - path: trap\n    hash: blake3\n    oid: ${tree}\n    size: 1\n    nfiles: 1\n`,
      [`.rvc/cache/blake3/${tree.slice(0, 2)}/${tree.slice(2)}`]: manifest,
      [`.rvc/cache/blake3/${oid.slice(0, 2)}/${oid.slice(2)}`]: 'x',
    });
    git(evil, ['add', '-A']);
    git(evil, ['commit', '-q', '-m', 'trap']);
    git(evil, ['tag', 'trap']);
    // HEAD: also a pointer whose out climbs out of the repository.
    writeTree(evil, { 'up.rvc': `outs:\n  - path: ../x\n    hash: blake3\n    oid: ${oid}\n    size: 1\n` });
    git(evil, ['add', '-A']);
    git(evil, ['commit', '-q', '-m', 'up']);
    const out = path.join(base, 'evil-out');
    fs.mkdirSync(out);
    const code = (args: string[]): string => json(rvc(out, [...args, '--json'])).error.code;
    expect(code(['get', '../evil', '../x'])).toBe('PATH_UNSAFE');
    expect(code(['ls', '../evil'])).toBe('PATH_UNSAFE');
    expect(code(['get', '../evil', 'x'])).toBe('PATH_UNSAFE');
    // The manifest is refused when read, before any file is written.
    const trapped = (r: { stdout: string }): void => {
      expect(json(r).error).toMatchObject({ code: 'PATH_UNSAFE', message: expect.stringContaining('tree entry') });
    };
    trapped(rvc(out, ['get', '../evil', 'bad/trap', '--rev', 'trap', '--json']));
    trapped(rvc(out, ['ls', '../evil', 'bad/trap', '--rev', 'trap', '--json']));
    trapped(rvc(second, ['import', '../evil', 'bad/trap', '--rev', 'trap', '--json']));
    expect(fs.existsSync(path.join(base, 'x'))).toBe(false);
    expect(fs.existsSync(path.join(base, 'escaped.txt'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'trap'))).toBe(false);
    expect(fs.existsSync(path.join(second, 'trap'))).toBe(false);
    expect(fs.existsSync(path.join(second, 'trap.rvc'))).toBe(false);
  });
});
