import { describe, it, expect, afterEach, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rvc, rvcOk, rvcAsync, git, makeRepo, writeTree, rmrf, tmpDir, RVC_BIN, distinctBytes, type RunResult } from '../helpers/cli.js';
import { isRoot, tryMountTmpfs } from '../helpers/tmpfs.js';

/**
 * Where the cache is and how workspace files are linked to it: files written to while they are
 * added, hard links and symlinks made by rvc itself, a cache on another filesystem or shared
 * between clones, and the warning root gets for link types that share the cache's files.
 */

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
const writers: ChildProcess[] = [];
afterEach(() => {
  while (writers.length) writers.pop()!.kill('SIGKILL');
  while (made.length) rmrf(made.pop()!);
});

function repo(): string {
  return track(makeRepo());
}

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

const MiB = 1024 * 1024;

/** The (single) output recorded in a pointer file. */
function pointerOut(file: string): { oid: string; size: number; nfiles?: number } {
  const text = fs.readFileSync(file, 'utf8');
  const field = (k: string): string | undefined => new RegExp(`^\\s+${k}: (\\S+)$`, 'm').exec(text)?.[1];
  const nfiles = field('nfiles');
  return { oid: field('oid')!, size: Number(field('size')), ...(nfiles !== undefined ? { nfiles: Number(nfiles) } : {}) };
}

function objectPath(cache: string, oid: string): string {
  return path.join(cache, 'blake3', oid.slice(0, 2), oid.slice(2));
}

/** Every file or link below `dir` (outside .git) whose name is one of rvc's temp names. */
function tempNames(dir: string): string[] {
  const out: string[] = [];
  const rec = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) rec(p);
      else if (/\.tmp$/.test(e.name)) out.push(path.relative(dir, p));
    }
  };
  rec(dir);
  return out;
}

/** A process appending 4 KiB to `file` every millisecond until killed. */
async function startAppending(file: string): Promise<ChildProcess> {
  const start = fs.statSync(file).size;
  const child = spawn(process.execPath, ['-e', `
    const fs = require('fs');
    const fd = fs.openSync(process.argv[1], 'a');
    const chunk = Buffer.alloc(4096, 120);
    setInterval(() => fs.writeSync(fd, chunk), 1);
  `, file], { stdio: 'ignore' });
  writers.push(child);
  // Wait (without a deadline: the test timeout bounds it) until it has started writing.
  while (fs.statSync(file).size === start) await new Promise((r) => setTimeout(r, 5));
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const CHANGED = /changed while being stored/;

describe('a file written to while add reads it', () => {
  it('records the size of the bytes stored (single file and inside a folder), warns, and a later add records the rest', async () => {
    const d = repo();
    const cache = path.join(d, '.rvc/cache');
    // With hard links, a file that changed is not replaced by a link to what was stored.
    setCache(d, { type: 'hardlink,copy' });
    writeTree(d, { 'big.bin': distinctBytes(9 * MiB), 'data/grows.log': distinctBytes(2 * MiB), 'data/still.txt': 'still' });
    // Files walked after grows.log widen the time between its stat and its read.
    for (let i = 0; i < 300; i++) writeTree(d, { [`data/z/${i}`]: `small ${i}` });
    const growing = ['big.bin', 'data/grows.log'];
    const ws = await Promise.all(growing.map((f) => startAppending(path.join(d, f))));
    // The writers append every millisecond, so a run almost surely reads each file while it
    // grows; a few tries make sure one did for both (the warning names them).
    let r: RunResult | undefined;
    for (let i = 0; i < 5; i++) {
      r = await rvcAsync(d, ['add', 'big.bin', 'data']);
      expect(r.code, r.stderr).toBe(0);
      if (growing.every((f) => r!.stderr.includes(f))) break;
    }
    await Promise.all(ws.map(stop));

    const single = pointerOut(path.join(d, 'big.bin.rvc'));
    expect(single.size).toBe(fs.statSync(objectPath(cache, single.oid)).size);
    // The manifest's sizes are the stored objects' sizes, and the pointer's is their sum.
    const folder = pointerOut(path.join(d, 'data.rvc'));
    let total = 0;
    for (const line of fs.readFileSync(objectPath(cache, folder.oid), 'utf8').trim().split('\n')) {
      const e = JSON.parse(line) as { oid: string; size: number };
      expect(e.size).toBe(fs.statSync(objectPath(cache, e.oid)).size);
      total += e.size;
    }
    expect(folder.size).toBe(total);
    expect(r!.stderr).toMatch(CHANGED);
    for (const f of growing) expect(r!.stderr).toContain(f);
    expect(json(rvcOk(d, ['fsck', '--json'])).corrupt).toEqual([]);
    // Once the writing has finished, adding again records the files whole.
    rvcOk(d, ['add', 'big.bin', 'data']);
    expect(pointerOut(path.join(d, 'big.bin.rvc')).size).toBe(fs.statSync(path.join(d, 'big.bin')).size);
    expect(fs.statSync(path.join(d, 'big.bin')).nlink).toBe(2);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
  });
});

/** Sets cache.type (and more cache keys) in the tracked config without running rvc. */
function setCache(d: string, keys: Record<string, string>): void {
  fs.writeFileSync(path.join(d, '.rvc/config.yaml'), `cache:\n${Object.entries(keys).map(([k, v]) => `  ${k}: ${v}\n`).join('')}`);
}

describe('link types', () => {
  it('hardlink: re-adding, committing and relinking files that already are the cache object leaves no temp link', () => {
    const d = repo();
    setCache(d, { type: 'hardlink,copy' });
    writeTree(d, { 'data/a': 'aaa', 'data/sub/b': 'bbb', 'single.txt': 'one' });
    rvcOk(d, ['add', 'data', 'single.txt']);
    rvcOk(d, ['add', 'data', 'single.txt']);
    rvcOk(d, ['commit']);
    rvcOk(d, ['checkout', '--relink']);
    expect(tempNames(d)).toEqual([]);
    for (const f of ['data/a', 'data/sub/b', 'single.txt']) expect(fs.statSync(path.join(d, f)).nlink, f).toBe(2);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
  });

  it('symlink: a single-file output, a folder and a stage output are rvc\'s own links; status, add, commit and repro accept them', () => {
    const d = repo();
    setCache(d, { type: 'symlink,copy' });
    writeTree(d, { 'f.txt': 'single', 'data/a': 'aaa', 'sub/g.bin': 'in a folder' });
    rvcOk(d, ['add', 'f.txt', 'data', 'sub/g.bin']);
    for (const f of ['f.txt', 'data/a', 'sub/g.bin']) expect(fs.lstatSync(path.join(d, f)).isSymbolicLink(), f).toBe(true);
    expect(json(rvcOk(d, ['add', 'f.txt', 'sub/g.bin', '--json'])).added.map((a: { changed: boolean }) => a.changed)).toEqual([false, false]);
    rvcOk(d, ['commit']);
    writeTree(d, { 'rvc.yaml': 'stages:\n  make:\n    cmd: node -e "require(\'fs\').writeFileSync(\'out.txt\', \'made\')"\n    outs:\n      - out.txt\n' });
    rvcOk(d, ['repro']);
    expect(fs.lstatSync(path.join(d, 'out.txt')).isSymbolicLink()).toBe(true);
    expect(rvcOk(d, ['repro']).stdout).toMatch(/didn't change/);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
    // A link to another file in the cache is judged by that content: modified, not an error.
    const other = pointerOut(path.join(d, 'data.rvc'));
    fs.rmSync(path.join(d, 'f.txt'));
    const aOid = (JSON.parse(fs.readFileSync(objectPath(path.join(d, '.rvc/cache'), other.oid), 'utf8')) as { oid: string }).oid;
    fs.symlinkSync(objectPath(path.join(d, '.rvc/cache'), aOid), path.join(d, 'f.txt'));
    const st = json(rvcOk(d, ['status', '--json']));
    expect(st.outs.find((o: { path: string }) => o.path === 'f.txt').workspace).toBe('modified');
    rvcOk(d, ['checkout', '--force', 'f.txt']);
    expect(fs.readFileSync(path.join(d, 'f.txt'), 'utf8')).toBe('single');
    // A symlink rvc did not make (out of the cache) is still refused.
    const outside = track(tmpDir());
    fs.writeFileSync(path.join(outside, 'secret'), 's');
    fs.symlinkSync(path.join(outside, 'secret'), path.join(d, 'link'));
    const r = rvc(d, ['add', 'link']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/symbolic link/);
  });

  it.skipIf(!isRoot)('as root, a link type sharing the cache\'s files gets one warning per command; copy gets none', () => {
    const d = repo();
    writeTree(d, { 'a.txt': 'a', 'b.txt': 'b', 'data/c': 'c' });
    const plain = rvcOk(d, ['add', 'a.txt']);
    expect(plain.stderr).not.toMatch(/running as root/);
    for (const type of ['hardlink', 'symlink']) {
      setCache(d, { type: `${type},copy` });
      const r = rvcOk(d, ['add', 'a.txt', 'b.txt', 'data']);
      expect(r.stderr.match(/running as root/g), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain(`cache.type ${type}`);
      expect(r.stderr).toContain('rvc unprotect');
    }
    rmrf(path.join(d, 'data'));
    expect(rvcOk(d, ['checkout']).stderr.match(/running as root/g)).toHaveLength(1);
    // Nothing placed: nothing to warn about.
    expect(rvcOk(d, ['checkout']).stderr).not.toMatch(/running as root/);
  });
});

// --- the cache's location ---------------------------------------------------------------------

const mnt = tryMountTmpfs(48);
if (mnt.reason) console.warn(`cache-links.test.ts: skipping the other-filesystem tests: ${mnt.reason}`);
afterAll(() => {
  if (mnt.dir) {
    spawnSync('umount', ['-l', mnt.dir]);
    fs.rmdirSync(mnt.dir);
  }
});

/** rvc run with a umask, to show modes do not depend on it. */
function rvcUmask(cwd: string, args: string[], umask: string): RunResult {
  const r = spawnSync('bash', ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, RVC_BIN, ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('the cache on another filesystem', () => {
  it.skipIf(!!mnt.reason)('.rvc/cache as a symlink to another filesystem, and cache.dir there: files over 4 MiB are stored, checked out and verified', () => {
    const d = repo();
    const linked = path.join(mnt.dir!, 'linked');
    fs.mkdirSync(linked);
    rmrf(path.join(d, '.rvc/cache'));
    fs.symlinkSync(linked, path.join(d, '.rvc/cache'));
    const big = distinctBytes(5 * MiB);
    writeTree(d, { 'big.bin': big, 'data/large': distinctBytes(6 * MiB), 'data/small': 'small' });
    rvcOk(d, ['add', 'big.bin', 'data']);
    expect(fs.existsSync(objectPath(linked, pointerOut(path.join(d, 'big.bin.rvc')).oid))).toBe(true);
    rmrf(path.join(d, 'big.bin'));
    rvcOk(d, ['checkout']);
    expect(fs.readFileSync(path.join(d, 'big.bin')).equals(big)).toBe(true);
    rmrf(linked);

    // The same with cache.dir, and a hard link that cannot cross filesystems: copied instead.
    const e = repo();
    const configured = path.join(mnt.dir!, 'configured');
    setCache(e, { type: 'hardlink,copy' });
    fs.writeFileSync(path.join(e, '.rvc/config.local.yaml'), `cache:\n  dir: ${configured}\n`);
    const big2 = distinctBytes(5 * MiB);
    writeTree(e, { 'big.bin': big2 });
    rvcOk(e, ['add', 'big.bin']);
    const oid = pointerOut(path.join(e, 'big.bin.rvc')).oid;
    expect(fs.existsSync(objectPath(configured, oid))).toBe(true);
    expect(fs.existsSync(path.join(e, '.rvc/cache/blake3'))).toBe(false);
    expect(fs.statSync(path.join(e, 'big.bin')).nlink).toBe(1);
    rmrf(path.join(e, 'big.bin'));
    rvcOk(e, ['checkout']);
    expect(fs.readFileSync(path.join(e, 'big.bin')).equals(big2)).toBe(true);
    expect(json(rvcOk(e, ['status', '--json'])).clean).toBe(true);
    expect(tempNames(mnt.dir!)).toEqual([]);
    rmrf(configured);
  });

  it('cache.dir shared by two clones (relative to .rvc/, group-shared): what one adds the other checks out without a pull', () => {
    const shared = track(tmpDir());
    const a = repo();
    // cache.dir names a place on this machine: `rvc config` keeps it out of the tracked file,
    // and a tracked one is refused (a repository must not choose where rvc writes).
    rvcOk(a, ['config', 'cache.dir', shared]);
    expect(rvcOk(a, ['config', 'cache.dir']).stdout.trim()).toBe(shared);
    expect(fs.readFileSync(path.join(a, '.rvc/config.local.yaml'), 'utf8')).toContain(shared);
    expect(fs.readFileSync(path.join(a, '.rvc/config.yaml'), 'utf8')).not.toContain('dir:');
    const tracked = path.join(a, '.rvc/config.yaml');
    const before = fs.readFileSync(tracked, 'utf8');
    fs.writeFileSync(tracked, 'cache:\n  dir: /etc\n');
    const refused = rvc(a, ['status']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cache\.dir.*tracked config/);
    fs.writeFileSync(tracked, before);
    setCache(a, { shared: 'group' });
    writeTree(a, { 'data/x.txt': 'x', 'data/deep/y.bin': distinctBytes(5 * MiB) });
    // Under a umask that would leave folders and objects private to their owner.
    const added = rvcUmask(a, ['add', 'data'], '077');
    expect(added.code, added.stderr).toBe(0);
    git(a, ['add', '-A']);
    git(a, ['commit', '-q', '-m', 'data']);

    const b = track(tmpDir());
    git(os.tmpdir(), ['clone', '-q', a, b]);
    // Relative: resolved against b/.rvc/, as DVC does. Symlinks into a cache outside the
    // repository are rvc's own links too.
    fs.writeFileSync(path.join(b, '.rvc/config.local.yaml'), `cache:\n  dir: ${path.relative(path.join(b, '.rvc'), shared)}\n  type: symlink,copy\n`);
    expect(fs.existsSync(path.join(b, 'data'))).toBe(false);
    rvcOk(b, ['checkout']);
    expect(fs.readlinkSync(path.join(b, 'data/x.txt')).startsWith(shared)).toBe(true);
    expect(fs.readFileSync(path.join(b, 'data/x.txt'), 'utf8')).toBe('x');
    expect(fs.readFileSync(path.join(b, 'data/deep/y.bin')).equals(fs.readFileSync(path.join(a, 'data/deep/y.bin')))).toBe(true);
    expect(json(rvcOk(b, ['status', '--json'])).clean).toBe(true);

    // Every folder rvc made in the shared cache is group-writable and setgid; objects readable by all.
    const rec = (dir: string): void => {
      for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, ent.name);
        const mode = fs.statSync(p).mode & 0o7777;
        if (ent.isDirectory()) {
          expect(mode & 0o2070, `${p} ${mode.toString(8)}`).toBe(0o2070);
          rec(p);
        } else if (/^[0-9a-f]{62}(\.tree)?$/.test(ent.name)) {
          expect(mode, `${p} ${mode.toString(8)}`).toBe(0o444);
        }
      }
    };
    rec(shared);
    expect(fs.readdirSync(path.join(shared, 'blake3')).length).toBeGreaterThan(0);
    // Nothing was stored in the clones' own .rvc/.
    for (const c of [a, b]) expect(fs.existsSync(path.join(c, '.rvc/cache/blake3')), c).toBe(false);

    const bad = rvc(a, ['config', 'cache.shared', 'world']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cache\.shared/);
  });
});
