import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, rvcAsyncOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';
import { startS3Server, S3RVER_KEY, type S3Server } from '../helpers/s3-server.js';

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

const S3_ENV = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };
const N = 300;

/** N distinct files of about 2 KiB under data/. */
function files(n = N): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) out[`data/f${String(i).padStart(3, '0')}.txt`] = `file ${i} `.repeat(200 + (i % 13));
  return out;
}

function pushedRepo(remote: string[]): { dir: string; files: Record<string, string> } {
  const dir = track(makeRepo());
  const f = files();
  writeTree(dir, f);
  rvcOk(dir, ['add', 'data']);
  rvcOk(dir, ['remote', 'add', '-d', ...remote]);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'data']);
  return { dir, files: f };
}

function cloneOf(dir: string): string {
  const c = track(tmpDir('rvc-clone-'));
  git(c, ['clone', '-q', dir, '.']);
  return c;
}

/** Files under a cache folder (leftover temp names aside). */
function filesUnder(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile() || e.isSymbolicLink()) out.push(path.join(e.parentPath, e.name));
  }
  return out.sort();
}

function expectWorkspace(dir: string, want: Record<string, string>): void {
  for (const [k, v] of Object.entries(want)) expect(fs.readFileSync(path.join(dir, k), 'utf8'), k).toBe(v);
  expect(fs.readdirSync(path.join(dir, 'data')).length).toBe(Object.keys(want).length);
}

const packedDir = (c: string): string => path.join(c, '.rvc/cache/packed/blake3');
const looseDir = (c: string): string => path.join(c, '.rvc/cache/blake3');

describe('packs kept in the local cache', () => {
  it('a pull from a folder remote keeps the pack whole; status, fsck, a push to another remote and a compacting gc work from it', () => {
    const store = track(tmpDir('rvc-store-'));
    const { dir, files: f } = pushedRepo(['a', store]);
    rvcOk(dir, ['push']);

    const c = cloneOf(dir);
    rvcOk(c, ['pull']);
    expectWorkspace(c, f);
    const packed = filesUnder(packedDir(c));
    expect(packed.map((p) => path.extname(p)).sort()).toEqual(['.idx', '.pack']);
    // Only the folder's manifest is a file of its own.
    expect(filesUnder(looseDir(c))).toHaveLength(1);
    expect(json(rvcOk(c, ['status', '--json'])).clean).toBe(true);
    const fsck = json(rvcOk(c, ['fsck', '--json']));
    expect(fsck.checked).toBe(N + 1);
    expect(fsck.corrupt).toEqual([]);

    // Another repository imports from this clone's cache alone (its remote gone): the packed
    // objects are found there.
    rmrf(store);
    const d = track(makeRepo());
    rvcOk(d, ['import', c, 'data/f250.txt', '-o', 'one.txt']);
    expect(fs.readFileSync(path.join(d, 'one.txt'), 'utf8')).toBe(f['data/f250.txt']);

    // Pushed to a second remote straight out of the local pack.
    const store2 = track(tmpDir('rvc-store2-'));
    rvcOk(c, ['remote', 'add', 'b', store2]);
    expect(json(rvcOk(c, ['push', '-r', 'b', '--json'])).transferred).toBe(N + 1);
    expect(json(rvcOk(c, ['status', '--cloud', '-r', 'b', '--json'])).counts['in sync']).toBe(N + 1);
    // And to a remote kept loose: each packed object goes up as a file of its own.
    const store3 = track(tmpDir('rvc-store3-'));
    rvcOk(c, ['remote', 'add', 'loose', store3]);
    rvcOk(c, ['remote', 'modify', 'loose', 'packs', 'false']);
    expect(json(rvcOk(c, ['push', '-r', 'loose', '--json'])).transferred).toBe(N + 1);
    const sample = path.join(store3, 'blake3');
    expect(fs.readdirSync(sample).length).toBeGreaterThan(100);
    expect(fs.existsSync(path.join(store3, 'packs'))).toBe(false);

    // Drop 10% of the files: the pack stays whole, its dead objects count as kept.
    for (let i = 0; i < 30; i++) fs.rmSync(path.join(c, `data/f${String(i).padStart(3, '0')}.txt`));
    rvcOk(c, ['add', 'data']);
    const gc1 = json(rvcOk(c, ['gc', '-w', '-f', '--json']));
    expect(gc1.removed.length).toBe(1); // the old manifest
    expect(filesUnder(packedDir(c))).toEqual(packed);
    // Drop 60% of the files: the pack's kept objects are under half its bytes, so gc writes
    // them loose and deletes the pack.
    const kept: Record<string, string> = {};
    for (const [k, v] of Object.entries(f)) {
      if (Number(/f(\d+)/.exec(k)![1]) < 180) fs.rmSync(path.join(c, k), { force: true });
      else kept[k] = v;
    }
    rvcOk(c, ['add', 'data']);
    const gc = json(rvcOk(c, ['gc', '-w', '-f', '--json']));
    expect(gc.removed.length).toBe(180 + 1); // the files and the old manifest
    expect(filesUnder(packedDir(c))).toEqual([]);
    expect(filesUnder(looseDir(c))).toHaveLength(120 + 1);
    fs.rmSync(path.join(c, 'data'), { recursive: true });
    rvcOk(c, ['checkout']);
    expectWorkspace(c, kept);
    expect(json(rvcOk(c, ['fsck', '--json'])).checked).toBe(120 + 1);
  });
});

describe('packs kept in the local cache, from S3', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['rvc-lpack'] });
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('a damaged byte in a local pack is found by fsck and repaired; hard and symbolic links work from packed objects', async () => {
    const { dir, files: f } = pushedRepo(['s3', 's3://rvc-lpack/one']);
    rvcOk(dir, ['remote', 'modify', 's3', 'endpointurl', s3.endpoint]);
    git(dir, ['commit', '-qam', 'endpoint']);
    await rvcAsyncOk(dir, ['push'], S3_ENV);

    const c = cloneOf(dir);
    await rvcAsyncOk(c, ['pull'], S3_ENV);
    expectWorkspace(c, f);
    const pack = filesUnder(packedDir(c)).find((p) => p.endsWith('.pack'))!;
    expect(pack).toBeDefined();
    expect(filesUnder(looseDir(c))).toHaveLength(1);

    // Hard and symbolic links need files of their own: checkout writes the packed objects
    // loose, then links them.
    rvcOk(c, ['config', 'cache.type', 'hardlink']);
    fs.rmSync(path.join(c, 'data/f007.txt'));
    rvcOk(c, ['checkout']);
    expect(fs.statSync(path.join(c, 'data/f007.txt')).nlink).toBe(2);
    rvcOk(c, ['config', 'cache.type', 'symlink']);
    fs.rmSync(path.join(c, 'data/f009.txt'));
    rvcOk(c, ['checkout']);
    expect(fs.lstatSync(path.join(c, 'data/f009.txt')).isSymbolicLink()).toBe(true);
    expectWorkspace(c, f);
    expect(filesUnder(looseDir(c))).toHaveLength(3);

    // One byte of another object changed in the pack.
    const manifest = filesUnder(looseDir(c)).find((p) => p.endsWith('.tree'))!;
    const oid = fs.readFileSync(manifest, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string; oid: string })
      .find((e) => e.path === 'f100.txt')!.oid;
    const line = fs.readFileSync(pack.replace(/\.pack$/, '.idx'), 'utf8').split('\n').find((l) => l.startsWith(`${oid} `))!;
    const off = Number(line.split(' ')[1]);
    fs.chmodSync(pack, 0o644);
    const fd = fs.openSync(pack, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, off);
    b[0] = b[0]! ^ 0xff;
    fs.writeSync(fd, b, 0, 1, off);
    fs.closeSync(fd);
    const bad = rvc(c, ['fsck', '--json']);
    expect(bad.code).not.toBe(0);
    expect(json(bad).corrupt).toEqual([oid]);
    expect(json(bad).checked).toBe(N + 3);
    rvc(c, ['fsck', '--repair']);
    expect(filesUnder(packedDir(c))).toEqual([]);
    // The sound objects were written loose; the damaged one is fetched again.
    expect(json(rvcOk(c, ['fsck', '--json'])).checked).toBe(N);
    rvcOk(c, ['config', 'cache.type', 'copy']);
    fs.rmSync(path.join(c, 'data'), { recursive: true });
    await rvcAsyncOk(c, ['pull'], S3_ENV);
    expectWorkspace(c, f);
    expect(json(rvcOk(c, ['fsck', '--json'])).corrupt).toEqual([]);
  });
});
