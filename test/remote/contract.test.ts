/**
 * One contract, every remote: the same behaviour is required of the folder, memory, S3 and GCS
 * implementations (the last two against loopback servers, or real buckets when configured).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRvcError } from '../../src/errors.js';
import { objectKey } from '../../src/model/oid.js';
import { openRemote, type Remote, type RemoteOptions } from '../../src/remote/index.js';
import { gcsTarget } from '../helpers/gcs-server.js';
import { s3Target } from '../helpers/s3-server.js';

const MIB = 1024 * 1024;

interface Backend {
  /** A URL unique to this call (so tests never share objects) and options to open it with. */
  fresh(): { url: string; options: RemoteOptions };
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

function keyFor(data: Buffer | string): string {
  return objectKey('sha256', createHash('sha256').update(data).digest('hex'));
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out.sort();
}

function contractSuite(name: string, backend: Backend): void {
  describe(`remote contract: ${name}`, () => {
    let tmp: string;
    const opened: Remote[] = [];
    const open = async (extra: RemoteOptions = {}): Promise<Remote> => {
      const { url, options } = backend.fresh();
      const r = await openRemote(url, { ...options, jobs: 8, ...extra });
      opened.push(r);
      return r;
    };
    const file = async (name: string, data: Buffer | string): Promise<string> => {
      const p = path.join(tmp, name);
      await writeFile(p, data);
      return p;
    };

    beforeAll(async () => {
      tmp = await mkdtemp(path.join(os.tmpdir(), 'rvc-contract-'));
      await backend.setup?.();
    });
    afterAll(async () => {
      await Promise.all(opened.map((r) => r.close()));
      await backend.teardown?.();
      await rm(tmp, { recursive: true, force: true });
    });

    it('round-trips upload, existing, list, download and delete', async () => {
      const r = await open();
      const a = 'alpha contents\n';
      const b = randomBytes(3000);
      const ka = keyFor(a);
      const kb = keyFor(b);
      const kc = keyFor('never uploaded');
      let sent = 0;
      await r.upload(ka, await file('a', a), { onBytes: (n) => (sent += n) });
      expect(sent).toBe(Buffer.byteLength(a));
      await r.upload(kb, await file('b', b));

      expect(await r.existing([ka, kb, kc])).toEqual(new Set([ka, kb]));
      expect(await collect(r.list())).toEqual([ka, kb].sort());
      expect(await collect(r.list('sha256/'))).toEqual([ka, kb].sort());
      expect(await collect(r.list('blake3/'))).toEqual([]);
      expect(await collect(r.list(ka.slice(0, 'sha256/ab'.length)))).toContain(ka);
      // listDetailed: the same keys, each with its size and a time around its upload (clocks of a
      // server and of this machine may differ a little: within an hour is what gc's day-long grace needs).
      const detailed: { key: string; size: number; modified: number }[] = [];
      for await (const t of r.listDetailed('sha256/')) detailed.push(t);
      expect(detailed.map((t) => [t.key, t.size]).sort()).toEqual([[ka, Buffer.byteLength(a)], [kb, b.length]].sort());
      for (const t of detailed) expect(Math.abs(t.modified - Date.now())).toBeLessThan(3600_000);

      const dest = path.join(tmp, 'b.down');
      let got = 0;
      await r.download(kb, dest, { onBytes: (n) => (got += n) });
      expect(await readFile(dest)).toEqual(b);
      expect(got).toBe(b.length);

      await r.delete(ka);
      expect(await r.existing([ka, kb])).toEqual(new Set([kb]));
      expect(await collect(r.list())).toEqual([kb]);
    });

    it('keeps remotes with different prefixes apart', async () => {
      const r1 = await open();
      const r2 = await open();
      const k = keyFor('isolated');
      await r1.upload(k, await file('iso', 'isolated'));
      expect(await r2.existing([k])).toEqual(new Set());
      expect(await collect(r2.list())).toEqual([]);
      expect(await collect(r1.list())).toEqual([k]);
    });

    it('reports a missing key on download as OBJECT_MISSING and leaves no object behind', async () => {
      const r = await open();
      const k = keyFor('not there');
      const dest = path.join(tmp, 'missing.down');
      const err = await r.download(k, dest).catch((e: unknown) => e);
      expect(isRvcError(err, 'OBJECT_MISSING')).toBe(true);
      expect(String((err as Error).message)).toContain(k);
      expect(await r.existing([k])).toEqual(new Set());
    });

    it('deletes idempotently', async () => {
      const r = await open();
      const k = keyFor('to delete');
      await r.delete(k);
      await r.upload(k, await file('del', 'to delete'));
      await r.delete(k);
      await r.delete(k);
      expect(await r.existing([k])).toEqual(new Set());
    });

    it('overwrites a key with the same content and round-trips an empty file', async () => {
      const r = await open();
      const k = keyFor('');
      const p = await file('empty', '');
      await r.upload(k, p);
      await r.upload(k, p);
      expect(await r.existing([k])).toEqual(new Set([k]));
      const dest = path.join(tmp, 'empty.down');
      await r.download(k, dest);
      expect((await stat(dest)).size).toBe(0);
    });

    it('answers existing() for many keys (above the per-key threshold) exactly', async () => {
      const r = await open({ headthreshold: 16 });
      const all = Array.from({ length: 300 }, (_, i) => `object ${i}`);
      const keys = all.map(keyFor);
      const present = keys.filter((_, i) => i % 2 === 0);
      const src = await file('many', 'x');
      const pLimit = (await import('p-limit')).default;
      const limit = pLimit(16);
      await Promise.all(present.map((k) => limit(() => r.upload(k, src))));
      let progress = 0;
      const found = await r.existing(keys, (d) => (progress = d));
      expect(found).toEqual(new Set(present));
      expect(progress).toBe(keys.length);
      // Few keys go through the per-key path and must agree.
      expect(await r.existing(keys.slice(0, 10))).toEqual(new Set(present.filter((k) => keys.slice(0, 10).includes(k))));
    });

    it('paginates listings larger than one page', async () => {
      const r = await open({ pagesize: 7 });
      const keys = Array.from({ length: 23 }, (_, i) => keyFor(`page ${i}`));
      const src = await file('page', 'p');
      await Promise.all(keys.map((k) => r.upload(k, src)));
      expect(await collect(r.list())).toEqual([...keys].sort());
      expect(await r.existing(keys)).toEqual(new Set(keys));
    });

    it('round-trips a multipart-size file byte for byte', async () => {
      const r = await open();
      const size = 20 * MIB + 12345;
      const data = randomBytes(size);
      const k = keyFor(data);
      const src = await file('big', data);
      let sent = 0;
      await r.upload(k, src, { onBytes: (n) => (sent += n) });
      expect(sent).toBe(size);
      const dest = path.join(tmp, 'big.down');
      let got = 0;
      await r.download(k, dest, { onBytes: (n) => (got += n) });
      expect(got).toBe(size);
      const back = await readFile(dest);
      expect(back.length).toBe(size);
      expect(back.equals(data)).toBe(true);
      await rm(dest);
    });

    it('uploadBytes stores bytes held in memory, small and above one multipart part', async () => {
      const r = await open();
      for (const size of [3000, 9 * MIB + 7]) {
        const data = randomBytes(size);
        const k = keyFor(data);
        let sent = 0;
        await r.uploadBytes(k, data, { onBytes: (n) => (sent += n) });
        expect(sent).toBe(size);
        const dest = path.join(tmp, 'bytes.down');
        await r.download(k, dest);
        expect((await readFile(dest)).equals(data)).toBe(true);
        await rm(dest);
      }
    });
  });
}

// --- the four backends -------------------------------------------------------------------------

let localRoot = '';
let localCounter = 0;
contractSuite('local folder', {
  async setup() {
    localRoot = await mkdtemp(path.join(os.tmpdir(), 'rvc-local-remote-'));
  },
  // The folder exists, as a bucket does for the cloud backends; a missing folder is an error case.
  fresh: () => {
    const url = path.join(localRoot, `r${++localCounter}`);
    mkdirSync(url);
    return { url, options: {} };
  },
  async teardown() {
    await rm(localRoot, { recursive: true, force: true });
  },
});

describe('local folder: a shard folder removed between two uploads (a gc elsewhere pruning it)', () => {
  it('is made again: the second upload into it lands', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'rvc-local-shard-'));
    try {
      const remote = await openRemote(root);
      const a = objectKey('blake3', 'ab' + '1'.repeat(62));
      const b = objectKey('blake3', 'ab' + '2'.repeat(62));
      await remote.uploadBytes(a, Buffer.from('first'));
      // The folder the remote made for the first upload goes, as an emptied shard would.
      await rm(path.join(root, path.dirname(a)), { recursive: true });
      await remote.uploadBytes(b, Buffer.from('second'));
      expect((await remote.downloadBytes(b)).toString()).toBe('second');
      const src = path.join(root, 'src.bin');
      await writeFile(src, 'third');
      await rm(path.join(root, path.dirname(b)), { recursive: true });
      await remote.upload(a, src);
      expect((await remote.downloadBytes(a)).toString()).toBe('third');
      await remote.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

let memoryCounter = 0;
contractSuite('memory', {
  fresh: () => ({ url: `memory://contract-${process.pid}-${++memoryCounter}`, options: {} }),
});

// Targets are started in setup; fresh() hands out sub-prefixes of the target's own prefix.
function cloudBackend(start: () => Promise<{ url: string; options: RemoteOptions; stop(): Promise<void> }>): Backend {
  let target: { url: string; options: RemoteOptions; stop(): Promise<void> } | undefined;
  let n = 0;
  return {
    async setup() {
      target = await start();
    },
    fresh: () => ({ url: `${target!.url}/t${++n}`, options: target!.options }),
    async teardown() {
      await target?.stop();
    },
  };
}

contractSuite(process.env.RVC_TEST_S3_URL ? 'S3 (real)' : 'S3 (s3rver)', cloudBackend(s3Target));
contractSuite(process.env.RVC_TEST_GCS_URL ? 'GCS (real)' : 'GCS (fake server)', cloudBackend(gcsTarget));
