import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, rvcAsync, rvcAsyncOk, git, makeRepo, writeTree, readTree, rmrf, tmpDir, distinctBytes } from '../helpers/cli.js';
import { startS3Server, S3RVER_KEY, type S3Server } from '../helpers/s3-server.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startGcsServer, type GcsServer } from '../helpers/gcs-server.js';
import { MemoryRemote, openRemote, type Remote } from '../../src/remote/index.js';

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

const S3_ENV = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };
const SMALL = 80;

/** `n` small distinct files under `folder`, keyed by their repository path. */
function smallFiles(folder: string, n: number, tag = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`${folder}/f${String(i).padStart(3, '0')}.txt`] = `${tag}small file ${i}\n`.repeat(1 + (i % 7));
  return files;
}

/** A repository with SMALL small files in `data/` and a 1.5 MiB file (too large for a pack). */
function dataRepo(): { dir: string; files: Record<string, string | Buffer> } {
  const dir = track(makeRepo());
  const files: Record<string, string | Buffer> = { ...smallFiles('data', SMALL), 'big.bin': distinctBytes(1536 * 1024) };
  writeTree(dir, files);
  rvcOk(dir, ['add', 'data', 'big.bin']);
  return { dir, files };
}

function cloneOf(dir: string): string {
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'data']);
  const c = track(tmpDir('rvc-clone-'));
  git(c, ['clone', '-q', dir, '.']);
  return c;
}

/** Every file of the workspace's data and big.bin, as bytes. */
function workspaceBytes(dir: string, names: string[]): Record<string, Buffer> {
  return Object.fromEntries(names.map((n) => [n, fs.readFileSync(path.join(dir, n))]));
}

function expectBytes(dir: string, files: Record<string, string | Buffer>): void {
  const want = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]));
  expect(workspaceBytes(dir, Object.keys(files))).toEqual(want);
}

/** Relative paths of every file under `root`. */
function keysUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith('.rvc-tmp')) continue;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

function oidOf(dir: string, pointer: string): string {
  return /oid: ([\w.]+)/.exec(fs.readFileSync(path.join(dir, pointer), 'utf8'))![1]!;
}

/** The oid of a file inside a tracked folder, from the folder's manifest in the cache. */
function oidInFolder(dir: string, folderPointer: string, rel: string): string {
  const tree = oidOf(dir, folderPointer);
  const text = fs.readFileSync(path.join(dir, '.rvc/cache/blake3', tree.slice(0, 2), tree.slice(2)), 'utf8');
  const e = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string; oid: string }).find((x) => x.path === rel);
  return e!.oid;
}

/** The pack index of a folder remote, parsed: pack key, and oid → [offset, length]. */
function onlyPack(store: string): { pack: string; idx: string; at: Map<string, [number, number]> } {
  const keys = keysUnder(store).filter((k) => k.startsWith('packs/'));
  const idx = keys.filter((k) => k.endsWith('.idx'));
  expect(idx).toHaveLength(1);
  const at = new Map<string, [number, number]>();
  for (const line of fs.readFileSync(path.join(store, idx[0]!), 'utf8').split('\n').slice(3)) {
    const [oid, off, len] = line.split(' ');
    if (oid) at.set(oid, [Number(off), Number(len)]);
  }
  return { pack: idx[0]!.replace(/\.idx$/, '.pack'), idx: idx[0]!, at };
}

describe('packs on a folder remote', () => {
  it('small objects go up in one pack, large ones loose; status, a second push and a pull into an empty cache agree byte for byte', () => {
    const { dir, files } = dataRepo();
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    const r = json(rvcOk(dir, ['push', '--json']));
    expect(r.transferred).toBe(SMALL + 2); // the small files, the folder's manifest, big.bin
    const keys = keysUnder(store);
    // One pack and its index, the manifest and big.bin loose: 4 files for 152 objects.
    expect(keys.filter((k) => k.startsWith('packs/blake3/'))).toHaveLength(2);
    expect(keys).toHaveLength(4);
    expect(keys).toContain(`blake3/${oidOf(dir, 'big.bin.rvc').slice(0, 2)}/${oidOf(dir, 'big.bin.rvc').slice(2)}`);
    expect(json(rvcOk(dir, ['status', '--cloud', '--json'])).counts).toEqual({ new: 0, deleted: 0, missing: 0, 'in sync': SMALL + 2 });
    expect(rvcOk(dir, ['push']).stdout).toMatch(/Everything is up to date/);

    const c = cloneOf(dir);
    // (status --cloud fetches the folder's manifest to list its files)
    expect(json(rvcOk(c, ['status', '--cloud', '--json'])).counts).toEqual({ new: 0, deleted: SMALL + 1, missing: 0, 'in sync': 1 });
    rvcOk(c, ['pull']);
    expectBytes(c, files);
    expect(rvc(c, ['fsck']).code).toBe(0);
    // Local gc and fsck leave the cached pack indexes alone.
    const idxDir = path.join(c, '.rvc/cache/packs/blake3');
    expect(fs.readdirSync(idxDir)).toHaveLength(1);
    rvcOk(c, ['gc', '-w']);
    expect(fs.readdirSync(idxDir)).toHaveLength(1);
    // fsck --cloud reads the packed copies back and finds them intact.
    const f = json(rvcOk(c, ['fsck', '--cloud', '--json']));
    expect(f.checked).toBe(SMALL + 2);
  });

  it('a pack altered on the remote is refused naming the object and the pack; a truncated one, past its end; fsck --cloud --repair replaces it from the cache', () => {
    const { dir, files } = dataRepo();
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['push']);
    const { pack, at } = onlyPack(store);
    const victim = oidInFolder(dir, 'data.rvc', 'f010.txt');
    const [off] = at.get(victim)!;
    const packFile = path.join(store, pack);
    const bytes = fs.readFileSync(packFile);
    bytes[off] = bytes[off]! ^ 0xff;
    fs.writeFileSync(packFile, bytes);

    const c = cloneOf(dir);
    const r = rvc(c, ['pull']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('data/f010.txt');
    expect(r.stderr).toContain(victim);
    expect(r.stderr).toContain(pack);
    expect(fs.existsSync(path.join(c, '.rvc/cache/blake3', victim.slice(0, 2), victim.slice(2)))).toBe(false);
    const next = oidInFolder(dir, 'data.rvc', 'f011.txt');
    expect(fs.readFileSync(path.join(c, '.rvc/cache/blake3', next.slice(0, 2), next.slice(2)), 'utf8')).toBe(files['data/f011.txt']);
    // One object alone (a ranged read) is refused the same way.
    const c1 = cloneOf(dir);
    const one = rvc(c1, ['pull', 'data/f010.txt']);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain(pack);

    // fsck --cloud finds it and names the pack.
    const f = rvc(dir, ['fsck', '--cloud', '--json']);
    expect(f.code).toBe(1);
    const fr = json(f);
    expect(fr.corrupt.map((o: any) => o.oid)).toEqual([victim]);
    expect(fr.damagedPacks).toEqual([pack]);

    // Cut the pack in half: the objects before the cut arrive, those past it are refused as truncated.
    bytes[off] = bytes[off]! ^ 0xff;
    fs.writeFileSync(packFile, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const c2 = cloneOf(dir);
    const t = rvc(c2, ['pull', '--json']);
    expect(t.code).toBe(1);
    const res = json(t);
    const cut = [...at.values()].filter(([o, l]) => o + l > Math.floor(bytes.length / 2)).length;
    expect(res.failedCount).toBe(cut);
    expect(res.failed[0].message).toMatch(/truncated/);
    expect(res.failed[0].code).toBe('OBJECT_CORRUPT');
    const firstObj = [...at.entries()].find(([, [o]]) => o === 0)![0];
    expect(fs.existsSync(path.join(c2, '.rvc/cache/blake3', firstObj.slice(0, 2), firstObj.slice(2)))).toBe(true);
    expect(rvc(c2, ['fsck']).code).toBe(0);

    // fsck --cloud --repair from a cache holding every object replaces the pack: all its objects
    // go into a new one, it and its index go, nothing is lost; a push restores the manifest it
    // removed as incomplete, and the clone's pull then completes.
    const fix = json(rvcOk(dir, ['fsck', '--cloud', '--repair', '--json']));
    expect(fix.replacedPacks).toEqual([{ key: pack, rewritten: at.size, lost: [] }]);
    expect(fs.existsSync(packFile)).toBe(false);
    rvcOk(dir, ['push']);
    rvcOk(c2, ['pull']);
    expectBytes(c2, files);
  });

  it('an index without its pack counts as absent: pull names the objects missing, fsck --cloud --repair drops the manifest, push uploads them again', () => {
    const { dir, files } = dataRepo();
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['push']);
    const { pack } = onlyPack(store);
    fs.rmSync(path.join(store, pack));
    expect(json(rvcOk(dir, ['status', '--cloud', '--json'])).counts).toEqual({ new: SMALL, deleted: 0, missing: 0, 'in sync': 2 });
    const c = cloneOf(dir);
    const r = rvc(c, ['pull', '--json']);
    expect(r.code).toBe(1);
    expect(json(r).failedByCode).toEqual({ OBJECT_MISSING: SMALL });
    // The manifest on the remote lists objects it no longer has; push trusts a manifest it finds,
    // so fsck --cloud --repair removes it first (as for a lost loose object).
    const f = rvc(dir, ['fsck', '--cloud', '--repair', '--json']);
    expect(json(f).incomplete).toHaveLength(1);
    const again = json(rvcOk(dir, ['push', '--json']));
    expect(again.transferred).toBe(SMALL + 1);
    rvcOk(c, ['pull']);
    expectBytes(c, files);
  });

  it('a remote written loose (packs: false, as older rvc versions) is read and extended with packs', () => {
    const dir = track(makeRepo());
    const a = smallFiles('a', 100, 'a');
    writeTree(dir, a);
    rvcOk(dir, ['add', 'a']);
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['remote', 'modify', 'store', 'packs', 'false']);
    expect(rvc(dir, ['remote', 'modify', 'store', 'packs', 'maybe']).code).not.toBe(0);
    rvcOk(dir, ['push']);
    expect(keysUnder(store).filter((k) => k.startsWith('packs/'))).toEqual([]);
    expect(keysUnder(store)).toHaveLength(101);

    const b = smallFiles('b', 100, 'b');
    writeTree(dir, b);
    rvcOk(dir, ['add', 'b']);
    rvcOk(dir, ['remote', 'modify', 'store', 'packs', 'true']);
    const r = json(rvcOk(dir, ['push', '--json']));
    expect(r.transferred).toBe(101); // only b's files and manifest; a's loose objects count as there
    expect(keysUnder(store).filter((k) => k.startsWith('packs/'))).toHaveLength(2);

    const c = cloneOf(dir);
    rvcOk(c, ['config', 'cache.shared', 'group']);
    rvcOk(c, ['pull']);
    expectBytes(c, { ...a, ...b });
    // A shared cache's folder of pack indexes is group-writable like its other folders.
    const mode = fs.statSync(path.join(c, '.rvc/cache/packs/blake3')).mode;
    expect(mode & 0o2070).toBe(0o2070);
  });
});

describe('packs on an S3 remote (s3rver behind a counting proxy)', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['rvc-packs'] });
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('push makes a few requests, pull of one file is one ranged read, a full pull is byte-exact', async () => {
    const proxy = await startFaultProxy({ target: s3.endpoint, flavor: 's3' });
    try {
      const { dir, files } = dataRepo();
      rvcOk(dir, ['remote', 'add', '-d', 's3', 's3://rvc-packs/few']);
      rvcOk(dir, ['remote', 'modify', 's3', 'endpointurl', proxy.url]);
      await rvcAsyncOk(dir, ['push'], S3_ENV);
      const puts = proxy.log.filter((l) => l.startsWith('PUT '));
      // The pack, its index, the manifest and big.bin: not one request per file.
      expect(puts.filter((l) => /\/packs\/blake3\/[0-9a-f]+\.(pack|idx)/.test(l))).toHaveLength(2);
      expect(puts.length).toBeLessThanOrEqual(4);

      const c = cloneOf(dir);
      proxy.log.length = 0;
      proxy.ranges.length = 0;
      const one = json(await rvcAsyncOk(c, ['pull', 'data/f020.txt', '--json'], S3_ENV));
      expect(one.transferred).toBe(2); // the manifest and the one file
      const packGets = proxy.log.filter((l) => l.startsWith('GET ') && /\.pack/.test(l));
      expect(packGets).toHaveLength(1);
      const oid = oidInFolder(c, 'data.rvc', 'f020.txt');
      const len = Buffer.byteLength(files['data/f020.txt'] as string);
      expect(proxy.ranges).toHaveLength(1);
      const m = / bytes=(\d+)-(\d+)$/.exec(proxy.ranges[0]!)!;
      expect(Number(m[2]) - Number(m[1]) + 1).toBe(len); // only that object's bytes
      expect(fs.readFileSync(path.join(c, 'data/f020.txt'), 'utf8')).toBe(files['data/f020.txt']);
      expect(fs.existsSync(path.join(c, '.rvc/cache/blake3', oid.slice(0, 2), oid.slice(2)))).toBe(true);

      const c2 = cloneOf(dir);
      proxy.log.length = 0;
      await rvcAsyncOk(c2, ['pull'], S3_ENV);
      expectBytes(c2, files);
      // All of the pack is wanted: one whole GET, no per-object requests.
      expect(proxy.log.filter((l) => l.startsWith('GET ') && /\.pack/.test(l))).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });

  it('pack uploads and ranged reads are retried through 30% injected faults to a byte-exact result', async () => {
    const proxy = await startFaultProxy({ target: s3.endpoint, flavor: 's3', faultRate: 0.3, seed: 5, kinds: ['status', 'reset', 'truncate'] });
    try {
      const { dir, files } = dataRepo();
      rvcOk(dir, ['remote', 'add', '-d', 's3', 's3://rvc-packs/faulty']);
      rvcOk(dir, ['remote', 'modify', 's3', 'endpointurl', proxy.url]);
      rvcOk(dir, ['remote', 'modify', 's3', 'retries', '8']);
      await rvcAsyncOk(dir, ['push'], S3_ENV);
      const c = cloneOf(dir);
      // One file alone (a ranged read), then the rest (a whole pack).
      await rvcAsyncOk(c, ['pull', 'data/f005.txt'], S3_ENV);
      await rvcAsyncOk(c, ['pull'], S3_ENV);
      expectBytes(c, files);
      expect(proxy.stats.status + proxy.stats.reset + proxy.stats.truncate).toBeGreaterThan(0);
    } finally {
      await proxy.stop();
    }
  });

  it('a push interrupted between pack and index leaves an orphan pack no reader sees; the re-run moves only what is missing', async () => {
    const proxy = await startFaultProxy({ target: s3.endpoint, flavor: 's3' });
    try {
      const { dir, files } = dataRepo();
      rvcOk(dir, ['remote', 'add', '-d', 's3', 's3://rvc-packs/cut']);
      rvcOk(dir, ['remote', 'modify', 's3', 'endpointurl', proxy.url]);
      proxy.addRule({ match: /\/packs\/blake3\/[0-9a-f]+\.idx/, status: 403, methods: ['PUT'] });
      const r = await rvcAsync(dir, ['push', '--json'], S3_ENV);
      expect(r.code).toBe(1);
      const first = json(r);
      expect(first.transferred).toBe(1); // big.bin; the manifest waits for its files
      const bucket = path.join(s3.dir, 'rvc-packs', 'cut');
      const names = fs.readdirSync(path.join(bucket, 'packs', 'blake3'));
      expect(names.filter((n) => n.endsWith('.pack._S3rver_object'))).toHaveLength(1);
      expect(names.filter((n) => n.includes('.idx'))).toHaveLength(0);
      // Nothing on the remote names the unindexed objects: status calls them new.
      expect(json(await rvcAsyncOk(dir, ['status', '--cloud', '--json'], S3_ENV)).counts).toEqual({ new: SMALL + 1, deleted: 0, missing: 0, 'in sync': 1 });

      proxy.clearRules();
      const again = json(await rvcAsyncOk(dir, ['push', '--json'], S3_ENV));
      expect(again.transferred).toBe(SMALL + 1); // the small files (a new pack) and the manifest
      expect(again.skipped).toBe(1); // big.bin
      const c = cloneOf(dir);
      await rvcAsyncOk(c, ['pull'], S3_ENV);
      expectBytes(c, files);
    } finally {
      await proxy.stop();
    }
  });
});

describe('downloadRange and downloadBytes on every kind of remote', () => {
  let s3: S3Server;
  let gcs: GcsServer;
  beforeAll(async () => {
    [s3, gcs] = await Promise.all([startS3Server({ buckets: ['rvc-range'] }), startGcsServer({ buckets: ['rvc-range'] })]);
    Object.assign(process.env, S3_ENV);
  });
  afterAll(async () => {
    await Promise.all([s3?.stop(), gcs?.stop()]);
  });

  it('reads a middle range, a range the file ends inside (short), one past its end (empty), a whole file into memory, and says OBJECT_MISSING for a missing key', async () => {
    const root = track(tmpDir('rvc-range-'));
    const data = distinctBytes(10_000);
    const src = path.join(root, 'src');
    fs.writeFileSync(src, data);
    const remotes: [string, Remote][] = [
      ['folder', await openRemote(path.join(root, 'folder'))],
      ['memory', new MemoryRemote()],
      ['s3', await openRemote('s3://rvc-range/p', { endpointurl: s3.endpoint })],
      ['gcs', await openRemote('gs://rvc-range/p', { endpointurl: gcs.endpoint, projectid: 'rvc-test' })],
    ];
    for (const [kind, remote] of remotes) {
      try {
        await remote.upload('packs/blake3/x.pack', src);
        const dest = path.join(root, `${kind}.out`);
        expect(await remote.downloadRange('packs/blake3/x.pack', dest, { offset: 1000, length: 2345 }), kind).toBe(2345);
        expect(fs.readFileSync(dest).equals(data.subarray(1000, 3345)), kind).toBe(true);
        expect(await remote.downloadRange('packs/blake3/x.pack', dest, { offset: 9000, length: 5000 }), kind).toBe(1000);
        expect(fs.readFileSync(dest).equals(data.subarray(9000)), kind).toBe(true);
        expect(await remote.downloadRange('packs/blake3/x.pack', dest, { offset: 20_000, length: 10 }), kind).toBe(0);
        await expect(remote.downloadRange('packs/blake3/nope.pack', dest, { offset: 0, length: 10 }), kind).rejects.toMatchObject({ code: 'OBJECT_MISSING' });
        // A whole file into memory (a pack kept whole): every byte, its count reported, OBJECT_MISSING alike.
        let reported = 0;
        expect((await remote.downloadBytes('packs/blake3/x.pack', { onBytes: (n) => (reported += n) })).equals(data), kind).toBe(true);
        expect(reported, kind).toBe(data.length);
        await expect(remote.downloadBytes('packs/blake3/nope.pack'), kind).rejects.toMatchObject({ code: 'OBJECT_MISSING' });
      } finally {
        await remote.close();
      }
    }
  });
});
