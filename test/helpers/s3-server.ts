/**
 * An S3 endpoint for tests: s3rver on 127.0.0.1 with an ephemeral port, in a temporary folder,
 * or a real S3 bucket when RVC_TEST_S3_URL is set (see docs/remotes.md).
 *
 * s3rver runs in a child process started with --openssl-legacy-provider: it signs its
 * ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 only offers through the
 * legacy provider, and enabling that in the test process itself would change its crypto.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { RemoteOptions } from '../../src/remote/index.js';

/** s3rver's fixed development credentials (any other key is refused with InvalidAccessKeyId). */
export const S3RVER_KEY = 'S3RVER';

export interface S3Server {
  /** http://127.0.0.1:port */
  endpoint: string;
  port: number;
  bucket: string;
  /** The server's storage folder (objects are files below `<dir>/<bucket>/`). */
  dir: string;
  stop(): Promise<void>;
}

const CHILD = `
const S3rver = require(process.argv[1]);
const dir = process.argv[2];
const buckets = JSON.parse(process.argv[3]);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dir,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'),
  (err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); },
);
// The parent holds our stdin open; when it goes away (even killed), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`;

export async function startS3Server(opts: { buckets?: string[] } = {}): Promise<S3Server> {
  const buckets = opts.buckets ?? ['rvc-test'];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rvc-s3rver-'));
  const s3rverMain = createRequire(import.meta.url).resolve('s3rver');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', CHILD, s3rverMain, dir, JSON.stringify(buckets)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch (e) {
        reject(e);
      }
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${stderr}`)));
    child.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket: buckets[0]!,
    dir,
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Where an S3 contract or transfer test runs: a URL plus the options to open it with. */
export interface S3Target {
  /** s3://bucket/prefix, unique to this target so runs never see each other's objects. */
  url: string;
  options: RemoteOptions;
  /** The loopback endpoint, when the target is s3rver (tests that need a proxy in front use it). */
  server?: S3Server;
  stop(): Promise<void>;
}

/**
 * s3rver by default; a real bucket when RVC_TEST_S3_URL is set (with RVC_TEST_S3_ENDPOINT for
 * an S3-compatible store and the usual AWS_* variables for credentials and region). Each target
 * gets a fresh random prefix; on a real bucket everything under it is deleted by stop().
 */
export async function s3Target(): Promise<S3Target> {
  const real = process.env.RVC_TEST_S3_URL;
  const run = `rvc-test-${randomUUID()}`;
  if (real) {
    const url = `${real.replace(/\/+$/, '')}/${run}`;
    const options: RemoteOptions = {
      ...(process.env.RVC_TEST_S3_ENDPOINT ? { endpointurl: process.env.RVC_TEST_S3_ENDPOINT } : {}),
      retry: { retries: 6, baseMs: 100, maxMs: 2000 },
    };
    return { url, options, stop: () => deleteAll(url, options) };
  }
  const server = await startS3Server();
  return {
    url: `s3://${server.bucket}/${run}`,
    options: s3rverOptions(server.endpoint),
    server,
    stop: () => server.stop(),
  };
}

/** Options that reach s3rver (or a proxy in front of it) at `endpoint`. */
export function s3rverOptions(endpoint: string): RemoteOptions {
  return {
    endpointurl: endpoint,
    region: 'us-east-1',
    accesskeyid: S3RVER_KEY,
    secretaccesskey: S3RVER_KEY,
    retry: { retries: 6, baseMs: 2, maxMs: 40 },
    connecttimeout: 5,
    readtimeout: 20,
  };
}

async function deleteAll(url: string, options: RemoteOptions): Promise<void> {
  const { openRemote } = await import('../../src/remote/index.js');
  const remote = await openRemote(url, options);
  try {
    const keys: string[] = [];
    for await (const k of remote.list()) keys.push(k);
    const pLimit = (await import('p-limit')).default;
    const limit = pLimit(16);
    await Promise.all(keys.map((k) => limit(() => remote.delete(k))));
  } finally {
    await remote.close();
  }
}
