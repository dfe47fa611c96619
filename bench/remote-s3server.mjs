#!/usr/bin/env node
// The local S3 server for bench/remote.sh: s3rver on 127.0.0.1, an ephemeral port, objects kept
// in a folder, bucket `bench` created empty.
//
//   node bench/remote-s3server.mjs [DIR]
//
// Prints one line, `http://127.0.0.1:PORT`, once the server accepts requests, then runs until it
// gets SIGTERM or SIGINT (s3rver itself also stops when this process dies, even by SIGKILL). DIR (default: a new temporary folder, removed at exit)
// holds the stored objects. Credentials: access key and secret `S3RVER`.
//
// s3rver runs in a child process started with --openssl-legacy-provider: it signs its
// ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 only offers through the
// legacy provider; this process leaves its own crypto alone.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const BUCKET = 'bench';

const CHILD = `
const S3rver = require(process.argv[1]);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.argv[2],
  configureBuckets: [{ name: process.argv[3] }],
});
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'),
  (err) => { process.stderr.write(String((err && err.stack) || err) + '\\n'); process.exit(1); },
);
// The parent holds our stdin open; when it goes away (even killed), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`;

const given = process.argv[2];
const dir = given ? path.resolve(given) : fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-bench-s3rver-'));
fs.mkdirSync(dir, { recursive: true });
const s3rverMain = createRequire(import.meta.url).resolve('s3rver');

const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD, s3rverMain, dir, BUCKET], {
  stdio: ['pipe', 'pipe', 'inherit'],
});

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  const finish = () => {
    clearTimeout(timer);
    if (!given) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  if (child.exitCode !== null || child.signalCode !== null) finish();
  else child.once('exit', finish);
}

child.once('exit', (code) => {
  if (!stopping) {
    process.stderr.write(`remote-s3server: s3rver exited with ${code}\n`);
    stop(1);
  }
});
child.once('error', (e) => {
  process.stderr.write(`remote-s3server: ${e.message}\n`);
  stop(1);
});
createInterface({ input: child.stdout }).once('line', (line) => {
  const { port } = JSON.parse(line);
  process.stdout.write(`http://127.0.0.1:${port}\n`);
});

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
