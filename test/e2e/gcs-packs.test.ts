/**
 * A GCS remote end to end with packs and chunks: the official client against the loopback JSON
 * API server (helpers/gcs-server.ts). Small files go up packed, a large file as chunks and a
 * chunk list; a fresh clone pulls them byte-exact; gc --cloud repacks an old sparse pack there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeRepo, rmrf, rvcAsyncOk, rvcOk, tmpDir, writeTree } from '../helpers/cli.js';
import { startGcsServer, type GcsServer } from '../helpers/gcs-server.js';

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
let gcs: GcsServer;
beforeAll(async () => {
  gcs = await startGcsServer({ buckets: ['rvc-gcs-packs'] });
});
afterAll(async () => {
  await gcs?.stop();
  made.forEach(rmrf);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

function commitAndClone(dir: string, msg: string): string {
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', msg]);
  const c = track(tmpDir('rvc-clone-'));
  git(c, ['clone', '-q', dir, '.']);
  return c;
}

function expectBytes(dir: string, files: Record<string, Buffer>): void {
  for (const [rel, data] of Object.entries(files)) expect(fs.readFileSync(path.join(dir, rel)).equals(data), rel).toBe(true);
}

const keys = (prefix: string): string[] => [...gcs.objects().keys()].filter((k) => k.startsWith(prefix));

describe('packs and chunks on a GCS remote', () => {
  it('push packs 120 small files and chunks a large one; a fresh clone pulls byte-exact; status --cloud is clean; gc --cloud repacks an old sparse pack; a second clone pulls byte-exact and fsck --cloud is clean', async () => {
    const dir = track(makeRepo());
    rvcOk(dir, ['config', 'cache.chunk_threshold', String(1024 * 1024)]);
    const files: Record<string, Buffer> = { 'big.bin': randomBytes(3 * 1024 * 1024) };
    for (let i = 0; i < 120; i++) files[`data/f${String(i).padStart(3, '0')}.txt`] = Buffer.from(`small file ${i}\n`.repeat(1 + (i % 5)));
    writeTree(dir, files);
    rvcOk(dir, ['add', 'data', 'big.bin']);
    rvcOk(dir, ['remote', 'add', '-d', 'gcs', 'gs://rvc-gcs-packs/p']);
    rvcOk(dir, ['remote', 'modify', 'gcs', 'endpointurl', gcs.endpoint]);
    rvcOk(dir, ['remote', 'modify', 'gcs', 'projectid', 'rvc-test']);
    const pushed = json(await rvcAsyncOk(dir, ['push', '--json']));
    expect(pushed.failedCount).toBe(0);
    expect(keys('p/packs/blake3/').filter((k) => k.endsWith('.idx')).length).toBeGreaterThanOrEqual(1);
    expect(keys('p/blake3/').filter((k) => k.endsWith('.chunks'))).toHaveLength(1);
    // No small file went up loose.
    const loose = keys('p/blake3/').filter((k) => !k.endsWith('.chunks'));
    expect(loose.length).toBeLessThan(20);

    const c = commitAndClone(dir, 'v1');
    await rvcAsyncOk(c, ['pull']);
    expectBytes(c, files);
    expect(json(await rvcAsyncOk(c, ['status', '--cloud', '--json'])).counts).toMatchObject({ new: 0, deleted: 0, missing: 0 });

    // Drop 80 of the 120 small files and replace the large one: the first pack's live share
    // falls below a half, and the old chunk list and its chunks are dead.
    files['big.bin'] = randomBytes(3 * 1024 * 1024);
    fs.writeFileSync(path.join(dir, 'big.bin'), files['big.bin']);
    for (let i = 0; i < 80; i++) {
      const rel = `data/f${String(i).padStart(3, '0')}.txt`;
      fs.rmSync(path.join(dir, rel));
      delete files[rel];
    }
    rvcOk(dir, ['add', 'data', 'big.bin']);
    await rvcAsyncOk(dir, ['push']);
    const lists = keys('p/blake3/').filter((k) => k.endsWith('.chunks'));
    expect(lists).toHaveLength(2);
    // Make the packs older than gc's grace period (a day), as if pushed long ago.
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000).toISOString();
    for (const [k, o] of gcs.objects()) if (k.startsWith('p/packs/')) o.created = old;
    const gc = json(await rvcAsyncOk(dir, ['gc', '-w', '-c', '--json']));
    expect(gc.cloud.packs.removed.map((p: any) => p.action)).toContain('repacked');
    expect(gc.cloud.packs.written).toBeGreaterThanOrEqual(1);
    expect(keys('p/blake3/').filter((k) => k.endsWith('.chunks'))).toHaveLength(1);

    const c2 = commitAndClone(dir, 'v2');
    await rvcAsyncOk(c2, ['pull']);
    expectBytes(c2, files);
    expect(fs.readdirSync(path.join(c2, 'data'))).toHaveLength(40);
    const f = json(await rvcAsyncOk(c2, ['fsck', '--cloud', '--json']));
    expect(f.corrupt).toEqual([]);
    expect(f.incomplete).toEqual([]);
  }, 60_000);
});
