// Chunker throughput on one core: cuts a buffer of random bytes held in memory (no I/O), so the
// figure is the gear-hash loop alone. Usage: node bench/chunking.mjs [MiB=256] [rounds=3]
// (run `npx tsc -p tsconfig.json` first: it loads dist/).
import { randomBytes } from 'node:crypto';
import { chunkBuffer } from '../dist/hashing/chunker.js';

const mib = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 3);
const buf = randomBytes(mib * 1024 * 1024);
chunkBuffer(buf.subarray(0, 16 * 1024 * 1024)); // warm up the JIT
let best = Infinity;
let chunks = 0;
for (let r = 0; r < rounds; r++) {
  const cpu0 = process.cpuUsage();
  chunks = chunkBuffer(buf).length;
  const cpu = process.cpuUsage(cpu0);
  best = Math.min(best, (cpu.user + cpu.system) / 1e6);
}
const gbs = buf.length / best / 1e9;
console.log(`chunked ${mib} MiB into ${chunks} chunks (mean ${(buf.length / chunks / 1024).toFixed(0)} KiB): ${gbs.toFixed(2)} GB/s of CPU time on one core (best of ${rounds})`);
