#!/usr/bin/env node
// Baselines for bench/remote.sh: what the S3 SDK alone does against the same server, with the
// same client settings rvc uses (path-style endpoint, checksums only where required, keep-alive
// agent with as many sockets), so the ratio rvc / baseline measures rvc's own overhead.
//
//   node bench/remote-baseline.mjs put      --dir DIR  --prefix P [--jobs N]   (a)
//   node bench/remote-baseline.mjs get      --dir DIR  --prefix P --dest D [--jobs N]   (b)
//   node bench/remote-baseline.mjs list     --prefix P                          (c)
//   node bench/remote-baseline.mjs upload   --file F   --key K [--part-size B] [--queue-size N]   (d)
//   node bench/remote-baseline.mjs download --key K    --dest F                 (e)
//
// Common options: --endpoint URL (required), --bucket B (default `bench`).
// Credentials come from the standard AWS environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
//
// (a) put: one PutObject per file under DIR (read whole, sent as a buffer), `jobs` at a time
//     with p-limit; the key is P/<path relative to DIR>, so DIR = .rvc/cache gives rvc's keys.
// (b) get: one GetObject per file under DIR (the same keys), streamed to D/<relative path>.
// (c) list: one paginated ListObjectsV2 of P/ (1000 keys per page, each page waiting for the
//     previous continuation token).
// (d) upload: one lib-storage `Upload` (multipart above the part size) of F, streamed from disk.
// (e) download: one GetObject of K streamed to F.
//
// Prints one JSON line: { op, objects, bytes, seconds } (seconds measured inside the process,
// after the SDK is loaded). --jobs defaults to rvc's default (4 x available cores).

import fs from 'node:fs';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MiB = 1024 * 1024;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    endpoint: { type: 'string' },
    bucket: { type: 'string', default: 'bench' },
    prefix: { type: 'string', default: '' },
    dir: { type: 'string' },
    dest: { type: 'string' },
    file: { type: 'string' },
    key: { type: 'string' },
    jobs: { type: 'string' },
    'part-size': { type: 'string', default: String(8 * MiB) },
    'queue-size': { type: 'string', default: '4' },
    order: { type: 'string', default: 'shuffled' },
  },
});

function die(msg) {
  process.stderr.write(`remote-baseline: ${msg}\n`);
  process.exit(2);
}

const op = positionals[0];
if (!['put', 'get', 'list', 'upload', 'download'].includes(op ?? '')) die('usage: put | get | list | upload | download (see the header of this file)');
if (!values.endpoint) die('--endpoint is required');
const need = (name) => values[name] ?? die(`--${name} is required for ${op}`);
const jobs = Number(values.jobs ?? 4 * os.availableParallelism());
const bucket = values.bucket;
const prefix = values.prefix.replace(/^\/+|\/+$/g, '');
const keyOf = (rel) => (prefix === '' ? rel : `${prefix}/${rel}`);

const [{ S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command }, { Upload }, { default: pLimit }] =
  await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage'), import('p-limit')]);

const QUEUE_SIZE = Number(values['queue-size']);
// The same client rvc builds for a remote with an endpointurl (src/remote/s3.ts).
const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(jobs + QUEUE_SIZE * 4, 16) });
const client = new S3Client({
  endpoint: values.endpoint,
  forcePathStyle: true,
  region: 'us-east-1',
  maxAttempts: 3,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
  requestHandler: { connectionTimeout: 10_000, socketTimeout: 60_000, httpAgent: agent },
});

/**
 * Every regular file under dir, as a '/'-separated path relative to it: in a fixed pseudo-random
 * order by default (`--order shuffled`), else in directory order (`--order listing`, shard by shard).
 */
async function filesUnder(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const rels = entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join('/'))
    .sort();
  if (values.order === 'shuffled') {
    let s = 0x9e3779b9;
    const rand = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 2 ** 32;
    };
    for (let i = rels.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [rels[i], rels[j]] = [rels[j], rels[i]];
    }
  } else if (values.order !== 'listing') die('--order is shuffled or listing');
  return rels;
}

const t0 = performance.now();
let objects = 0;
let bytes = 0;

switch (op) {
  case 'put': {
    const dir = need('dir');
    const rels = await filesUnder(dir);
    const limit = pLimit(jobs);
    await Promise.all(
      rels.map((rel) =>
        limit(async () => {
          const body = await readFile(path.join(dir, rel));
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(rel), Body: body, ContentLength: body.length }));
          objects++;
          bytes += body.length;
        }),
      ),
    );
    break;
  }
  case 'get': {
    const dir = need('dir');
    const dest = need('dest');
    const rels = await filesUnder(dir);
    await Promise.all([...new Set(rels.map((r) => path.posix.dirname(r)))].map((d) => mkdir(path.join(dest, d), { recursive: true })));
    const limit = pLimit(jobs);
    await Promise.all(
      rels.map((rel) =>
        limit(async () => {
          const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(rel) }));
          await pipeline(res.Body, fs.createWriteStream(path.join(dest, rel)));
          objects++;
          bytes += res.ContentLength ?? 0;
        }),
      ),
    );
    break;
  }
  case 'list': {
    let token;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix === '' ? '' : `${prefix}/`, MaxKeys: 1000, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        objects++;
        bytes += o.Size ?? 0;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    break;
  }
  case 'upload': {
    const file = need('file');
    const size = (await stat(file)).size;
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: need('key'), Body: fs.createReadStream(file), ContentLength: size },
      partSize: Number(values['part-size']),
      queueSize: QUEUE_SIZE,
      leavePartsOnError: true,
    });
    await upload.done();
    objects = 1;
    bytes = size;
    break;
  }
  case 'download': {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: need('key') }));
    await pipeline(res.Body, fs.createWriteStream(need('dest')));
    objects = 1;
    bytes = res.ContentLength ?? 0;
    break;
  }
}

const seconds = (performance.now() - t0) / 1000;
client.destroy();
agent.destroy();
process.stdout.write(JSON.stringify({ op, objects, bytes, seconds: Number(seconds.toFixed(6)) }) + '\n');
