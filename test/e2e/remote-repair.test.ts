import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir, RVC_BIN } from '../helpers/cli.js';
import { startS3Server, S3RVER_KEY, type S3Server } from '../helpers/s3-server.js';
import { serializeTree, type TreeEntry } from '../../src/model/tree.js';
import { hashBuffer } from '../../src/hashing/hash.js';

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

/** The remote key of a pointer's single output: `<algo>/ab/cdef…`. */
function keyOf(dir: string, pointer: string): string {
  const text = fs.readFileSync(path.join(dir, pointer), 'utf8');
  const oid = /oid: (\S+)/.exec(text)![1]!;
  const algo = /hash: (\S+)/.exec(text)?.[1] ?? 'blake3';
  return `${algo}/${oid.slice(0, 2)}/${oid.slice(2)}`;
}

function listDir(d: string): string[] {
  try {
    return fs.readdirSync(d).sort();
  } catch {
    return [];
  }
}

/**
 * Starts `rvc push` and SIGKILLs it as soon as its temp file shows up in the remote's `.rvc-tmp`
 * folder (busy-polling, so the copy of a large file is caught half-way). Returns whether the
 * kill landed while the upload was in progress; false when the push got done first.
 */
async function killPushMidUpload(dir: string, store: string, objectFile: string): Promise<boolean> {
  const child = spawn(process.execPath, [RVC_BIN, 'push'], { cwd: dir, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const tmp = path.join(store, '.rvc-tmp');
  let caught = false;
  const deadline = Date.now() + 60_000; // a guard against a hang, not an assertion
  while (Date.now() < deadline) {
    if (listDir(tmp).length > 0) {
      child.kill('SIGKILL');
      caught = true;
      break;
    }
    if (fs.existsSync(objectFile)) break;
  }
  if (!caught) child.kill('SIGKILL');
  await closed;
  return caught && !fs.existsSync(objectFile);
}

describe('an interrupted push to a folder remote', () => {
  it('leaves a temp file the next push removes; the remote object is complete', async () => {
    const dir = track(makeRepo());
    const store = track(tmpDir('rvc-store-'));
    const big = randomBytes(128 << 20);
    writeTree(dir, { 'big.bin': big });
    // One whole object, whose slow copy the kill lands in (chunked, it would be many small ones).
    rvcOk(dir, ['config', 'cache.chunk_threshold', String(1 << 30)]);
    rvcOk(dir, ['add', 'big.bin']);
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    const objectFile = path.join(store, ...keyOf(dir, 'big.bin.rvc').split('/'));
    const tmp = path.join(store, '.rvc-tmp');

    let interrupted = false;
    for (let attempt = 0; attempt < 5 && !interrupted; attempt++) {
      rmrf(objectFile);
      interrupted = await killPushMidUpload(dir, store, objectFile);
    }
    expect(interrupted, 'a push killed during the upload').toBe(true);
    const left = listDir(tmp);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^[A-Za-z0-9-]+\.\d+\.[0-9a-f]+\.tmp$/);
    expect(fs.existsSync(objectFile)).toBe(false);
    // Not objects: status --cloud and a listing never see a temp file.
    expect(json(rvcOk(dir, ['status', '--cloud', '--json'])).counts.new).toBe(1);

    // Other writers' temp files: a live process of this machine (this test), another machine's
    // fresh one (it may be uploading right now) stay; another machine's file unchanged for two
    // days goes, as does a file older versions left beside the objects (by gc --cloud).
    const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64);
    const live = `${host}.${process.pid}.00aa.tmp`;
    const foreignFresh = 'another-machine.4242.00bb.tmp';
    const foreignOld = 'another-machine.4243.00cc.tmp';
    writeTree(tmp, { [live]: 'x', [foreignFresh]: 'x', [foreignOld]: 'x' });
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    fs.utimesSync(path.join(tmp, foreignOld), twoDaysAgo, twoDaysAgo);
    const legacy = path.join(path.dirname(objectFile), '.rvc-tmp-1b4e28ba-2fa1-11d2-883f-0016d3cca427');
    writeTree(path.dirname(legacy), { [path.basename(legacy)]: 'partial' });
    fs.utimesSync(legacy, twoDaysAgo, twoDaysAgo);

    const r = rvcOk(dir, ['push']);
    expect(r.stdout).toMatch(/1 file pushed/);
    expect(listDir(tmp)).toEqual([foreignFresh, live].sort());
    expect(fs.readFileSync(objectFile).equals(big)).toBe(true);

    const gc = json(rvcOk(dir, ['gc', '--workspace', '--cloud', '--json']));
    expect(gc.cloud.leftovers).toBe(1);
    expect(fs.existsSync(legacy)).toBe(false);
    expect(listDir(tmp)).toEqual([foreignFresh, live].sort());
    expect(gc.cloud.removed).toEqual([]);
  });
});

describe('a remote lacking many objects', () => {
  it('fetch of a manifest whose 50,000 files are all missing reports them in a few lines', () => {
    const n = 50_000;
    const entries: TreeEntry[] = [];
    for (let i = 0; i < n; i++) {
      entries.push({ path: `d${String(i % 100).padStart(2, '0')}/f${String(i).padStart(5, '0')}.bin`, oid: hashBuffer('blake3', `content ${i}`), size: 10 });
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const text = serializeTree(entries);
    const oid = `${hashBuffer('blake3', text)}.tree`;
    // The remote holds the manifest alone, as a push interrupted between it and its files never
    // could leave it, but a remote damaged by hand or by another tool can.
    const store = track(tmpDir('rvc-store-'));
    writeTree(store, { [`blake3/${oid.slice(0, 2)}/${oid.slice(2)}`]: text });
    const dir = track(makeRepo());
    writeTree(dir, { 'data.rvc': `outs:\n  - path: data\n    hash: blake3\n    oid: ${oid}\n    size: ${10 * n}\n    nfiles: ${n}\n` });
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);

    const r = rvc(dir, ['fetch']);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeLessThan(30);
    expect(r.stderr).toMatch(/data\/d\d\d\/f\d{5}\.bin: '.*' is not on remote/);
    expect(r.stderr).toMatch(/… and 49980 more OBJECT_MISSING failures/);
    expect(r.stderr).toMatch(/50000 objects failed \(50000 OBJECT_MISSING\); 1 file fetched/);
    expect(r.stderr).toMatch(/hint: push it from a clone that has it/);

    const j = rvc(dir, ['fetch', '--json']);
    expect(j.code).toBe(1);
    const res = json(j);
    expect(res.failedCount).toBe(n);
    expect(res.failedByCode).toEqual({ OBJECT_MISSING: n });
    expect(res.failed).toHaveLength(20);
    expect(res.failed[0].paths[0]).toMatch(/^data\/d\d\d\/f\d{5}\.bin$/);
  });
});

const S3_ENV = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };

/** Flips the first byte of a file in place (same length, so no size check can notice). */
function damage(file: string): void {
  fs.chmodSync(file, 0o644);
  const b = fs.readFileSync(file);
  b[0] = b[0]! ^ 0xff;
  fs.writeFileSync(file, b);
}

/**
 * A remote copy of one file inside a tracked folder is damaged: fetch names it with a hint that
 * helps, push from the clone holding the good copy does not fix it (it trusts the remote),
 * `fsck --cloud` reports the file and the manifest listing it, `--repair` removes both, `push`
 * uploads good copies and a fresh clone pulls byte-exact data.
 */
function corruptAndRepair(addRemote: (dir: string) => void, env: Record<string, string>, objectFileOf: (key: string) => string): void {
  const dir = track(makeRepo());
  const files: Record<string, string> = {};
  for (let i = 0; i < 6; i++) files[`data/part${i % 2}/f${i}.txt`] = `content ${i}\n`.repeat(50 + i);
  files['model.bin'] = 'weights'.repeat(1000);
  writeTree(dir, files);
  rvcOk(dir, ['add', 'data', 'model.bin']);
  addRemote(dir);
  rvcOk(dir, ['push'], env);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'data']);
  const clone = (): string => {
    const c = track(tmpDir('rvc-clone-'));
    git(c, ['clone', '-q', dir, '.']);
    return c;
  };

  const oid = hashBuffer('blake3', files['data/part1/f3.txt']!);
  const key = `blake3/${oid.slice(0, 2)}/${oid.slice(2)}`;
  damage(objectFileOf(key));

  const c1 = clone();
  const r = rvc(c1, ['fetch'], env);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/data\/part1\/f3\.txt: .* does not match its oid/);
  expect(r.stderr).toMatch(/hint: .*rvc fsck --cloud --repair.*rvc push/);
  expect(r.stderr).not.toMatch(/run the same command again/);

  // Pushing again from the good copy changes nothing: the remote has an object by that name.
  expect(rvcOk(dir, ['push'], env).stdout).toMatch(/Everything is up to date/);
  const check = rvc(dir, ['fsck', '--cloud'], env);
  expect(check.code).toBe(1);
  expect(check.stdout).toMatch(/corrupt on remote .*data\/part1\/f3\.txt/);
  expect(check.stdout).toMatch(/manifest listing missing or corrupt objects on remote .*: data \(/);
  expect(check.stderr).toMatch(/rvc fsck --cloud --repair/);
  const repaired = json(rvcOk(dir, ['fsck', '--cloud', '--repair', '--json'], env));
  expect(repaired.corrupt.map((o: any) => o.key)).toEqual([key]);
  expect(repaired.incomplete).toHaveLength(1);
  expect(repaired.removed).toHaveLength(2);
  expect(repaired.removed[0]).toMatch(/\.tree$/); // the manifest first
  expect(repaired.removed[1]).toBe(key);
  expect(rvcOk(dir, ['push'], env).stdout).toMatch(/2 files pushed/);
  const clean = json(rvcOk(dir, ['fsck', '--cloud', '--json'], env));
  expect(clean).toMatchObject({ corrupt: [], incomplete: [], missing: 0, failedCount: 0 });
  expect(clean.checked).toBe(8); // 6 files, their manifest, the model

  const c2 = clone();
  rvcOk(c2, ['pull'], env);
  expect({ ...Object.fromEntries(Object.entries(readTree(path.join(c2, 'data'))).map(([k, v]) => [`data/${k}`, v])), 'model.bin': fs.readFileSync(path.join(c2, 'model.bin'), 'latin1') }).toEqual(files);
}

describe('a corrupt object on the remote', () => {
  it('folder remote: fetch says how to repair it; fsck --cloud --repair then push fix it', () => {
    const store = track(tmpDir('rvc-store-'));
    corruptAndRepair((d) => rvcOk(d, ['remote', 'add', '-d', 'store', store]), {}, (key) => path.join(store, ...key.split('/')));
  });

  describe('S3 (s3rver)', () => {
    let s3: S3Server;
    beforeAll(async () => {
      s3 = await startS3Server({ buckets: ['rvc-repair'] });
    });
    afterAll(async () => {
      await s3?.stop();
    });

    it('fetch says how to repair it; fsck --cloud --repair then push fix it', () => {
      corruptAndRepair((d) => {
        rvcOk(d, ['remote', 'add', '-d', 's3', 's3://rvc-repair/p']);
        rvcOk(d, ['remote', 'modify', 's3', 'endpointurl', s3.endpoint]);
      }, S3_ENV, (key) => {
        // s3rver keeps each object as a file named after its key.
        const name = `${key.split('/').pop()}._S3rver_object`;
        const found = (fs.readdirSync(s3.dir, { recursive: true }) as string[]).find((p) => p.endsWith(name));
        expect(found, 'the object in the s3rver folder').toBeDefined();
        return path.join(s3.dir, found!);
      });
    });
  });
});
