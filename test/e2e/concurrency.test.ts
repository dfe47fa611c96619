import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rvcOk, rvcAsync, git, makeRepo, writeTree, readTree, rmrf, tmpDir, type RunResult } from '../helpers/cli.js';
import { hashBuffer } from '../../src/hashing/hash.js';
import { startS3Server, S3RVER_KEY, type S3Server } from '../helpers/s3-server.js';

/**
 * Several rvc processes at once on one repository or one remote: no corruption, no lost
 * pointer or rvc.lock update, and where rvc serialises, the waiting process says so and
 * carries on when the lock frees.
 */

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
afterEach(() => {
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

/** Long enough that a waiting process never gives up in these tests. */
const WAIT = { RVC_LOCK_WAIT: '60' };
const LOCK_WAIT_MSG = /waiting for '.+' \(pid \d+\) to release the repository lock/;

function files(prefix: string, n: number, salt = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) out[`${prefix}/f${i % 7}/x${i}.txt`] = `${prefix} ${salt} ${i}\n`.repeat(1 + (i % 5));
  return out;
}

function expectOk(rs: RunResult[], args: string[][]): void {
  rs.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`rvc ${args[i]!.join(' ')} exited ${r.code}\n${r.stderr}`);
  });
}

/** Runs each argument list as its own rvc process, all started at once. */
function together(cwd: string | string[], args: string[][], env: Record<string, string> = {}): Promise<RunResult[]> {
  return Promise.all(args.map((a, i) => rvcAsync(Array.isArray(cwd) ? cwd[i]! : cwd, a, env)));
}

/** Every cache object's content hashes to its name, and nothing half-written is left. */
function expectFsckClean(d: string): void {
  const r = json(rvcOk(d, ['fsck', '--json']));
  expect(r.corrupt ?? [], 'corrupt objects').toEqual([]);
  expect(r.leftovers ?? [], 'temp leftovers').toEqual([]);
}

/** Holds the repository lock as a live process would, until the returned function runs. */
function holdRepoLock(d: string, command = 'rvc test holder'): () => void {
  const file = path.join(d, '.rvc/tmp/lock');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname(), command, started: new Date().toISOString() }));
  return () => fs.rmSync(file, { force: true });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('parallel add of different paths', () => {
  it('four processes at once: every pointer and .gitignore line written, every object stored', async () => {
    const d = track(makeRepo());
    const names = ['a', 'b', 'c', 'd'];
    const all: Record<string, string> = {};
    for (const n of names) Object.assign(all, files(n, 150));
    writeTree(d, all);
    const args = names.map((n) => ['add', n]);
    expectOk(await together(d, args, WAIT), args);

    for (const n of names) {
      const ptr = fs.readFileSync(path.join(d, `${n}.rvc`), 'utf8');
      expect(ptr).toMatch(/nfiles: 150/);
    }
    const ignored = fs.readFileSync(path.join(d, '.gitignore'), 'utf8').split('\n');
    for (const n of names) expect(ignored).toContain(`/${n}`);
    expectFsckClean(d);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
    // The cache really holds the data: remove the workspace and get it back.
    for (const n of names) rmrf(path.join(d, n));
    rvcOk(d, ['checkout']);
    for (const n of names) {
      expect(readTree(path.join(d, n))).toEqual(Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(`${n}/`)).map(([k, v]) => [k.slice(2), v])));
    }
  });

  it('two processes wait for a held lock, say so, and both proceed when it frees', async () => {
    const d = track(makeRepo());
    writeTree(d, { ...files('a', 20), ...files('b', 20) });
    const release = holdRepoLock(d, 'rvc add big');
    // Released only once both have said they wait (a fixed sleep lost the race on a loaded
    // machine: a process that had not started yet then found the other add holding the lock).
    const said: Promise<void>[] = [];
    const runs = ['a', 'b'].map((n) => {
      let saidIt!: () => void;
      said.push(new Promise<void>((r) => (saidIt = r)));
      return rvcAsync(d, ['add', n], WAIT, (soFar) => {
        if (/waiting for 'rvc add big'/.test(soFar)) saidIt();
      });
    });
    await Promise.race([Promise.all(said), Promise.all(runs)]);
    // While the lock is held neither writes anything.
    expect(fs.existsSync(path.join(d, 'a.rvc'))).toBe(false);
    expect(fs.existsSync(path.join(d, 'b.rvc'))).toBe(false);
    release();
    const rs = await Promise.all(runs);
    expectOk(rs, [['add', 'a'], ['add', 'b']]);
    for (const r of rs) expect(r.stderr).toMatch(/waiting for 'rvc add big' \(pid \d+\) to release the repository lock/);
    expect(fs.existsSync(path.join(d, 'a.rvc')) && fs.existsSync(path.join(d, 'b.rvc'))).toBe(true);
    expectFsckClean(d);
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
  });
});

describe('status while add runs', () => {
  it('never fails or reports anything but the old or the new state', async () => {
    const d = track(makeRepo());
    const v1 = files('data', 3000, 'v1');
    writeTree(d, v1);
    rvcOk(d, ['add', 'data']);
    // Change a third of the files, then re-add while status runs over and over.
    const v2: Record<string, string> = {};
    Object.keys(v1).forEach((k, i) => {
      if (i % 3 === 0) v2[k] = `changed ${i}\n`;
    });
    writeTree(d, v2);
    const adding = rvcAsync(d, ['add', 'data'], WAIT);
    let done = false;
    void adding.then(() => (done = true));
    const seen = new Set<string>();
    let runs = 0;
    while (!done || runs < 2) {
      const r = await rvcAsync(d, ['status', '--json'], WAIT);
      runs++;
      if (r.code !== 0) throw new Error(`status exited ${r.code} while add ran:\n${r.stderr}`);
      const s = json(r);
      expect(s.outs).toHaveLength(1);
      const o = s.outs[0];
      // Before the new pointer lands: the old pointer, so "modified"; after: unchanged.
      expect(['modified', 'unchanged']).toContain(o.workspace);
      expect(o.inCache).toBe(true);
      if (o.workspace === 'modified') expect(o.changes.modified).toHaveLength(1000);
      // If status ever waits, it must say so rather than stall silently.
      if (r.stderr.trim()) expect(r.stderr).toMatch(LOCK_WAIT_MSG);
      seen.add(o.workspace);
      if (runs > 40) break;
    }
    expect((await adding).code).toBe(0);
    expect(seen.has('modified')).toBe(true); // status really ran while add was working
    expect(json(rvcOk(d, ['status', '--json'])).clean).toBe(true);
    expectFsckClean(d);
  });
});

describe('two pushes of overlapping data to one remote', () => {
  /** Two clones sharing half their data, each with some of its own. */
  function twoRepos(): { a: string; b: string; shared: Record<string, string> } {
    const shared = files('data', 200, 'shared');
    const a = track(makeRepo());
    const b = track(makeRepo());
    writeTree(a, { ...shared, ...files('data/only', 100, 'a'), 'model.bin': 'same weights'.repeat(1000) });
    writeTree(b, { ...shared, ...files('data/only', 100, 'b'), 'model.bin': 'same weights'.repeat(1000) });
    rvcOk(a, ['add', 'data', 'model.bin']);
    rvcOk(b, ['add', 'data', 'model.bin']);
    return { a, b, shared };
  }

  function cacheObjects(d: string): Set<string> {
    const out = new Set<string>();
    const root = path.join(d, '.rvc/cache');
    // Only the algorithm folders: the cache also holds rvc's temp folder and completeness marks.
    for (const algo of fs.readdirSync(root).filter((n) => n === 'blake3' || n === 'sha256')) {
      for (const shard of fs.readdirSync(path.join(root, algo))) {
        for (const n of fs.readdirSync(path.join(root, algo, shard))) out.add(`${algo}/${shard}/${n}`);
      }
    }
    return out;
  }

  it('to a local folder: both succeed, the remote holds exactly the union, every object verifies', async () => {
    const { a, b } = twoRepos();
    const store = track(tmpDir('rvc-store-'));
    for (const d of [a, b]) rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    const args = [['push', '--json'], ['push', '--json']];
    const rs = await together([a, b], args);
    expectOk(rs, args);
    for (const r of rs) expect(json(r).failed).toEqual([]);

    const want = new Set([...cacheObjects(a), ...cacheObjects(b)]);
    const got = new Set<string>();
    const rec = (dir: string, rel: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) rec(path.join(dir, e.name), r);
        else got.add(r);
      }
    };
    rec(store, '');
    // Small files went up in packs (one per push, so the shared ones twice): every pack has its
    // index, named by the index's hash, and every object in it hashes to its oid.
    const packFiles = [...got].filter((k) => k.startsWith('packs/'));
    const loose = [...got].filter((k) => !k.startsWith('packs/'));
    const inPacks = new Set<string>();
    for (const idx of packFiles.filter((k) => k.endsWith('.idx'))) {
      const text = fs.readFileSync(path.join(store, idx));
      expect(hashBuffer('blake3', text)).toBe(path.basename(idx, '.idx'));
      expect(got.has(idx.replace(/\.idx$/, '.pack')), idx).toBe(true);
      const pack = fs.readFileSync(path.join(store, idx.replace(/\.idx$/, '.pack')));
      for (const line of text.toString('utf8').split('\n').slice(3).filter(Boolean)) {
        const [oid, off, len] = line.split(' ') as [string, string, string];
        expect(hashBuffer('blake3', pack.subarray(Number(off), Number(off) + Number(len))), oid).toBe(oid);
        inPacks.add(`blake3/${oid.slice(0, 2)}/${oid.slice(2)}`);
      }
    }
    expect(packFiles.every((k) => /^packs\/blake3\/[0-9a-f]{64}\.(pack|idx)$/.test(k))).toBe(true); // no temp files
    expect([...new Set([...loose, ...inPacks])].sort()).toEqual([...want].sort()); // nothing missing or extra
    for (const key of loose) {
      const digest = key.split('/').slice(1).join('').replace(/\.tree$/, '');
      expect(hashBuffer(key.split('/')[0] as 'blake3', fs.readFileSync(path.join(store, key))), key).toBe(digest);
    }
    for (const d of [a, b]) expect(json(rvcOk(d, ['status', '-c', '--json'])).counts.new).toBe(0);
  });

  describe('to S3', () => {
    let s3: S3Server;
    beforeAll(async () => {
      s3 = await startS3Server();
    });
    afterAll(async () => {
      await s3?.stop();
    });

    it('both succeed and a fresh clone of each pulls byte-exact data', async () => {
      const env = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };
      const { a, b } = twoRepos();
      const url = `s3://${s3.bucket}/conc-${path.basename(a)}`;
      for (const d of [a, b]) {
        rvcOk(d, ['remote', 'add', '-d', 's3', url]);
        rvcOk(d, ['remote', 'modify', 's3', 'endpointurl', s3.endpoint]);
      }
      const args = [['push', '--json'], ['push', '--json']];
      const rs = await together([a, b], args, env);
      expectOk(rs, args);
      const moved = rs.map((r) => json(r));
      for (const m of moved) expect(m.failed).toEqual([]);
      const union = new Set([...cacheObjects(a), ...cacheObjects(b)]);
      // Objects both wanted may have been uploaded twice (same bytes), never lost.
      expect(moved[0].transferred + moved[1].transferred).toBeGreaterThanOrEqual(union.size);

      for (const d of [a, b]) {
        git(d, ['add', '-A']);
        git(d, ['commit', '-q', '-m', 'data']);
        const c = track(tmpDir('rvc-clone-'));
        git(c, ['clone', '-q', d, '.']);
        const r = await rvcAsync(c, ['pull'], env);
        expect(r.code, r.stderr).toBe(0);
        expect(readTree(path.join(c, 'data'))).toEqual(readTree(path.join(d, 'data')));
        expect(json(await rvcAsync(c, ['status', '--json'], env)).clean).toBe(true);
      }
    });
  });
});

describe('repro of independent stages from two terminals', () => {
  const PIPE = `stages:
  stageA:
    cmd: date +%s%N > a.t0 && sleep 1 && date +%s%N > a.t1 && echo A > a.txt
    outs: [a.txt]
  stageB:
    cmd: date +%s%N > b.t0 && sleep 1 && date +%s%N > b.t1 && echo B > b.txt
    outs: [b.txt]
  stageC:
    cmd: sleep 1 && echo C > c.txt
    outs: [c.txt]
  stageD:
    cmd: sleep 1 && echo D > d.txt
    outs: [d.txt]
`;

  it('two processes: both stages run side by side and rvc.lock keeps both entries', async () => {
    const d = track(makeRepo());
    writeTree(d, { 'rvc.yaml': PIPE });
    const args = [['repro', 'stageA'], ['repro', 'stageB']];
    expectOk(await together(d, args, WAIT), args);
    // Independent stages do not queue behind each other: each command started before the other ended.
    const at = (f: string): bigint => BigInt(fs.readFileSync(path.join(d, f), 'utf8').trim());
    expect(at('a.t0') < at('b.t1') && at('b.t0') < at('a.t1'), 'the two commands ran at the same time').toBe(true);
    expect(fs.readFileSync(path.join(d, 'a.txt'), 'utf8')).toBe('A\n');
    expect(fs.readFileSync(path.join(d, 'b.txt'), 'utf8')).toBe('B\n');
    const lock = fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8');
    expect(lock).toMatch(/^ {2}stageA:/m);
    expect(lock).toMatch(/^ {2}stageB:/m);
    expect(json(rvcOk(d, ['status', '--json'])).clean ?? true).toBe(true);
  });

  it('four processes: no lost rvc.lock update; the same stage twice takes turns and says so', async () => {
    const d = track(makeRepo());
    writeTree(d, { 'rvc.yaml': PIPE });
    const args = [['repro', 'stageA'], ['repro', 'stageB'], ['repro', 'stageC'], ['repro', 'stageD']];
    expectOk(await together(d, args, WAIT), args);
    const lock = fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8');
    for (const s of ['stageA', 'stageB', 'stageC', 'stageD']) expect(lock).toMatch(new RegExp(`^ {2}${s}:`, 'm'));

    // The same stage from two terminals: one runs it, the other waits for its outputs, says
    // so, and then finds it up to date (or runs it again) — never both writing a.txt at once.
    writeTree(d, { 'rvc.yaml': PIPE.replace('echo A > a.txt', 'echo A2 > a.txt') });
    const twice = [['repro', 'stageA'], ['repro', 'stageA']];
    const rs = await together(d, twice, WAIT);
    expectOk(rs, twice);
    expect(rs.some((r) => /stage 'stageA': waiting for .+ to finish with its outputs/.test(r.stderr))).toBe(true);
    expect(fs.readFileSync(path.join(d, 'a.txt'), 'utf8')).toBe('A2\n');
    const after = fs.readFileSync(path.join(d, 'rvc.lock'), 'utf8');
    for (const s of ['stageA', 'stageB', 'stageC', 'stageD']) expect(after).toMatch(new RegExp(`^ {2}${s}:`, 'm'));
  });
});
