import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { rvc, rvcOk, rvcAsync, rvcAsyncOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir } from '../helpers/cli.js';
import { startS3Server, S3RVER_KEY, type S3Server } from '../helpers/s3-server.js';
import { startGcsServer, type GcsServer } from '../helpers/gcs-server.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

const S3_ENV = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };

/** A repository with a folder of `n` files and one single file, committed to git. */
function dataRepo(n = 20): { dir: string; files: Record<string, string> } {
  const dir = track(makeRepo());
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`data/part${i % 3}/f${i}.txt`] = `content ${i}\n`.repeat(i + 1);
  files['model.bin'] = 'weights'.repeat(1000);
  writeTree(dir, files);
  rvcOk(dir, ['add', 'data', 'model.bin']);
  return { dir, files };
}

/** A clone of `dir` (pointers and config only, as a colleague would get from git). */
function cloneOf(dir: string): string {
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'data']);
  const c = track(tmpDir('rvc-clone-'));
  git(c, ['clone', '-q', dir, '.']);
  return c;
}

function workspaceData(dir: string): Record<string, string> {
  return { ...Object.fromEntries(Object.entries(readTree(path.join(dir, 'data'))).map(([k, v]) => [`data/${k}`, v])), 'model.bin': fs.readFileSync(path.join(dir, 'model.bin'), 'latin1') };
}

describe('a local folder remote', () => {
  it('push, then pull in a fresh clone gives the exact bytes; a second push moves nothing', () => {
    const { dir, files } = dataRepo();
    const store = track(tmpDir('rvc-store-'));
    let r = rvc(dir, ['push']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no default remote/);
    expect(r.stderr).toMatch(/rvc remote add -d/);
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    expect(json(rvcOk(dir, ['status', '--cloud', '--json'])).counts).toEqual({ new: 22, deleted: 0, missing: 0, 'in sync': 0 }); // 20 files, their manifest, the model
    r = rvcOk(dir, ['push']);
    expect(r.stdout).toMatch(/22 files pushed/);
    expect(rvcOk(dir, ['push']).stdout).toMatch(/Everything is up to date/);
    expect(json(rvcOk(dir, ['status', '-c', '--json'])).counts['in sync']).toBe(22);

    const c = cloneOf(dir);
    expect(json(rvcOk(c, ['status', '--json'])).outs.every((o: any) => o.workspace === 'deleted' && !o.inCache)).toBe(true);
    rvcOk(c, ['pull']);
    expect(workspaceData(c)).toEqual(files);
    expect(json(rvcOk(c, ['status', '--json'])).clean).toBe(true);
  });

  it('pulls one file inside a tracked folder without the rest', () => {
    const { dir, files } = dataRepo();
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['push']);
    const c = cloneOf(dir);
    const r = json(rvcOk(c, ['pull', 'data/part1/f4.txt', '--json']));
    expect(r.transferred).toBe(2); // the folder's manifest and the one file
    expect(readTree(path.join(c, 'data'))).toEqual({ 'part1/f4.txt': files['data/part1/f4.txt'] });
  });

  it('pushes and pulls data added under two hash algorithms', () => {
    const { dir, files } = dataRepo(3);
    rvcOk(dir, ['config', 'core.hash', 'sha256']);
    writeTree(dir, { 'later/x.txt': 'added after the switch' });
    rvcOk(dir, ['add', 'later']);
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['push']);
    expect(rvcOk(dir, ['push']).stdout).toMatch(/Everything is up to date/);
    const c = cloneOf(dir);
    rvcOk(c, ['pull']);
    expect(workspaceData(c)).toEqual(files);
    expect(readTree(path.join(c, 'later'))).toEqual({ 'x.txt': 'added after the switch' });
  });

  it('status --cloud tells new, deleted and missing apart', () => {
    const { dir } = dataRepo(3);
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['push', 'model.bin']);
    rmrf(path.join(dir, '.rvc/cache/blake3', /oid: (\w\w)/.exec(fs.readFileSync(path.join(dir, 'model.bin.rvc'), 'utf8'))![1]!));
    const st = json(rvcOk(dir, ['status', '--cloud', '--json']));
    const model = st.objects.find((o: any) => o.paths.includes('model.bin'));
    expect(model.state).toBe('deleted');
    expect(st.counts.new).toBeGreaterThan(0);
  });

  it('gc --workspace --cloud removes unreferenced remote objects, trees first', () => {
    const { dir } = dataRepo(4);
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['remote', 'modify', 'store', 'packs', 'false']); // loose objects: gc of packs is not this test's
    rvcOk(dir, ['push']);
    writeTree(dir, { 'data/part0/f0.txt': 'changed' });
    rvcOk(dir, ['add', 'data']);
    rvcOk(dir, ['push']);
    const dry = json(rvcOk(dir, ['gc', '--workspace', '--cloud', '--dry-run', '--json']));
    expect(dry.cloud.removed).toHaveLength(2); // the old manifest and the old content of f0
    expect(dry.cloud.removed[0]).toMatch(/\.tree$/);
    const r = json(rvcOk(dir, ['gc', '-w', '-c', '--json']));
    expect(r.cloud.removed).toEqual(dry.cloud.removed);
    const c = cloneOf(dir);
    rvcOk(c, ['pull']);
    expect(fs.readFileSync(path.join(c, 'data/part0/f0.txt'), 'utf8')).toBe('changed');
  });

  it('remote list/modify/rename/remove/default, unknown names and secrets', () => {
    const d = track(makeRepo());
    rvcOk(d, ['remote', 'add', 'a', '/tmp/a']);
    rvcOk(d, ['remote', 'add', '-d', 'b', 's3://bucket/prefix']);
    rvcOk(d, ['remote', 'modify', 'b', 'endpointurl', 'http://127.0.0.1:9']);
    rvcOk(d, ['remote', 'modify', '--local', 'b', 'secret_access_key', 'topsecret']);
    const refused = rvc(d, ['remote', 'modify', 'b', 'secret_access_key', 'topsecret']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).not.toContain('topsecret');
    expect(fs.readFileSync(path.join(d, '.rvc/config.yaml'), 'utf8')).not.toContain('topsecret');
    let list = json(rvcOk(d, ['remote', 'list', '--json']));
    expect(list.find((r: any) => r.name === 'b')).toMatchObject({ isDefault: true, options: { endpointurl: 'http://127.0.0.1:9', secret_access_key: '***' } });
    rvcOk(d, ['remote', 'rename', 'b', 'c']);
    expect(rvcOk(d, ['remote', 'default']).stdout.trim()).toBe('c');
    rvcOk(d, ['remote', 'remove', 'c']);
    list = json(rvcOk(d, ['remote', 'list', '--json']));
    expect(list.map((r: any) => r.name)).toEqual(['a']);
    const unknown = rvc(d, ['push', '-r', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no remote named 'nope'/);
    const creds = rvc(d, ['remote', 'add', 'x', 's3://AKIA:hunter2@bucket/p']);
    expect(creds.code).toBe(1);
    expect(creds.stderr).not.toContain('hunter2');
  });
});

describe('an S3 remote (s3rver on loopback)', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['rvc-e2e'] });
  });
  afterAll(async () => {
    await s3?.stop();
  });

  /** `loose`: every object its own key (`packs: false`), for tests that damage or block one object's key. */
  function s3Remote(dir: string, prefix: string, endpoint = s3.endpoint, loose = false): void {
    rvcOk(dir, ['remote', 'add', '-d', 's3', `s3://rvc-e2e/${prefix}`]);
    rvcOk(dir, ['remote', 'modify', 's3', 'endpointurl', endpoint]);
    if (loose) rvcOk(dir, ['remote', 'modify', 's3', 'packs', 'false']);
  }

  it('push and pull through rvc are byte-exact, and a corrupt remote object is refused by name', () => {
    const { dir, files } = dataRepo();
    s3Remote(dir, 'exact', s3.endpoint, true);
    rvcOk(dir, ['push'], S3_ENV);
    expect(rvcOk(dir, ['push'], S3_ENV).stdout).toMatch(/Everything is up to date/);
    const c = cloneOf(dir);
    rvcOk(c, ['pull'], S3_ENV);
    expect(workspaceData(c)).toEqual(files);

    // Damage the model's object in the bucket (s3rver keeps objects as files).
    const oid = /oid: (\w+)/.exec(fs.readFileSync(path.join(dir, 'model.bin.rvc'), 'utf8'))![1]!;
    const c2 = cloneOf(dir);
    const objFile = findFile(s3Dir(), `${oid.slice(2)}._S3rver_object`);
    expect(objFile, 'object file in the s3rver folder').toBeDefined();
    fs.writeFileSync(objFile!, Buffer.from('x'.repeat(7000)));
    const r = rvc(c2, ['pull'], S3_ENV);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('model.bin');
    expect(fs.existsSync(path.join(c2, 'model.bin'))).toBe(false);
    expect(fs.existsSync(path.join(c2, `.rvc/cache/blake3/${oid.slice(0, 2)}/${oid.slice(2)}`))).toBe(false);
    expect(readTree(path.join(c2, 'data'))).toEqual(readTree(path.join(dir, 'data')));
  });

  function s3Dir(): string {
    return path.join(s3.dir, 'rvc-e2e');
  }

  function findFile(root: string, name: string): string | undefined {
    for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true } as never) as unknown as fs.Dirent[]) {
      if (e.name === name) return path.join((e as unknown as { parentPath?: string; path: string }).parentPath ?? (e as unknown as { path: string }).path, e.name);
    }
    return undefined;
  }

  it('finishes byte-exact through 20% injected faults, and reports a permanently failing object', async () => {
    const proxy = await startFaultProxy({ target: s3.endpoint, flavor: 's3', faultRate: 0.2, seed: 7 });
    try {
      const { dir, files } = dataRepo(30);
      s3Remote(dir, 'faulty', proxy.url, true);
      rvcOk(dir, ['remote', 'modify', 's3', 'retries', '8']);
      await rvcAsyncOk(dir, ['push'], S3_ENV);
      const c = cloneOf(dir);
      await rvcAsyncOk(c, ['pull'], S3_ENV);
      expect(workspaceData(c)).toEqual(files);
      expect(proxy.stats.status + proxy.stats.reset + proxy.stats.truncate).toBeGreaterThan(5);

      // One object fails every time: the rest arrive, the failure is named, a re-run finishes.
      const oid = /oid: (\w+)/.exec(fs.readFileSync(path.join(dir, 'model.bin.rvc'), 'utf8'))![1]!;
      proxy.setFaultRate(0);
      proxy.addRule({ match: new RegExp(oid.slice(2)), status: 403 });
      const c2 = cloneOf(dir);
      const r = await rvcAsync(c2, ['pull'], S3_ENV);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('model.bin');
      expect(readTree(path.join(c2, 'data'))).toEqual(readTree(path.join(dir, 'data')));
      proxy.clearRules();
      const again = json(await rvcAsyncOk(c2, ['pull', '--json'], S3_ENV));
      expect(again.transferred).toBe(1);
      expect(workspaceData(c2)).toEqual(files);
    } finally {
      await proxy.stop();
    }
  });

  it('slow responses past the read timeout: retried to a byte-exact result; a stuck object is named and the cache stays clean', async () => {
    // Every stall is held 4 s, far past the 0.4 s read timeout the remote is given.
    const proxy = await startFaultProxy({ target: s3.endpoint, flavor: 's3', faultRate: 0.15, seed: 11, kinds: ['stall', 'status', 'reset', 'truncate'], stallMs: 4000 });
    try {
      const { dir, files } = dataRepo(30);
      s3Remote(dir, 'slow', proxy.url, true);
      rvcOk(dir, ['remote', 'modify', 's3', 'retries', '10']);
      rvcOk(dir, ['remote', 'modify', 's3', 'readtimeout', '0.4']);
      await rvcAsyncOk(dir, ['push'], S3_ENV);
      const c = cloneOf(dir);
      rvcOk(c, ['remote', 'modify', 's3', 'readtimeout', '0.4']);
      rvcOk(c, ['remote', 'modify', 's3', 'retries', '10']);
      await rvcAsyncOk(c, ['pull'], S3_ENV);
      expect(workspaceData(c)).toEqual(files);
      expect(rvc(c, ['fsck']).code).toBe(0);
      expect(proxy.stats.stall, 'stalls injected').toBeGreaterThan(2);

      // One object never answers: the rest arrive, the failure is named, nothing partial is
      // left in the cache, and a re-run finishes once the object answers again.
      const oid = /oid: (\w+)/.exec(fs.readFileSync(path.join(dir, 'model.bin.rvc'), 'utf8'))![1]!;
      proxy.setFaultRate(0);
      proxy.addRule({ match: new RegExp(oid.slice(2)), status: 0, stall: true, methods: ['GET'] });
      const c2 = cloneOf(dir);
      rvcOk(c2, ['remote', 'modify', 's3', 'readtimeout', '0.4']);
      rvcOk(c2, ['remote', 'modify', 's3', 'retries', '2']);
      const r = await rvcAsync(c2, ['pull', '--json'], S3_ENV);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain('model.bin');
      expect(r.stdout + r.stderr, r.stdout + r.stderr).toMatch(/timed? ?out|no data received|ETIMEDOUT|inactivity/i);
      expect(readTree(path.join(c2, 'data'))).toEqual(readTree(path.join(dir, 'data')));
      expect(fs.existsSync(path.join(c2, `.rvc/cache/blake3/${oid.slice(0, 2)}/${oid.slice(2)}`))).toBe(false);
      expect(rvc(c2, ['fsck']).code).toBe(0);
      proxy.clearRules();
      await rvcAsyncOk(c2, ['pull'], S3_ENV);
      expect(workspaceData(c2)).toEqual(files);
      expect(rvc(c2, ['fsck']).code).toBe(0);
      console.info(`remote faults injected (slow-response test): ${JSON.stringify(proxy.stats)}`);
    } finally {
      await proxy.stop();
    }
  });

  it('names a missing bucket and an unreachable endpoint, with hints', () => {
    const d = track(makeRepo());
    writeTree(d, { f: 'x' });
    rvcOk(d, ['add', 'f']);
    rvcOk(d, ['remote', 'add', '-d', 'nob', 's3://no-such-bucket/p']);
    rvcOk(d, ['remote', 'modify', 'nob', 'endpointurl', s3.endpoint]);
    let r = rvc(d, ['push'], S3_ENV);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-such-bucket/);
    expect(r.stderr).toMatch(/hint:/);
    rvcOk(d, ['remote', 'add', '-d', 'down', 's3://rvc-e2e/p']);
    rvcOk(d, ['remote', 'modify', 'down', 'endpointurl', 'http://127.0.0.1:9']);
    rvcOk(d, ['remote', 'modify', 'down', 'retries', '1']);
    rvcOk(d, ['remote', 'modify', 'down', 'connecttimeout', '1']);
    r = rvc(d, ['push'], S3_ENV);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/127\.0\.0\.1:9|unreachable|connect/i);
  });
});

describe('a GCS remote (the official client against a loopback JSON API server)', () => {
  let gcs: GcsServer;
  beforeAll(async () => {
    gcs = await startGcsServer({ buckets: ['rvc-gcs'] });
  });
  afterAll(async () => {
    await gcs?.stop();
  });

  it('push and pull through rvc are byte-exact', async () => {
    const { dir, files } = dataRepo();
    rvcOk(dir, ['remote', 'add', '-d', 'gcs', 'gs://rvc-gcs/exact']);
    rvcOk(dir, ['remote', 'modify', 'gcs', 'endpointurl', gcs.endpoint]);
    rvcOk(dir, ['remote', 'modify', 'gcs', 'projectid', 'rvc-test']);
    await rvcAsyncOk(dir, ['push']);
    expect((await rvcAsyncOk(dir, ['push'])).stdout).toMatch(/Everything is up to date/);
    const c = cloneOf(dir);
    await rvcAsyncOk(c, ['pull']);
    expect(workspaceData(c)).toEqual(files);
  });
});
