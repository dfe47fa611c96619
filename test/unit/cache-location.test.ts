import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfigLayer, mergeConfig, setConfigKey, serializeConfigLayer, getConfigKey } from '../../src/model/config.js';
import { makeDirs, SHARED_DIR_MODE, isTempName } from '../../src/fsutil/atomic.js';
import { placeFile, probeLinkTypes, statCacheLink } from '../../src/fsutil/link.js';
import { hashFileSized, hashBuffer } from '../../src/hashing/hash.js';
import { cacheDirOf } from '../../src/repo/repo.js';
import { codeOf as code } from '../helpers/errors.js';
import { tmpDir, rmrf } from '../helpers/cli.js';

const work = tmpDir('rvc-cacheloc-');
afterAll(() => rmrf(work));
const opts = { allowSecrets: false };
const local = { allowSecrets: true };

describe('cache.dir and cache.shared', () => {
  it('are validated, set, serialised and read back; cache.dir only in the local file', () => {
    const l = parseConfigLayer('cache:\n  dir: ../../big/cache\n  shared: group\n', 'c', local);
    const c = mergeConfig(parseConfigLayer('cache:\n  shared: group\n', 'c', opts), l);
    expect(c.cache.dir).toBe('../../big/cache');
    expect(c.cache.shared).toBe('group');
    // A committed cache.dir would let a repository choose where rvc writes.
    expect(code(() => parseConfigLayer('cache:\n  dir: /etc\n', 'c', opts))).toBe('CONFIG_INVALID');
    expect(code(() => setConfigKey({}, 'cache.dir', '/etc', 'c', opts))).toBe('CONFIG_INVALID');
    let s = setConfigKey({}, 'cache.dir', '/mnt/big/rvc-cache', 'c', local);
    s = setConfigKey(s, 'cache.shared', 'group', 'c', local);
    expect(serializeConfigLayer(s)).toBe('cache:\n  dir: /mnt/big/rvc-cache\n  shared: group\n');
    expect(getConfigKey(mergeConfig(s), 'cache.dir')).toBe('/mnt/big/rvc-cache');
    expect(code(() => parseConfigLayer('cache:\n  shared: world\n', 'c', opts))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfigLayer('cache:\n  dir: ""\n', 'c', local))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfigLayer('cache:\n  dir: [a]\n', 'c', local))).toBe('CONFIG_INVALID');
    expect(code(() => setConfigKey({}, 'cache.shared', 'yes', 'c', opts))).toBe('CONFIG_INVALID');
  });

  it('the cache is .rvc/cache by default; cache.dir is resolved against .rvc/ unless absolute', () => {
    const root = '/r/project';
    expect(cacheDirOf(root, mergeConfig())).toBe('/r/project/.rvc/cache');
    expect(cacheDirOf(root, mergeConfig({ cache: { dir: '../../shared' } }))).toBe('/r/shared');
    expect(cacheDirOf(root, mergeConfig({ cache: { dir: '/mnt/big' } }))).toBe('/mnt/big');
  });

  it('makeDirs gives folders it creates the shared mode whatever the umask, and leaves existing ones alone', () => {
    const existing = path.join(work, 'existing');
    fs.mkdirSync(existing, { mode: 0o700 });
    fs.chmodSync(existing, 0o700);
    const deep = path.join(existing, 'a', 'b');
    makeDirs(deep, true);
    expect(fs.statSync(existing).mode & 0o7777).toBe(0o700);
    for (const d of [path.join(existing, 'a'), deep]) expect(fs.statSync(d).mode & 0o7777).toBe(SHARED_DIR_MODE);
    makeDirs(deep, true); // exists: nothing to do
    const plain = path.join(work, 'plain', 'x');
    makeDirs(plain);
    expect(fs.statSync(plain).mode & 0o2000).toBe(0);
  });
});

describe('links to the cache', () => {
  it('placeFile with hardlink over a link to the same object leaves no temp file beside it', () => {
    const dir = path.join(work, 'hl');
    fs.mkdirSync(dir);
    const obj = path.join(dir, 'object');
    fs.writeFileSync(obj, 'content', { mode: 0o444 });
    const dest = path.join(dir, 'file');
    expect(placeFile(obj, dest, ['hardlink', 'copy'])).toBe('hardlink');
    expect(placeFile(obj, dest, ['hardlink', 'copy'])).toBe('hardlink');
    expect(fs.readdirSync(dir).filter(isTempName)).toEqual([]);
    expect(fs.statSync(obj).nlink).toBe(2);
  });

  it('statCacheLink follows a symlink to an object in the cache only', () => {
    const cache = path.join(work, 'cache');
    fs.mkdirSync(path.join(cache, 'blake3', 'ab'), { recursive: true });
    const obj = path.join(cache, 'blake3', 'ab', 'cd'.repeat(31));
    fs.writeFileSync(obj, 'object');
    fs.writeFileSync(path.join(cache, 'config'), 'not an object');
    const ws = path.join(work, 'ws');
    fs.mkdirSync(ws);
    fs.symlinkSync(obj, path.join(ws, 'in'));
    fs.symlinkSync(path.join(work, 'elsewhere'), path.join(ws, 'dangling'));
    fs.writeFileSync(path.join(work, 'outside'), 'x');
    fs.symlinkSync(path.join(work, 'outside'), path.join(ws, 'out'));
    fs.symlinkSync(path.join(cache, 'blake3'), path.join(ws, 'folder'));
    fs.symlinkSync(path.join(cache, 'config'), path.join(ws, 'not-object'));
    expect(statCacheLink(path.join(ws, 'in'), cache)?.size).toBe(6);
    for (const n of ['dangling', 'out', 'folder', 'not-object']) expect(statCacheLink(path.join(ws, n), cache), n).toBeUndefined();
    // Whatever the cache's location, only an object's place counts: a cache at / does not make
    // every file on the system rvc's own.
    expect(statCacheLink(path.join(ws, 'out'), '/')).toBeUndefined();
  });
});

describe('probeLinkTypes', () => {
  it('removes the probe files a killed process left (no lock covers the probe)', () => {
    const cache = path.join(work, 'probe-cache');
    const ws = path.join(work, 'probe-ws');
    fs.mkdirSync(cache, { recursive: true });
    fs.mkdirSync(ws, { recursive: true });
    // PID 2^22 + 1 is above Linux's pid_max limit, so no process has it.
    const stale = ['.probe.4194305.0000abcd.tmp'];
    for (const d of [cache, ws]) fs.writeFileSync(path.join(d, stale[0]!), 'rvc link probe\n');
    expect(probeLinkTypes(cache, ws)).toContain('copy');
    expect(fs.readdirSync(cache)).toEqual([]);
    expect(fs.readdirSync(ws)).toEqual([]);
  });
});

describe('hashFileSized', () => {
  it('counts the bytes it hashed', () => {
    for (const size of [0, 10, 4 * 1024 * 1024 + 3]) {
      const f = path.join(work, `s${size}`);
      const data = Buffer.alloc(size, 7);
      fs.writeFileSync(f, data);
      expect(hashFileSized('blake3', f)).toEqual({ oid: hashBuffer('blake3', data), size });
    }
  });
});
