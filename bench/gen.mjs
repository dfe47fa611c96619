#!/usr/bin/env node
// Deterministic benchmark datasets for bench/core.sh. Every run writes identical bytes.
//
//   node bench/gen.mjs small  DEST   50,000 files x 2 KiB: DEST/d000..d099/f0000.bin..f0499.bin
//   node bench/gen.mjs medium DEST   1,000 files x 1 MiB:  DEST/m0000.bin..m0999.bin
//   node bench/gen.mjs large  DEST   one 1 GiB file:       DEST/large.bin
//   node bench/gen.mjs tiny   DEST   2,000 files x 2 KiB:  DEST/d000..d003/f0000.bin..f0499.bin
//                                    (a seconds-long smoke test of bench/core.sh)
//   node bench/gen.mjs mutate FILE   rewrite FILE in place with different bytes of the same size
//                                    (every byte + 1 mod 256: each call gives new content)
//
// Content comes from xorshift128 seeded per dataset through splitmix32, produced 32 bits at a
// time into large buffers (about 1 GB/s), stored little-endian whatever the machine.
// Prints nothing but errors.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const BLOCK = 64 * MiB;

const SEEDS = { small: 0x5eed0001, medium: 0x5eed0002, large: 0x5eed0003, tiny: 0x5eed0004 };

/** splitmix32: spreads a seed over the four xorshift128 state words. */
function splitmix32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A stream of pseudo-random bytes; fill() continues where the previous call stopped. */
class Stream {
  constructor(seed) {
    const sm = splitmix32(seed);
    this.x = sm() | 1;
    this.y = sm();
    this.z = sm();
    this.w = sm();
  }

  /** Fills buf (its length a multiple of 4) with the next buf.length bytes. */
  fill(buf) {
    const u32 = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
    let { x, y, z, w } = this;
    for (let i = 0; i < u32.length; i++) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
      u32[i] = w;
    }
    this.x = x;
    this.y = y;
    this.z = z;
    this.w = w;
    if (os.endianness() === 'BE') buf.swap32();
    return buf;
  }
}

function die(msg) {
  process.stderr.write(`gen.mjs: ${msg}\n`);
  process.exit(2);
}

function prepareDest(dest) {
  if (fs.existsSync(dest) && fs.readdirSync(dest).length > 0) die(`${dest} exists and is not empty`);
  fs.mkdirSync(dest, { recursive: true });
}

/** Writes nfiles of `size` bytes, cut in order from one stream; name(i) is the relative path. */
function writeFiles(dest, seed, nfiles, size, name) {
  const stream = new Stream(seed);
  const perBlock = Math.max(1, Math.floor(BLOCK / size));
  const block = Buffer.allocUnsafe(Math.min(nfiles, perBlock) * size);
  const made = new Set();
  for (let first = 0; first < nfiles; first += perBlock) {
    const count = Math.min(perBlock, nfiles - first);
    stream.fill(block.subarray(0, count * size));
    for (let j = 0; j < count; j++) {
      const file = path.join(dest, name(first + j));
      const dir = path.dirname(file);
      if (!made.has(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      fs.writeFileSync(file, block.subarray(j * size, (j + 1) * size));
    }
  }
}

function writeLarge(dest, seed, size) {
  const stream = new Stream(seed);
  const block = Buffer.allocUnsafe(BLOCK);
  const fd = fs.openSync(path.join(dest, 'large.bin'), 'w');
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(BLOCK, size - done);
      const chunk = stream.fill(block.subarray(0, n));
      let off = 0;
      while (off < n) off += fs.writeSync(fd, chunk, off, n - off);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Adds 1 (mod 256) to every byte of file, in place: same inode, same size, new mtime. */
function mutate(file) {
  const fd = fs.openSync(file, 'r+');
  try {
    const buf = Buffer.allocUnsafe(BLOCK);
    for (let pos = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, BLOCK, pos);
      if (n === 0) break;
      for (let i = 0; i < n; i++) buf[i] = (buf[i] + 1) & 0xff;
      let off = 0;
      while (off < n) off += fs.writeSync(fd, buf, off, n - off, pos + off);
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

const pad = (n, w) => String(n).padStart(w, '0');

function main() {
  const [kind, dest] = process.argv.slice(2);
  if (!kind || !dest) die('usage: node bench/gen.mjs small|medium|large|tiny DEST  |  node bench/gen.mjs mutate FILE');
  switch (kind) {
    case 'small':
      prepareDest(dest);
      writeFiles(dest, SEEDS.small, 50_000, 2 * KiB, (i) => path.join(`d${pad(Math.floor(i / 500), 3)}`, `f${pad(i % 500, 4)}.bin`));
      break;
    case 'tiny':
      prepareDest(dest);
      writeFiles(dest, SEEDS.tiny, 2_000, 2 * KiB, (i) => path.join(`d${pad(Math.floor(i / 500), 3)}`, `f${pad(i % 500, 4)}.bin`));
      break;
    case 'medium':
      prepareDest(dest);
      writeFiles(dest, SEEDS.medium, 1_000, MiB, (i) => `m${pad(i, 4)}.bin`);
      break;
    case 'large':
      prepareDest(dest);
      writeLarge(dest, SEEDS.large, GiB);
      break;
    case 'mutate':
      mutate(dest);
      break;
    default:
      die(`unknown kind '${kind}' (small, medium, large, tiny or mutate)`);
  }
}

try {
  main();
} catch (e) {
  die(e instanceof Error ? e.message : String(e));
}
