import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RvcError, isRvcError, type ErrorCode } from '../../src/errors.js';
import { objectKey } from '../../src/model/oid.js';
import { openRemote, parseRemoteUrl, type Remote, type RemoteOptions } from '../../src/remote/index.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { fakeGcsOptions, startGcsServer, type GcsServer } from '../helpers/gcs-server.js';
import { s3rverOptions, startS3Server, type S3Server } from '../helpers/s3-server.js';

const KEY = objectKey('sha256', 'ab'.repeat(32));
const FAST_RETRY: RemoteOptions = { retry: { retries: 2, baseMs: 5, maxMs: 20 }, requestretries: 0 };

let tmp: string;
let src: string;
let s3: S3Server;
let gcs: GcsServer;
let gcsProxy: FaultProxy;
const opened: Remote[] = [];

async function open(url: string, options: RemoteOptions): Promise<Remote> {
  const r = await openRemote(url, options);
  opened.push(r);
  return r;
}

/** The RvcError code `p` rejects with (fails the test if it resolves or throws something else). */
async function codeOf(p: Promise<unknown> | AsyncIterable<unknown>): Promise<ErrorCode> {
  try {
    if (Symbol.asyncIterator in Object(p)) {
      for await (const _ of p as AsyncIterable<unknown>) {
        // drain
      }
    } else {
      await p;
    }
  } catch (e) {
    if (e instanceof RvcError) return e.code;
    throw e;
  }
  throw new Error('expected an error');
}

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rvc-remote-errors-'));
  src = path.join(tmp, 'src');
  await writeFile(src, 'some bytes');
  [s3, gcs] = await Promise.all([startS3Server(), startGcsServer()]);
  gcsProxy = await startFaultProxy({ target: gcs.endpoint, flavor: 'gcs' });
});
afterAll(async () => {
  await Promise.all(opened.map((r) => r.close()));
  await Promise.all([s3.stop(), gcs.stop(), gcsProxy.stop()]);
  await rm(tmp, { recursive: true, force: true });
});

describe('unknown bucket or folder → REMOTE_NOT_FOUND', () => {
  it('S3', async () => {
    const r = await open('s3://no-such-bucket/p', { ...s3rverOptions(s3.endpoint), ...FAST_RETRY });
    expect(await codeOf(r.existing([KEY]))).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.existing(Array.from({ length: 100 }, (_, i) => objectKey('sha256', i.toString(16).padStart(64, '0')))))).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.list())).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.upload(KEY, src))).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.download(KEY, path.join(tmp, 'x')))).toBe('REMOTE_NOT_FOUND');
  });

  it('GCS', async () => {
    const r = await open('gs://no-such-bucket/p', { ...fakeGcsOptions(gcs.endpoint), ...FAST_RETRY });
    expect(await codeOf(r.existing([KEY]))).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.list())).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.upload(KEY, src))).toBe('REMOTE_NOT_FOUND');
    expect(await codeOf(r.download(KEY, path.join(tmp, 'x')))).toBe('REMOTE_NOT_FOUND');
  });

  it('local folder', async () => {
    const r = await open(path.join(tmp, 'does', 'not', 'exist'), {});
    expect(await codeOf(r.download(KEY, path.join(tmp, 'x')))).toBe('REMOTE_NOT_FOUND');
    // Before the first push the folder may not exist yet: nothing is there, which is no error.
    expect(await r.existing([KEY])).toEqual(new Set());
  });
});

describe('refused credentials → REMOTE_ACCESS_DENIED', () => {
  it('S3 with an unknown access key (s3rver checks it)', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const r = await open(`s3://${s3.bucket}/p`, {
      ...s3rverOptions(s3.endpoint),
      ...FAST_RETRY,
      accesskeyid: 'AKIAWRONGWRONGWRONG1',
      secretaccesskey: secret,
    });
    const errors: unknown[] = [];
    for (const op of [() => r.existing([KEY]), () => r.upload(KEY, src), () => r.download(KEY, path.join(tmp, 'y')), () => r.delete(KEY)]) {
      errors.push(await op().then(() => undefined, (e: unknown) => e));
    }
    for (const e of errors) {
      expect(isRvcError(e, 'REMOTE_ACCESS_DENIED')).toBe(true);
      const shown = JSON.stringify((e as RvcError).toJSON()) + String((e as Error).cause);
      expect(shown).not.toContain(secret);
      expect((e as RvcError).hint).toBeTruthy();
    }
  });

  it('GCS answering 403', async () => {
    gcsProxy.addRule({ match: /./, status: 403 });
    try {
      const r = await open(`gs://${gcs.bucket}/p`, { ...fakeGcsOptions(gcsProxy.url), ...FAST_RETRY });
      expect(await codeOf(r.existing([KEY]))).toBe('REMOTE_ACCESS_DENIED');
      expect(await codeOf(r.upload(KEY, src))).toBe('REMOTE_ACCESS_DENIED');
      expect(await codeOf(r.download(KEY, path.join(tmp, 'z')))).toBe('REMOTE_ACCESS_DENIED');
      expect(await codeOf(r.list())).toBe('REMOTE_ACCESS_DENIED');
    } finally {
      gcsProxy.clearRules();
    }
  });
});

describe('an S3 multipart upload that does not finish is aborted (best effort), not left billed', () => {
  const MIB = 1024 * 1024;
  let proxy: FaultProxy;
  let big: string;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: s3.endpoint, flavor: 's3', stallMs: 1000 });
    big = path.join(tmp, 'big');
    await writeFile(big, Buffer.alloc(11 * MIB, 7)); // three parts of 5 MiB at most
  });
  afterAll(async () => {
    await proxy.stop();
  });
  const aborts = (): string[] => proxy.log.filter((l) => /^DELETE .*[?&]uploadId=/.test(l));

  it('when a part fails for good', async () => {
    const r = await open(`s3://${s3.bucket}/mp-fail`, { ...s3rverOptions(proxy.url), ...FAST_RETRY, partsize: 5 * MIB });
    proxy.clearRules();
    proxy.addRule({ match: /[?&]partNumber=2(&|$)/, methods: ['PUT'], status: 403 });
    expect(await codeOf(r.upload(KEY, big))).toBe('REMOTE_ACCESS_DENIED');
    expect(aborts().length).toBeGreaterThanOrEqual(1);
    expect(proxy.log.some((l) => /^POST .*[?&]uploadId=/.test(l)), 'never completed').toBe(false);
  });

  it('when the upload is interrupted half-way', async () => {
    const r = await open(`s3://${s3.bucket}/mp-stop`, { ...s3rverOptions(proxy.url), ...FAST_RETRY, partsize: 5 * MIB });
    proxy.clearRules();
    proxy.log.length = 0;
    // Part 2 never answers, so the upload cannot end before the signal stops it.
    proxy.addRule({ match: /[?&]partNumber=2(&|$)/, methods: ['PUT'], status: 500, stall: true });
    const stop = new AbortController();
    const p = r.upload(KEY, big, { signal: stop.signal, onBytes: () => stop.abort() });
    expect(await codeOf(p)).toBe('INTERRUPTED');
    expect(aborts()).toHaveLength(1);
    proxy.clearRules();
  });
});

describe('unreachable endpoint → REMOTE_UNREACHABLE, quickly', () => {
  it.each(['s3', 'gs'] as const)('%s', async (scheme) => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const options = scheme === 's3' ? s3rverOptions(endpoint) : fakeGcsOptions(endpoint);
    const r = await open(`${scheme}://bucket/p`, { ...options, ...FAST_RETRY, connecttimeout: 1 });
    const started = Date.now();
    expect(await codeOf(r.existing([KEY]))).toBe('REMOTE_UNREACHABLE');
    expect(await codeOf(r.upload(KEY, src))).toBe('REMOTE_UNREACHABLE');
    expect(await codeOf(r.download(KEY, path.join(tmp, 'w')))).toBe('REMOTE_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('remote URLs', () => {
  const secret = 'Sup3rS3cretValue';

  it.each([
    `s3://AKIAEXAMPLE:${secret}@bucket/prefix`,
    `gs://user:${secret}@bucket/prefix`,
    `file://user:${secret}@localhost/tmp/x`,
    `https://user:${secret}@example.com/store`,
  ])('rejects credentials in %s without echoing them', async (url) => {
    const err = await openRemote(url).catch((e: unknown) => e);
    expect(isRvcError(err, 'REMOTE_URL_INVALID')).toBe(true);
    const shown = JSON.stringify((err as RvcError).toJSON());
    expect(shown).not.toContain(secret);
    expect((err as RvcError).hint).toBeTruthy();
  });

  it('rejects credentials in endpointurl without echoing them', async () => {
    const err = await openRemote('s3://bucket/p', { endpointurl: `http://key:${secret}@127.0.0.1:9000` }).catch((e: unknown) => e);
    expect(isRvcError(err, 'REMOTE_URL_INVALID')).toBe(true);
    expect(JSON.stringify((err as RvcError).toJSON())).not.toContain(secret);
  });

  it.each(['http://example.com/store', 'ftp://host/x', 'azure://container/x', '', 's3://', 's3://bad bucket/x', 's3://b/p?x=1'])(
    'rejects %j with a hint',
    async (url) => {
      const err = await openRemote(url).catch((e: unknown) => e);
      expect(isRvcError(err, 'REMOTE_URL_INVALID')).toBe(true);
      expect((err as RvcError).hint).toBeTruthy();
    },
  );

  it('parses the supported forms', () => {
    expect(parseRemoteUrl('s3://bucket/a/b/')).toEqual({ scheme: 's3', bucket: 'bucket', prefix: 'a/b' });
    expect(parseRemoteUrl('gs://bucket')).toEqual({ scheme: 'gs', bucket: 'bucket', prefix: '' });
    expect(parseRemoteUrl('file:///srv/store')).toEqual({ scheme: 'local', path: '/srv/store' });
    expect(parseRemoteUrl('../store', '/repo/root')).toEqual({ scheme: 'local', path: '/repo/store' });
    expect(parseRemoteUrl('/abs/store', '/repo')).toEqual({ scheme: 'local', path: '/abs/store' });
    expect(parseRemoteUrl('~/store')).toEqual({ scheme: 'local', path: path.join(os.homedir(), 'store') });
  });

  it('validates numeric options', async () => {
    expect(await codeOf(openRemote(tmp, { jobs: 0 }))).toBe('CONFIG_INVALID');
    expect(await codeOf(openRemote(tmp, { jobs: 'many' }))).toBe('CONFIG_INVALID');
    const r = await openRemote(tmp, { jobs: '3' });
    expect(r.jobs).toBe(3);
    expect((await openRemote(tmp)).jobs).toBe(4 * os.availableParallelism());
  });
});
