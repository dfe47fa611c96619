import { describe, it, expect, afterEach, afterAll } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir, RVC_BIN, distinctBytes, type RunResult } from '../helpers/cli.js';
import { isRoot, tryMountTmpfs } from '../helpers/tmpfs.js';

/**
 * Disk full and permission errors: a clear error with a stable code naming the path, no half
 * object or temp file left, no pointer written, and the repository usable once the cause is gone.
 *
 * Three ways to make writes fail:
 * - a file-size limit (`ulimit -f`): writes past it come back short and then fail (EFBIG), like
 *   a disk filling up mid-file. Needs no privileges, so these tests always run.
 * - a small tmpfs the test mounts (root only): a real ENOSPC.
 * - the immutable attribute (`chattr +i`, root only): as root, chmod does not stop writes.
 */

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
/** Paths made immutable; cleared before anything is removed. */
const immutable: string[] = [];
afterEach(() => {
  while (immutable.length) chattr('-i', immutable.pop()!);
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

const MiB = 1024 * 1024;

/** rvc under a file-size limit of `kib` KiB. */
function rvcLimited(cwd: string, args: string[], kib: number): RunResult {
  const r = spawnSync('bash', ['-c', `ulimit -f ${kib}; exec "$0" "$@"`, process.execPath, RVC_BIN, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The error an rvc --json run failed with. */
function failure(r: RunResult): { code: string; message: string; path?: string; hint?: string } {
  expect(r.code, r.stderr).toBe(1);
  return json(r).error;
}

/** Every file below `dir` whose name is one of rvc's temp names (or a download in progress). */
function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const rec = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) rec(p);
      else if (/\.tmp$|^dl-|^fetch-|^\.rvc-tmp-/.test(e.name)) out.push(path.relative(dir, p));
    }
  };
  rec(dir);
  return out;
}

function expectCacheClean(d: string): void {
  const r = json(rvcOk(d, ['fsck', '--json']));
  expect(r.corrupt).toEqual([]);
  expect(r.leftovers).toEqual([]);
  expect(tempFiles(path.join(d, '.rvc'))).toEqual([]);
}

function readIfExists(p: string): string {
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '';
}

// --- privileges and tools -------------------------------------------------------------------

function chattr(flag: string, p: string): void {
  execFileSync('chattr', [flag, p], { stdio: 'pipe' });
}

function probeChattr(): string | undefined {
  if (!isRoot) return 'not running as root (as root, chmod would not stop writes anyway; chattr +i needs root)';
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-chattr-'));
  const f = path.join(d, 'probe');
  fs.writeFileSync(f, 'x');
  try {
    chattr('+i', f);
    chattr('-i', f);
    return undefined;
  } catch (e) {
    return `chattr +i does not work here: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

const mnt = tryMountTmpfs(24);
const noTmpfs = mnt.reason;
const noChattr = probeChattr();
if (noTmpfs) console.warn(`diskfull.test.ts: skipping the tmpfs tests: ${noTmpfs}`);
if (noChattr) console.warn(`diskfull.test.ts: skipping the read-only tests: ${noChattr}`);
afterAll(() => {
  if (mnt.dir) {
    spawnSync('umount', ['-l', mnt.dir]);
    fs.rmdirSync(mnt.dir);
  }
});

/** A repository made inside the tmpfs. */
function repoOnTmpfs(): string {
  const d = track(fs.mkdtempSync(path.join(mnt.dir!, 'repo-')));
  git(d, ['init', '-q', '-b', 'main']);
  git(d, ['config', 'user.email', 'test@example.com']);
  git(d, ['config', 'user.name', 'rvc test']);
  rvcOk(d, ['init']);
  git(d, ['add', '-A']);
  git(d, ['commit', '-q', '-m', 'init']);
  return d;
}

/** Fills the tmpfs with a file so that about `leave` bytes stay free; returns the file. */
function fillLeaving(dir: string, leave: number): string {
  const f = path.join(dir, 'filler.bin');
  const free = fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize;
  fs.writeFileSync(f, Buffer.alloc(Math.max(0, free - leave)));
  return f;
}

// --- tests ----------------------------------------------------------------------------------

describe('a write that runs out of room (file-size limit: always runs)', () => {
  it('add of a small file and of a large one: DISK_FULL naming the file, no half object, no pointer; then add succeeds', () => {
    const d = track(makeRepo());
    const small = distinctBytes(2 * MiB); // read whole and written in one call
    const large = distinctBytes(6 * MiB); // hashed while copied in chunks
    writeTree(d, { 'small.bin': small, 'large.bin': large, 'ok.txt': 'fits' });
    rvcOk(d, ['add', 'ok.txt']);
    for (const f of ['small.bin', 'large.bin']) {
      const err = failure(rvcLimited(d, ['add', f, '--json'], 1024));
      expect(err.code).toBe('DISK_FULL');
      expect(err.message).toContain('.rvc');
      expect(err.hint).toBeTruthy();
      expect(fs.existsSync(path.join(d, `${f}.rvc`))).toBe(false);
      expect(readIfExists(path.join(d, '.gitignore'))).not.toContain(f);
      expectCacheClean(d);
    }
    rvcOk(d, ['add', 'small.bin', 'large.bin']);
    expectCacheClean(d);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
    fs.rmSync(path.join(d, 'small.bin'));
    fs.rmSync(path.join(d, 'large.bin'));
    rvcOk(d, ['checkout']);
    expect(fs.readFileSync(path.join(d, 'small.bin')).equals(small)).toBe(true);
    expect(fs.readFileSync(path.join(d, 'large.bin')).equals(large)).toBe(true);
  });

  it('checkout of a file larger than the limit: DISK_FULL naming the file, cache intact, no temp file left', () => {
    const d = track(makeRepo());
    const big = distinctBytes(3 * MiB);
    writeTree(d, { 'data/big.bin': big, 'data/a.txt': 'a' });
    rvcOk(d, ['add', 'data']);
    rmrf(path.join(d, 'data'));
    const err = failure(rvcLimited(d, ['checkout', '--json'], 1024));
    expect(err.code).toBe('DISK_FULL');
    expect(err.message).toContain('data/big.bin');
    expect(tempFiles(d)).toEqual([]);
    expectCacheClean(d);
    rvcOk(d, ['checkout']);
    expect(fs.readFileSync(path.join(d, 'data/big.bin')).equals(big)).toBe(true);
  });
});

describe('a nearly full filesystem (tmpfs)', () => {
  it.skipIf(!!noTmpfs)('add of more than the free space: DISK_FULL, nothing half-written; after freeing space add succeeds', () => {
    const d = repoOnTmpfs();
    const files: Record<string, Buffer> = { 'data/big.bin': distinctBytes(5 * MiB) };
    for (let i = 0; i < 40; i++) files[`data/small/s${i}.bin`] = distinctBytes(64 * 1024);
    writeTree(d, files);
    const filler = fillLeaving(mnt.dir!, 3 * MiB);
    const err = failure(rvc(d, ['add', 'data', '--json']));
    expect(err.code).toBe('DISK_FULL');
    expect(err.message).toMatch(/no space left/);
    expect(err.path).toBeTruthy();
    expect(err.hint).toMatch(/free some disk space/);
    expect(fs.existsSync(path.join(d, 'data.rvc'))).toBe(false);
    expect(readIfExists(path.join(d, '.gitignore'))).not.toMatch(/data/);
    fs.rmSync(filler);
    expectCacheClean(d);
    // Usable again: the same add now succeeds and the data round-trips.
    rvcOk(d, ['add', 'data']);
    expectCacheClean(d);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);

    // Checkout into the full workspace: a clear error, the cache untouched.
    rmrf(path.join(d, 'data'));
    const filler2 = fillLeaving(mnt.dir!, 1 * MiB);
    const err2 = failure(rvc(d, ['checkout', '--json']));
    expect(err2.code).toBe('DISK_FULL');
    expect(err2.message).toMatch(/data\//);
    expect(tempFiles(d)).toEqual([]);
    fs.rmSync(filler2);
    expectCacheClean(d);
    rvcOk(d, ['checkout']);
    expect(readTree(path.join(d, 'data'))).toEqual(Object.fromEntries(Object.entries(files).map(([k, v]) => [k.slice(5), v.toString('latin1')])));
  });

  it.skipIf(!!noTmpfs)('pull into a full cache: DISK_FULL (not a remote error), nothing corrupt stored, a re-run finishes', () => {
    const src = track(makeRepo());
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 12; i++) files[`data/f${i}.bin`] = distinctBytes(512 * 1024);
    writeTree(src, files);
    rvcOk(src, ['add', 'data']);
    const store = track(tmpDir('rvc-store-'));
    rvcOk(src, ['remote', 'add', '-d', 'store', store]);
    rvcOk(src, ['push']);
    git(src, ['add', '-A']);
    git(src, ['commit', '-q', '-m', 'data']);
    const c = track(fs.mkdtempSync(path.join(mnt.dir!, 'clone-')));
    git(c, ['clone', '-q', src, '.']);
    const filler = fillLeaving(mnt.dir!, 2 * MiB);
    const err = failure(rvc(c, ['pull', '--json']));
    expect(err.code).toBe('DISK_FULL');
    expect(err.hint).toMatch(/free some disk space/);
    fs.rmSync(filler);
    expectCacheClean(c);
    rvcOk(c, ['pull']);
    expect(readTree(path.join(c, 'data'))).toEqual(Object.fromEntries(Object.entries(files).map(([k, v]) => [k.slice(5), v.toString('latin1')])));
  });
});

describe('read-only files and folders (chattr +i)', () => {
  it.skipIf(!!noChattr)('checkout that must replace a read-only file or write into a read-only folder: PERMISSION_DENIED naming it, nothing lost', () => {
    const d = track(makeRepo());
    writeTree(d, { 'data/a.txt': 'v1', 'data/b.txt': 'b1' });
    rvcOk(d, ['add', 'data']);
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'v1']);
    writeTree(d, { 'data/a.txt': 'v2', 'data/b.txt': 'b2' });
    rvcOk(d, ['add', 'data']);
    git(d, ['checkout', '-q', '--', 'data.rvc']); // back to v1's pointer; v2 is in the cache

    const a = path.join(d, 'data/a.txt');
    chattr('+i', a);
    immutable.push(a);
    const err = failure(rvc(d, ['checkout', '--json']));
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toContain('data/a.txt');
    expect(err.hint).toBeTruthy();
    expect(fs.readFileSync(a, 'utf8')).toBe('v2'); // untouched
    expect(tempFiles(d)).toEqual([]);
    chattr('-i', a);
    immutable.pop();

    // A read-only folder where checkout must create a file.
    fs.rmSync(path.join(d, 'data/b.txt'));
    const dir = path.join(d, 'data');
    chattr('+i', dir);
    immutable.push(dir);
    const err2 = failure(rvc(d, ['checkout', '--json']));
    expect(err2.code).toBe('PERMISSION_DENIED');
    expect(err2.message).toMatch(/data\/(a|b)\.txt/);
    chattr('-i', dir);
    immutable.pop();

    expectCacheClean(d);
    rvcOk(d, ['checkout']);
    expect(readTree(dir)).toEqual({ 'a.txt': 'v1', 'b.txt': 'b1' });
  });

  it.skipIf(!!noChattr)('add into a read-only cache: PERMISSION_DENIED naming the cache path, no pointer; usable once writable', () => {
    const d = track(makeRepo());
    writeTree(d, { 'first.txt': 'first', 'data/x.txt': 'x', 'data/y.txt': 'y' });
    rvcOk(d, ['add', 'first.txt']);
    const cache = path.join(d, '.rvc/cache');
    const dirs = [cache, ...fs.readdirSync(cache).map((a) => path.join(cache, a))];
    for (const a of fs.readdirSync(cache)) for (const s of fs.readdirSync(path.join(cache, a))) dirs.push(path.join(cache, a, s));
    for (const p of dirs) {
      chattr('+i', p);
      immutable.push(p);
    }
    const err = failure(rvc(d, ['add', 'data', '--json']));
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toContain('.rvc/cache');
    expect(err.hint).toMatch(/permission/);
    expect(fs.existsSync(path.join(d, 'data.rvc'))).toBe(false);
    while (immutable.length) chattr('-i', immutable.pop()!);
    expectCacheClean(d);
    rvcOk(d, ['add', 'data']);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
  });
});
