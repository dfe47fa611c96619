/**
 * Kill-loop helpers: run the real rvc binary, SIGKILL it after N ms, and inspect what it left.
 *
 * A snapshot records, byte for byte (as hashes), everything a crash could damage: every
 * workspace file (including hidden ones, so a temp file left beside the data is seen), every
 * pointer, rvc.lock, and the set of cache objects. The checks compare a snapshot taken after a
 * kill with the snapshots before and after an uninterrupted run of the same command.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { RVC_BIN } from './cli.js';
import { CHUNKS_SUFFIX, parseChunkList } from '../../src/model/chunks.js';
import { parsePackIndex, type PackIndex } from '../../src/model/pack.js';
import { LOCAL_PACK_ROOT } from '../../src/odb/local-packs.js';

/** rvc's temp-file names (src/fsutil/atomic.ts tempPathFor): `.<name>.<pid>.<8 hex>.tmp`. */
export const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

export interface KillRun {
  /** True when the process was still running at the kill. */
  killed: boolean;
  /** Exit code when it finished before the kill. */
  code: number | null;
  ms: number;
  stderr: string;
}

/**
 * Runs rvc and sends SIGKILL after `killAfterMs` (no kill when undefined). Waits until the
 * process is gone and no process it left behind (a git helper, a pipeline stage command) still
 * works inside `waitDir`, so the state inspected afterwards is final.
 */
export async function runRvc(cwd: string, args: string[], opts: { env?: Record<string, string>; killAfterMs?: number; waitDir?: string } = {}): Promise<KillRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [RVC_BIN, ...args], {
    cwd, env: { ...process.env, NO_COLOR: '1', ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let killed = false;
  const timer = opts.killAfterMs !== undefined
    ? setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    }, opts.killAfterMs)
    : undefined;
  // A hung rvc must fail the run, not block it.
  const guard = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  clearTimeout(guard);
  const ms = Date.now() - started;
  await waitForOrphans(opts.waitDir ?? cwd);
  return { killed, code: killed ? null : code, ms, stderr };
}

/** Processes whose working directory is inside `dir` (Linux /proc; elsewhere none are seen). */
export function processesIn(dir: string): number[] {
  const out: number[] = [];
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  const real = fs.realpathSync(dir);
  for (const p of pids) {
    if (Number(p) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${p}/cwd`);
      if (cwd === real || cwd.startsWith(real + path.sep)) out.push(Number(p));
    } catch {
      // gone, or not ours to look at
    }
  }
  return out;
}

export async function waitForOrphans(dir: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processesIn(dir).length) {
    if (Date.now() > deadline) throw new Error(`processes still running in ${dir}: ${processesIn(dir).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const CHUNK = 4 << 20;
let chunk: Buffer | undefined;

/** Hash of bytes, computed here (not by rvc). */
function hashBufferWith(algo: 'blake3' | 'sha256', data: Buffer): string {
  if (algo === 'blake3') {
    const h = new Blake3Hasher();
    h.update(data);
    return h.digest('hex');
  }
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of a file's content, computed here (not by rvc) so a wrong rvc hash cannot hide. */
export function hashFileWith(algo: 'blake3' | 'sha256', file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = (chunk ??= Buffer.allocUnsafe(CHUNK));
    if (algo === 'blake3') {
      const h = new Blake3Hasher();
      for (let n; (n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0;) h.update(buf.subarray(0, n));
      return h.digest('hex');
    }
    const h = createHash('sha256');
    for (let n; (n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0;) h.update(buf.subarray(0, n));
    return h.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

export interface Snapshot {
  /** Workspace files outside .git/ and .rvc/ (pointers, rvc.lock, .gitignore, data): path → content hash. */
  files: Map<string, string>;
  /** Cache objects `<algo>/<oid>` (including `.tree` manifests). */
  objects: Set<string>;
  /** Run-cache entries `<algo>/<key>` and their content hashes. */
  runs: Map<string, string>;
  /** rvc temp files anywhere in the repository (workspace and .rvc/), as repository paths. */
  temps: string[];
}

/**
 * Everything a crash could damage. Each workspace file is hashed (BLAKE3 of its bytes); a
 * symlink is recorded by its target.
 */
export function snapshot(root: string): Snapshot {
  const files = new Map<string, string>();
  const temps: string[] = [];
  const walk = (abs: string, rel: string, inRvc: boolean): void => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const a = path.join(abs, d.name);
      if (!rel && d.name === '.git') continue;
      if (TEMP_NAME.test(d.name)) temps.push(r);
      if (d.isDirectory()) {
        walk(a, r, inRvc || (!rel && d.name === '.rvc'));
      } else if (!inRvc && !TEMP_NAME.test(d.name)) {
        files.set(r, d.isSymbolicLink() ? `link:${fs.readlinkSync(a)}` : hashFileWith('blake3', a));
      }
    }
  };
  walk(root, '', false);
  const objects = new Set<string>();
  const runs = new Map<string, string>();
  for (const algo of ['blake3', 'sha256'] as const) {
    for (const { shard, name } of shardEntries(path.join(root, '.rvc/cache', algo))) {
      if (!TEMP_NAME.test(name)) objects.add(`${algo}/${shard}${name}`);
    }
    const runsDir = path.join(root, '.rvc/cache/runs', algo);
    for (const { shard, name } of shardEntries(runsDir)) {
      if (!TEMP_NAME.test(name)) runs.set(`${algo}/${shard}${name}`, hashFileWith('blake3', path.join(runsDir, shard, name)));
    }
  }
  return { files, objects, runs, temps: temps.sort() };
}

function shardEntries(dir: string): { shard: string; name: string }[] {
  const out: { shard: string; name: string }[] = [];
  let shards: string[];
  try {
    shards = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const shard of shards) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of fs.readdirSync(path.join(dir, shard))) out.push({ shard, name });
  }
  return out;
}

/**
 * Re-hashes every cache object and returns the ones whose content does not match their name,
 * plus manifests that do not parse. Done here, independently of `rvc fsck`.
 */
export function corruptObjects(root: string): string[] {
  const bad: string[] = [];
  for (const algo of ['blake3', 'sha256'] as const) {
    const dir = path.join(root, '.rvc/cache', algo);
    for (const { shard, name } of shardEntries(dir)) {
      if (TEMP_NAME.test(name)) continue;
      const file = path.join(dir, shard, name);
      if (name.endsWith(CHUNKS_SUFFIX)) {
        // A chunk list is named by its file's oid: it must parse, and its chunks (when all are
        // here) must hash together to that oid.
        const whole = shard + name.slice(0, -CHUNKS_SUFFIX.length);
        try {
          const chunks = parseChunkList(fs.readFileSync(file), algo, file);
          const paths = chunks.map((c) => path.join(dir, c.oid.slice(0, 2), c.oid.slice(2)));
          if (paths.every((p) => fs.existsSync(p)) && hashBufferWith(algo, Buffer.concat(paths.map((p) => fs.readFileSync(p)))) !== whole) bad.push(`${algo}/${shard}${name} (chunks do not make up the file)`);
        } catch {
          bad.push(`${algo}/${shard}${name} (chunk list does not parse)`);
        }
        continue;
      }
      const digest = shard + name.replace(/\.tree$/, '');
      if (hashFileWith(algo, file) !== digest) {
        bad.push(`${algo}/${shard}${name}`);
        continue;
      }
      if (name.endsWith('.tree')) {
        try {
          readManifest(file);
        } catch {
          bad.push(`${algo}/${shard}${name} (manifest does not parse)`);
        }
      }
    }
  }
  for (const algo of ['blake3', 'sha256'] as const) bad.push(...corruptPacked(root, algo));
  return bad;
}

/**
 * Objects of the cache's local packs (`packed/<algo>/<id>.pack` + `.idx`) whose bytes do not
 * hash to their oid, and indexes that do not parse. An index whose pack is gone holds nothing.
 */
function corruptPacked(root: string, algo: 'blake3' | 'sha256'): string[] {
  const bad: string[] = [];
  const dir = path.join(root, '.rvc/cache', LOCAL_PACK_ROOT, algo);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return bad;
  }
  for (const name of names) {
    if (!name.endsWith('.idx') || TEMP_NAME.test(name)) continue;
    const id = name.slice(0, -'.idx'.length);
    const packFile = path.join(dir, `${id}.pack`);
    if (!fs.existsSync(packFile)) continue;
    let index: PackIndex;
    try {
      index = parsePackIndex(fs.readFileSync(path.join(dir, name), 'utf8'), algo, name);
    } catch {
      bad.push(`${LOCAL_PACK_ROOT}/${algo}/${name} (index does not parse)`);
      continue;
    }
    const data = fs.readFileSync(packFile);
    for (const e of index.entries) {
      const bytes = data.subarray(e.offset, e.offset + e.length);
      if (bytes.length !== e.length || hashBufferWith(algo, bytes) !== e.oid.replace(/\.tree$/, '')) bad.push(`${LOCAL_PACK_ROOT}/${algo}/${id}.pack: ${e.oid}`);
    }
  }
  return bad;
}

/** A manifest: one JSON object per line. */
function readManifest(file: string): { path: string; oid: string }[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { path: string; oid: string });
}

/** Manifests in the cache that list a file the cache does not hold. */
export function treesWithMissingFiles(root: string): string[] {
  const out: string[] = [];
  for (const algo of ['blake3', 'sha256'] as const) {
    const dir = path.join(root, '.rvc/cache', algo);
    for (const { shard, name } of shardEntries(dir)) {
      if (!name.endsWith('.tree') || TEMP_NAME.test(name)) continue;
      const entries = readManifest(path.join(dir, shard, name));
      const at = (oid: string): string => path.join(dir, oid.slice(0, 2), oid.slice(2));
      // A file is there whole, or as its chunk list with every chunk it names.
      const held = (oid: string): boolean => fs.existsSync(at(oid)) || (fs.existsSync(at(oid) + CHUNKS_SUFFIX) && (() => {
        try {
          return parseChunkList(fs.readFileSync(at(oid) + CHUNKS_SUFFIX), algo, oid).every((c) => fs.existsSync(at(c.oid)));
        } catch {
          return false;
        }
      })());
      const missing = entries.filter((e) => !held(e.oid));
      if (missing.length) out.push(`${algo}/${shard}${name} lacks ${missing.length} of ${entries.length} files`);
    }
  }
  return out;
}

/**
 * Files whose state after a kill is neither their state before the command nor after it
 * (absent counts as a state). `skip` leaves out paths a check cannot judge.
 */
export function neitherOldNorNew(mid: Snapshot, before: Snapshot, after: Snapshot, skip: (p: string) => boolean = () => false): string[] {
  const all = new Set([...before.files.keys(), ...after.files.keys(), ...mid.files.keys()]);
  const bad: string[] = [];
  for (const p of all) {
    if (skip(p)) continue;
    const m = mid.files.get(p);
    if (m !== before.files.get(p) && m !== after.files.get(p)) bad.push(p);
  }
  return bad.sort();
}

/** Differences between two snapshots, as readable lines (empty when equal). */
export function diffSnapshots(a: Snapshot, b: Snapshot, opts: { runs?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const p of new Set([...a.files.keys(), ...b.files.keys()])) {
    if (a.files.get(p) !== b.files.get(p)) out.push(`file ${p}: ${a.files.has(p) ? 'differs' : 'only in the second'}${b.files.has(p) ? '' : ' (missing from the second)'}`);
  }
  for (const o of a.objects) if (!b.objects.has(o)) out.push(`object ${o} missing from the second`);
  for (const o of b.objects) if (!a.objects.has(o)) out.push(`object ${o} only in the second`);
  if (opts.runs !== false) {
    for (const k of new Set([...a.runs.keys(), ...b.runs.keys()])) {
      if (a.runs.get(k) !== b.runs.get(k)) out.push(`run-cache entry ${k} differs`);
    }
  }
  return out.sort();
}

/** Kill points spread evenly over an uninterrupted run of `ms`, from 3 % to 97 % of it. */
export function killPoints(ms: number, n: number): number[] {
  if (n <= 0) return [];
  if (n === 1) return [Math.round(ms / 2)];
  return Array.from({ length: n }, (_, i) => Math.round(ms * (0.03 + (0.94 * i) / (n - 1))));
}

/**
 * Writes `bytes` of incompressible content, the same for the same seed: a 1 MiB block derived
 * from the seed, with each 1 MiB of the file stamped with its index so no two are equal.
 */
export function writeBigFile(file: string, bytes: number, seed = 0): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const block = Buffer.allocUnsafe(1 << 20);
  let state = createHash('sha256').update(`seed ${seed}`).digest();
  for (let o = 0; o < block.length; o += 32) {
    state = createHash('sha256').update(state).digest();
    state.copy(block, o);
  }
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0, i = 0; done < bytes; i++) {
      for (let o = 0; o < block.length; o += 65536) block.writeUInt32LE(i, o);
      const n = Math.min(block.length, bytes - done);
      fs.writeSync(fd, block, 0, n);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** `n` small files below `dir`, in folders of 200, contents distinct and derived from `version`. */
export function writeManyFiles(dir: string, n: number, version = 1): void {
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, `d${String(Math.floor(i / 200)).padStart(3, '0')}`);
    if (i % 200 === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}.txt`), `file ${i} version ${version}\n${'x'.repeat(i % 700)}\n`);
  }
}

/** Removes a path even where rvc left read-only files or folders. */
export function forceRemove(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    const chmod = (q: string): void => {
      try {
        const st = fs.lstatSync(q);
        if (st.isDirectory()) {
          fs.chmodSync(q, 0o755);
          for (const n of fs.readdirSync(q)) chmod(path.join(q, n));
        }
      } catch {
        // gone
      }
    };
    chmod(p);
    fs.rmSync(p, { recursive: true, force: true });
  }
}
