import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RvcError, isRvcError } from '../../src/errors.js';
import { objectKey, oidDigest } from '../../src/model/oid.js';
import type { ProgressEvent } from '../../src/progress.js';
import { MemoryRemote, openRemote, type Remote, type RemoteOptions } from '../../src/remote/index.js';
import { MISSES_BEFORE_QUERY, existingObjects, fetch, fetchObject, push, verify, type LocalObjectStore } from '../../src/remote/transfer.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { fakeGcsOptions, startGcsServer, type GcsServer } from '../helpers/gcs-server.js';
import { s3rverOptions, startS3Server, type S3Server } from '../helpers/s3-server.js';

const MIB = 1024 * 1024;

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function hashFile(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface Entry {
  path: string;
  oid: string;
  size: number;
}

/** A minimal content-addressed cache over a temporary folder, as the odb will provide. */
class FsStore implements LocalObjectStore {
  readonly algo = 'sha256' as const;
  constructor(readonly root: string) {}

  objectPath(oid: string): string {
    return path.join(this.root, 'cache', ...objectKey('sha256', oid).split('/'));
  }

  async has(oid: string): Promise<boolean> {
    try {
      await stat(this.objectPath(oid));
      return true;
    } catch {
      return false;
    }
  }

  tmpDir(): string {
    return path.join(this.root, 'tmp');
  }

  async importVerified(tmpPath: string, oid: string): Promise<boolean> {
    if ((await hashFile(tmpPath)) !== oidDigest(oid)) {
      await rm(tmpPath, { force: true });
      return false;
    }
    const dest = this.objectPath(oid);
    await mkdir(path.dirname(dest), { recursive: true });
    await rename(tmpPath, dest);
    await chmod(dest, 0o444);
    return true;
  }

  async verifyDownload(tmpPath: string, oid: string): Promise<boolean> {
    const ok = (await hashFile(tmpPath)) === oidDigest(oid);
    await rm(tmpPath, { force: true });
    return ok;
  }

  async readTreeEntries(oid: string): Promise<{ oid: string; size: number }[]> {
    const entries = JSON.parse(await readFile(this.objectPath(oid), 'utf8')) as Entry[];
    return entries.map((e) => ({ oid: e.oid, size: e.size }));
  }

  private async put(oid: string, data: Buffer | string): Promise<void> {
    const p = this.objectPath(oid);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, data, { mode: 0o444 });
  }

  async addFile(data: Buffer | string): Promise<string> {
    const oid = sha256(data);
    if (!(await this.has(oid))) await this.put(oid, data);
    return oid;
  }

  async addTree(entries: Entry[]): Promise<string> {
    const bytes = JSON.stringify([...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
    const oid = `${sha256(bytes)}.tree`;
    if (!(await this.has(oid))) await this.put(oid, bytes);
    return oid;
  }

  async read(oid: string): Promise<Buffer> {
    return readFile(this.objectPath(oid));
  }
}

let tmp: string;
let storeCounter = 0;
async function newStore(): Promise<FsStore> {
  const root = path.join(tmp, `store${++storeCounter}`);
  await mkdir(root, { recursive: true });
  return new FsStore(root);
}

/** A dataset: `n` small files of varied sizes (plus optional large ones) and their tree. */
async function dataset(store: FsStore, n: number, opts: { large?: number[]; seed?: string } = {}) {
  const files: { oid: string; data: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const data = Buffer.concat([Buffer.from(`${opts.seed ?? 'file'} ${i}\n`), randomBytes((i * 977) % 5000)]);
    files.push({ oid: await store.addFile(data), data });
  }
  for (const size of opts.large ?? []) {
    const data = randomBytes(size);
    files.push({ oid: await store.addFile(data), data });
  }
  const tree = await store.addTree(files.map((f, i) => ({ path: `dir/f${i}`, oid: f.oid, size: f.data.length })));
  return { files, tree };
}

const key = (oid: string): string => objectKey('sha256', oid);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rvc-transfer-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('push and fetch against a memory remote', () => {
  it('pushes only what the remote lacks, every file before its tree', async () => {
    const store = await newStore();
    const { files, tree } = await dataset(store, 30);
    const remote = new MemoryRemote('memory://order');
    for (const f of files.slice(0, 10)) remote.put(key(f.oid), f.data);
    const order: string[] = [];
    const upload = remote.upload.bind(remote);
    remote.upload = async (k, p, o) => {
      await upload(k, p, o);
      order.push(k);
    };

    const res = await push(store, remote, [tree], { jobs: 4 });
    expect(res.failed).toEqual([]);
    expect(res.skipped).toBe(10);
    expect(new Set(res.transferred)).toEqual(new Set([...files.slice(10).map((f) => f.oid), tree]));
    expect(order.at(-1)).toBe(key(tree));
    expect(order.length).toBe(21);
    for (const f of files) expect(remote.get(key(f.oid))).toEqual(f.data);
  });

  it('a fetch that keeps finding objects missing asks the listing about the rest, and keeps a bounded sample', async () => {
    const src = await newStore();
    const { files, tree } = await dataset(src, 500, { seed: 'gone' });
    const remote = new MemoryRemote('memory://gone', { jobs: 4 });
    remote.put(key(tree), await src.read(tree));
    for (const f of files.slice(0, 5)) remote.put(key(f.oid), f.data);
    const dst = await newStore();
    const res = await fetch(dst, remote, [tree], { jobs: 4 });
    expect(res.failedCount).toBe(495);
    expect(res.failedByCode).toEqual({ OBJECT_MISSING: 495 });
    expect(res.failed).toHaveLength(20);
    // Downloads stop once MISSES_BEFORE_QUERY failed (plus those already under way).
    expect(remote.calls.download).toBeLessThanOrEqual(1 + 5 + MISSES_BEFORE_QUERY + 4);
    expect(new Set(res.transferred)).toEqual(new Set([tree, ...files.slice(0, 5).map((f) => f.oid)]));
  });

  it('verify finds corrupt copies and manifests listing missing ones; repair deletes them, manifests first', async () => {
    const store = await newStore();
    const { files, tree } = await dataset(store, 10, { seed: 'verify' });
    const remote = new MemoryRemote('memory://verify');
    await push(store, remote, [tree]);
    remote.put(key(files[3]!.oid), 'damaged');
    let res = await verify(store, remote, [tree]);
    expect(res).toMatchObject({ checked: 10, corrupt: [files[3]!.oid], incomplete: [tree], missing: 0, removed: [], failedCount: 0 });
    const deleted: string[] = [];
    const del = remote.delete.bind(remote);
    remote.delete = async (k) => {
      deleted.push(k);
      await del(k);
    };
    res = await verify(store, remote, [tree], { repair: true });
    expect(deleted).toEqual([key(tree), key(files[3]!.oid)]);
    expect(res.removed).toEqual(deleted);
    await push(store, remote, [tree]);
    expect(await verify(store, remote, [tree])).toMatchObject({ checked: 11, corrupt: [], incomplete: [], missing: 0 });
  });

  it('makes a no-op push of a 50,000-file tree cost one query', async () => {
    const store = await newStore();
    const remote = new MemoryRemote('memory://noop');
    const entries: Entry[] = [];
    for (let i = 0; i < 50_000; i++) {
      const oid = sha256(`f${i}`);
      entries.push({ path: `d/${i}`, oid, size: 1 });
      remote.put(key(oid), 'x');
    }
    const tree = await store.addTree(entries);
    remote.put(key(tree), await store.read(tree));
    remote.resetCalls();

    const res = await push(store, remote, [tree]);
    expect(res).toEqual({ transferred: [], skipped: 1, failed: [], failedCount: 0, failedByCode: {} });
    expect(remote.calls.head + remote.calls.list).toBe(1);
    expect(remote.calls.upload).toBe(0);
  });

  it('asks a remote without loose objects nothing per key, and finds the one loose object of another', async () => {
    // A remote that counts the keys it is asked about, so the one-listing answer is visible.
    class CountingRemote extends MemoryRemote {
      asked = 0;
      override async existing(keys: string[], onProgress?: (done: number) => void): Promise<Set<string>> {
        this.asked += keys.length;
        return super.existing(keys, onProgress);
      }
    }
    const store = await newStore();
    const oids = Array.from({ length: 3000 }, (_, i) => sha256(`loose ${i}`));
    // A new remote (one holding packs only answers the same: its packs are asked first).
    const fresh = new CountingRemote('memory://new');
    expect(await existingObjects(store, fresh, oids)).toEqual(new Set());
    expect(fresh.asked).toBe(0);
    expect(fresh.calls.head).toBe(0);

    const oneLoose = new CountingRemote('memory://one-loose');
    oneLoose.put(key(oids[1234]!), 'x');
    expect(await existingObjects(store, oneLoose, oids)).toEqual(new Set([oids[1234]]));
    expect(oneLoose.asked).toBe(3000);
    // Below the threshold the remote is asked key by key as before, without the extra listing.
    const few = new CountingRemote('memory://few');
    expect(await existingObjects(store, few, oids.slice(0, 10))).toEqual(new Set());
    expect(few.asked).toBe(10);
  });

  it('queries a large first push by listing, not one request per file', async () => {
    const store = await newStore();
    const { files, tree } = await dataset(store, 2000);
    const remote = new MemoryRemote('memory://first');
    const res = await push(store, remote, [tree], { jobs: 16 });
    expect(res.failed).toEqual([]);
    expect(res.transferred.length).toBe(files.length + 1);
    // One HEAD for the tree, then a probe of one shard and one listing of the algorithm prefix.
    expect(remote.calls.head + remote.calls.list).toBeLessThanOrEqual(4);
  });

  it('reports a failing object, keeps its tree off the remote, and a re-run moves only what is missing', async () => {
    const store = await newStore();
    const { files, tree } = await dataset(store, 12);
    const remote = new MemoryRemote('memory://fail');
    const bad = files[5]!.oid;
    remote.failWith = (op, k) =>
      op === 'upload' && k === key(bad) ? new RvcError('REMOTE_ACCESS_DENIED', `access denied to ${k}`) : undefined;

    const first = await push(store, remote, [tree], { jobs: 3 });
    expect(first.failed.map((f) => [f.oid, f.error.code]).sort()).toEqual(
      [
        [bad, 'REMOTE_ACCESS_DENIED'],
        [tree, 'REMOTE_TRANSFER_FAILED'],
      ].sort(),
    );
    expect(first.transferred.length).toBe(11);
    expect(remote.get(key(tree))).toBeUndefined();

    remote.failWith = undefined;
    const second = await push(store, remote, [tree]);
    expect(second.failed).toEqual([]);
    expect(second.transferred.sort()).toEqual([bad, tree].sort());
    expect(second.skipped).toBe(11);
  });

  it('reports objects missing from the local cache without uploading their tree', async () => {
    const store = await newStore();
    const present = await store.addFile('present');
    const absent = sha256('absent');
    const tree = await store.addTree([
      { path: 'a', oid: present, size: 7 },
      { path: 'b', oid: absent, size: 6 },
    ]);
    const remote = new MemoryRemote('memory://absent');
    const res = await push(store, remote, [tree, 'not-an-oid']);
    const codes = Object.fromEntries(res.failed.map((f) => [f.oid, f.error.code]));
    expect(codes).toEqual({ [absent]: 'OBJECT_MISSING', [tree]: 'REMOTE_TRANSFER_FAILED', 'not-an-oid': 'OID_INVALID' });
    expect(res.transferred).toEqual([present]);
  });

  it('stops and throws on an error that affects the whole remote', async () => {
    const store = await newStore();
    const { tree } = await dataset(store, 40);
    const remote = new MemoryRemote('memory://down');
    remote.failWith = (op) => (op === 'upload' ? new RvcError('REMOTE_UNREACHABLE', 'could not reach the remote') : undefined);
    const err = await push(store, remote, [tree], { jobs: 2 }).catch((e: unknown) => e);
    expect(isRvcError(err, 'REMOTE_UNREACHABLE')).toBe(true);
    // It gave up instead of trying each of the 41 objects.
    expect(remote.calls.upload).toBeLessThan(10);
  });

  it('honours an abort signal', async () => {
    const store = await newStore();
    const { tree } = await dataset(store, 40);
    const remote = new MemoryRemote('memory://abort');
    const ac = new AbortController();
    remote.failWith = (op) => {
      if (op === 'upload' && remote.calls.upload === 3) ac.abort();
      return undefined;
    };
    const err = await push(store, remote, [tree], { jobs: 1, signal: ac.signal }).catch((e: unknown) => e);
    expect(isRvcError(err, 'INTERRUPTED')).toBe(true);
    expect(remote.calls.upload).toBeLessThan(6);
  });

  it('does nothing when the signal is already aborted', async () => {
    const store = await newStore();
    const { tree } = await dataset(store, 3);
    const remote = new MemoryRemote('memory://pre-aborted');
    const ac = new AbortController();
    ac.abort();
    expect(isRvcError(await push(store, remote, [tree], { signal: ac.signal }).catch((e: unknown) => e), 'INTERRUPTED')).toBe(true);
    expect(isRvcError(await fetch(store, remote, [tree], { signal: ac.signal }).catch((e: unknown) => e), 'INTERRUPTED')).toBe(true);
    expect(remote.calls.upload + remote.calls.download).toBe(0);
  });

  it('fetches only what the store lacks and reports progress', async () => {
    const a = await newStore();
    const { files, tree } = await dataset(a, 25);
    const remote = new MemoryRemote('memory://fetch');
    const pushEvents: ProgressEvent[] = [];
    await push(a, remote, [tree], { onProgress: (e) => pushEvents.push(e) });
    expect(new Set(pushEvents.map((e) => e.phase))).toEqual(new Set(['query', 'upload']));
    const lastUpload = pushEvents.filter((e) => e.phase === 'upload').at(-1)!;
    expect(lastUpload.done).toBe(lastUpload.total);
    expect(lastUpload.bytes).toBe(lastUpload.totalBytes);

    const b = await newStore();
    for (const f of files.slice(0, 5)) await b.addFile(f.data);
    const events: ProgressEvent[] = [];
    const res = await fetch(b, remote, [tree], { onProgress: (e) => events.push(e) });
    expect(res.failed).toEqual([]);
    expect(res.skipped).toBe(5);
    expect(new Set(res.transferred)).toEqual(new Set([tree, ...files.slice(5).map((f) => f.oid)]));
    for (const f of files) expect(await b.read(f.oid)).toEqual(f.data);
    const downloads = events.filter((e) => e.phase === 'download');
    const last = downloads.at(-1)!;
    expect(last.done).toBe(21);
    expect(last.total).toBe(21);
    expect(last.bytes).toBe(last.totalBytes);
    for (let i = 1; i < downloads.length; i++) expect(downloads[i]!.done).toBeGreaterThanOrEqual(downloads[i - 1]!.done);

    const again = await fetch(b, remote, [tree]);
    expect(again.transferred).toEqual([]);
    expect(remote.calls.download).toBe(21);
  });

  it('reports a corrupt remote object by key and never lets it into the store', async () => {
    const a = await newStore();
    const { files, tree } = await dataset(a, 8);
    const remote = new MemoryRemote('memory://corrupt');
    await push(a, remote, [tree]);
    const victim = files[3]!.oid;
    remote.put(key(victim), 'not the right bytes');

    const b = await newStore();
    const res = await fetch(b, remote, [tree]);
    expect(res.failed.length).toBe(1);
    expect(res.failed[0]!.oid).toBe(victim);
    expect(res.failed[0]!.error.code).toBe('OBJECT_CORRUPT');
    expect(res.failed[0]!.error.message).toContain(key(victim));
    expect(await b.has(victim)).toBe(false);
    expect(res.transferred.length).toBe(8);
    expect(await readdir(b.tmpDir())).toEqual([]);

    // A damaged tree stops at the tree: its children are unknown, so nothing else moves.
    const c = await newStore();
    remote.put(key(tree), '[{"path":"x","oid":"0000000000000000000000000000000000000000000000000000000000000000","size":1}]');
    const res2 = await fetch(c, remote, [tree]);
    expect(res2.failed.map((f) => [f.oid, f.error.code])).toEqual([[tree, 'OBJECT_CORRUPT']]);
    expect(res2.transferred).toEqual([]);
  });

  it('fetchObject downloads one object alone, verified: a manifest without its files; damaged, absent or invalid refused', async () => {
    const a = await newStore();
    const { files, tree } = await dataset(a, 3);
    const remote = new MemoryRemote('memory://one');
    await push(a, remote, [tree]);

    const b = await newStore();
    expect(await fetchObject(b, remote, tree)).toBe(true);
    expect(await b.has(tree)).toBe(true);
    for (const f of files) expect(await b.has(f.oid)).toBe(false);
    const downloads = remote.calls.download;
    expect(await fetchObject(b, remote, tree)).toBe(false); // already there: no request
    expect(remote.calls.download).toBe(downloads);

    remote.put(key(files[0]!.oid), 'not the right bytes');
    const corrupt = await fetchObject(b, remote, files[0]!.oid).catch((e: unknown) => e);
    expect(isRvcError(corrupt, 'OBJECT_CORRUPT') && corrupt.message).toContain(key(files[0]!.oid));
    expect(await b.has(files[0]!.oid)).toBe(false);
    expect(await readdir(b.tmpDir())).toEqual([]);

    const absent = sha256('never pushed');
    expect(await fetchObject(b, remote, absent).catch((e: unknown) => isRvcError(e) && e.code)).toBe('OBJECT_MISSING');
    expect(await fetchObject(b, remote, '../../escape').catch((e: unknown) => isRvcError(e) && e.code)).toBe('OID_INVALID');
    expect(await readdir(b.tmpDir())).toEqual([]);
  });

  it('reports an object absent from the remote as OBJECT_MISSING', async () => {
    const a = await newStore();
    const { files, tree } = await dataset(a, 4);
    const remote = new MemoryRemote('memory://gone');
    await push(a, remote, [tree]);
    await remote.delete(key(files[0]!.oid));
    const b = await newStore();
    const res = await fetch(b, remote, [tree]);
    expect(res.failed.map((f) => [f.oid, f.error.code])).toEqual([[files[0]!.oid, 'OBJECT_MISSING']]);
  });
});

// --- through an unreliable network ----------------------------------------------------------------

interface Service {
  name: string;
  flavor: 's3' | 'gcs';
  start(): Promise<{ endpoint: string; bucket: string; scheme: string; options(endpoint: string): RemoteOptions; stop(): Promise<void> }>;
}

const services: Service[] = [
  {
    name: 'S3 (s3rver)',
    flavor: 's3',
    async start() {
      const s: S3Server = await startS3Server();
      return { endpoint: s.endpoint, bucket: s.bucket, scheme: 's3', options: s3rverOptions, stop: () => s.stop() };
    },
  },
  {
    name: 'GCS (fake server)',
    flavor: 'gcs',
    async start() {
      const s: GcsServer = await startGcsServer();
      return { endpoint: s.endpoint, bucket: s.bucket, scheme: 'gs', options: fakeGcsOptions, stop: () => s.stop() };
    },
  },
];

describe.each(services)('push and fetch through a faulty network: $name', (service) => {
  let server: Awaited<ReturnType<Service['start']>>;
  let proxy: FaultProxy;
  let prefixCounter = 0;
  const opened: Remote[] = [];
  const openThroughProxy = async (): Promise<Remote> => {
    const r = await openRemote(`${server.scheme}://${server.bucket}/faulty${++prefixCounter}`, {
      ...server.options(proxy.url),
      jobs: 8,
    });
    opened.push(r);
    return r;
  };

  beforeAll(async () => {
    server = await service.start();
    proxy = await startFaultProxy({ target: server.endpoint, flavor: service.flavor, seed: 20240607 });
  });
  afterAll(async () => {
    await Promise.all(opened.map((r) => r.close()));
    await proxy.stop();
    await server.stop();
  });
  beforeEach(() => {
    proxy.setFaultRate(0);
    proxy.clearRules();
  });
  afterEach(() => {
    proxy.setFaultRate(0);
    proxy.clearRules();
  });

  it('finishes push and fetch byte-exact with about 20% of requests failing', async () => {
    const a = await newStore();
    const { files, tree } = await dataset(a, 40, { large: [12 * MIB + 7], seed: service.name });
    const remote = await openThroughProxy();
    proxy.setFaultRate(0.2);
    const before = { ...proxy.stats };

    const pushed = await push(a, remote, [tree]);
    expect(pushed.failed).toEqual([]);
    expect(pushed.transferred.length).toBe(files.length + 1);

    const b = await newStore();
    const fetched = await fetch(b, remote, [tree]);
    expect(fetched.failed).toEqual([]);
    expect(fetched.transferred.length).toBe(files.length + 1);
    for (const f of files) expect((await b.read(f.oid)).equals(f.data)).toBe(true);

    const injected = proxy.stats.status + proxy.stats.reset + proxy.stats.truncate - before.status - before.reset - before.truncate;
    expect(injected).toBeGreaterThan(5);
  });

  it('recovers from bodies cut off mid-download', async () => {
    const a = await newStore();
    const { files, tree } = await dataset(a, 10, { large: [3 * MIB], seed: `${service.name} cut` });
    const remote = await openThroughProxy();
    await push(a, remote, [tree]);
    const proxy2 = await startFaultProxy({ target: server.endpoint, flavor: service.flavor, seed: 7, faultRate: 0.4, kinds: ['truncate'] });
    const viaCut = await openRemote(`${server.scheme}://${server.bucket}/faulty${prefixCounter}`, { ...server.options(proxy2.url), jobs: 4 });
    try {
      const b = await newStore();
      const res = await fetch(b, viaCut, [tree]);
      expect(res.failed).toEqual([]);
      for (const f of files) expect((await b.read(f.oid)).equals(f.data)).toBe(true);
      expect(proxy2.stats.truncate).toBeGreaterThan(0);
    } finally {
      await viaCut.close();
      await proxy2.stop();
    }
  });

  it('reports a permanently failing object while the rest succeed; a re-run moves only what is missing', async () => {
    const a = await newStore();
    const { files, tree } = await dataset(a, 15, { seed: `${service.name} permanent` });
    const remote = await openThroughProxy();
    const denied = files[4]!.oid;
    proxy.addRule({ match: new RegExp(key(denied)), status: 403, methods: ['PUT', 'POST'] });

    const first = await push(a, remote, [tree]);
    expect(first.failed.map((f) => [f.oid, f.error.code]).sort()).toEqual(
      [
        [denied, 'REMOTE_ACCESS_DENIED'],
        [tree, 'REMOTE_TRANSFER_FAILED'],
      ].sort(),
    );
    expect(first.transferred.length).toBe(14);
    proxy.clearRules();
    const second = await push(a, remote, [tree]);
    expect(second.failed).toEqual([]);
    expect(second.transferred.sort()).toEqual([denied, tree].sort());

    // Downloads: one key answers 500 forever; it is retried, then reported, and the rest arrive.
    const broken = files[9]!.oid;
    proxy.addRule({ match: new RegExp(key(broken)), status: 500, methods: ['GET'] });
    const b = await newStore();
    const got = await fetch(b, remote, [tree]);
    expect(got.failed.map((f) => [f.oid, f.error.code])).toEqual([[broken, 'REMOTE_TRANSFER_FAILED']]);
    expect(got.transferred.length).toBe(15);
    proxy.clearRules();
    const again = await fetch(b, remote, [tree]);
    expect(again.failed).toEqual([]);
    expect(again.transferred).toEqual([broken]);
    expect((await b.read(broken)).equals(files[9]!.data)).toBe(true);
  });
});
