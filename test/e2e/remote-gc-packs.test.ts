/**
 * gc --cloud on packed remotes: dead packs deleted, sparse ones repacked, young and dense ones
 * left alone, a loose copy of a packed object dropped, `--repack` packing a loose remote. The
 * packs are written with the library's PackWriter from the repository's own cache; what the
 * remote holds afterwards is read back and re-hashed by the test (helpers/remote-packs.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, distinctBytes, git, makeRepo, readTree, rmrf, rvc, rvcOk, tmpDir, writeTree } from '../helpers/cli.js';
import { startS3Server, s3rverOptions, type S3Server } from '../helpers/s3-server.js';
import { ageFiles, cacheObject, viewRemote, writePacks } from '../helpers/remote-packs.js';
import { openRemote, type Remote } from '../../src/remote/index.js';

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
const opened: Remote[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
  while (made.length) rmrf(made.pop()!);
});

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

/** The oids a pointer file records, its folder's files included (read from the cache's manifest). */
function pointerOids(dir: string, pointer: string): { top: string; files: Map<string, string> } {
  const top = /oid: (\S+)/.exec(fs.readFileSync(path.join(dir, pointer), 'utf8'))![1]!;
  const files = new Map<string, string>();
  if (top.endsWith('.tree')) {
    for (const line of fs.readFileSync(cacheObject(dir, top), 'utf8').split('\n').filter(Boolean)) {
      const e = JSON.parse(line) as { path: string; oid: string };
      files.set(e.path, e.oid);
    }
  }
  return { top, files };
}

function commit(dir: string, msg: string): void {
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-qm', msg]);
}

/** Every live object is readable byte-exact from the remote. */
function expectReadable(dir: string, objects: Map<string, Buffer>, live: string[]): void {
  for (const oid of live) {
    expect(objects.get(oid)?.equals(fs.readFileSync(cacheObject(dir, oid))), `live object ${oid}`).toBe(true);
  }
}

describe('gc --cloud on a packed folder remote', () => {
  it('deletes a dead pack, repacks a sparse one, keeps a young and a dense one, drops a loose duplicate and an old orphan pack but not a young one; --dry changes nothing', async () => {
    const dir = track(makeRepo());
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    const files: Record<string, Buffer> = { 'keep.bin': distinctBytes(5000) };
    for (let i = 0; i < 4; i++) files[`a/a${i}`] = distinctBytes(2000);
    for (let i = 0; i < 6; i++) files[`b/b${i}`] = distinctBytes(3000);
    writeTree(dir, files);
    rvcOk(dir, ['add', 'a', 'b', 'keep.bin']);
    commit(dir, 'v1');
    const a1 = pointerOids(dir, 'a.rvc');
    const b1 = pointerOids(dir, 'b.rvc');
    const keep = pointerOids(dir, 'keep.bin.rvc').top;
    // v2: a is no longer tracked, b1…b5 change (b0 stays).
    rvcOk(dir, ['remove', 'a.rvc']);
    for (let i = 1; i < 6; i++) writeTree(dir, { [`b/b${i}`]: distinctBytes(3000) });
    rvcOk(dir, ['add', 'b']);
    commit(dir, 'v2');
    rvcOk(dir, ['push', '--all-commits']);
    const b2 = pointerOids(dir, 'b.rvc');
    const aFiles = [...a1.files.values()];
    const b1Files = [...b1.files.values()];
    const b2Files = [...b2.files.values()];
    const remote = await openRemote(store);
    opened.push(remote);
    const ids = await writePacks(dir, remote, [
      [a1.top, ...aFiles], // all dead
      b1Files, // only b0 is live: a sixth of its bytes
      [aFiles[0]!, keep], // written "just now" by another machine: left alone
      [b2.top, ...b2Files.slice(1), keep], // all live
    ], { keepLoose: [b2Files[1]!] });
    // Packs without an index: one left by an interrupted upload long ago, one being uploaded now.
    const oldOrphan = '1'.repeat(64);
    const youngOrphan = '2'.repeat(64);
    writeTree(store, { [`packs/blake3/${oldOrphan}.pack`]: 'old', [`packs/blake3/${youngOrphan}.pack`]: 'young' });
    expect(ageFiles(store, [ids[0]!, ids[1]!, ids[3]!, oldOrphan])).toBe(7);

    const before = readTree(store);
    const usage = rvc(dir, ['gc', '-w', '--repack']);
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringMatching(/--repack works on a remote: it needs --cloud/)]);
    const dry = json(rvcOk(dir, ['gc', '-w', '-c', '--dry', '--json']));
    expect(readTree(store)).toEqual(before);
    const actions = (r: any): string[] => r.cloud.packs.removed.map((p: any) => `${p.action} ${p.id}`).sort();
    expect(actions(dry)).toEqual([`dead ${ids[0]}`, `repacked ${ids[1]}`, `orphan ${oldOrphan}`].sort());
    expect(dry.cloud.packs).toMatchObject({ young: 1, kept: 1, looseDropped: 1, packedLoose: 0 });
    expect(rvcOk(dir, ['gc', '-w', '-c', '--dry']).stdout).toMatch(/would delete 1 pack with no live object, would repack 1 sparse pack, would remove 1 orphan pack file, would drop 1 loose copy a pack also holds/);

    const r = json(rvcOk(dir, ['gc', '-w', '-c', '--json']));
    expect(actions(r)).toEqual(actions(dry));
    expect(r.cloud.packs).toMatchObject({ written: 1, young: 1, kept: 1 });
    expect(r.cloud.packs.bytes).toBeGreaterThan(4 * 2000 + 5 * 3000);
    const view = await viewRemote(remote, track(tmpDir('rvc-view-')));
    const fresh = [...view.packs.keys()].filter((id) => !ids.includes(id));
    expect(fresh).toHaveLength(1);
    expect([...view.packs.keys()].sort()).toEqual([ids[2]!, ids[3]!, fresh[0]!].sort());
    expect(view.packs.get(fresh[0]!)).toEqual([b1Files[0]]);
    expect(view.orphans).toEqual([`packs/blake3/${youngOrphan}.pack`]);
    expect(view.loose.has(b2Files[1]!)).toBe(false);
    expectReadable(dir, view.objects, [b2.top, ...b2Files, keep]);
    // Dead objects are gone, but for the one the young pack holds.
    const dead = [a1.top, ...aFiles, b1.top, ...b1Files.slice(1)];
    expect(dead.filter((o) => view.objects.has(o))).toEqual([aFiles[0]]);
  });
});

describe('gc --cloud after an interrupted repack (library, memory remote)', () => {
  it('an old sparse pack whose live objects a new pack already holds is deleted, nothing is written again', async () => {
    type Lib = typeof import('../../src/index.js');
    const lib = (await import(path.join(ROOT, 'dist/index.js'))) as Lib;
    // The same module instance the library uses, so the test sees the remote it writes.
    const { namedMemoryRemote } = (await import(path.join(ROOT, 'dist/remote/memory.js'))) as typeof import('../../src/remote/memory.js');
    const dir = track(makeRepo());
    const url = `memory://gc-interrupted-${process.pid}`;
    rvcOk(dir, ['remote', 'add', '-d', 'mem', url]);
    for (let i = 0; i < 4; i++) writeTree(dir, { [`y/y${i}`]: distinctBytes(1500) });
    await lib.add(['y'], { cwd: dir });
    commit(dir, 'v1');
    const v1 = [...pointerOids(dir, 'y.rvc').files.values()];
    for (let i = 1; i < 4; i++) writeTree(dir, { [`y/y${i}`]: distinctBytes(1500) });
    await lib.add(['y'], { cwd: dir });
    commit(dir, 'v2');
    await lib.push({ cwd: dir });
    const mem = namedMemoryRemote(url.slice('memory://'.length));
    // What a gc killed after uploading its new pack leaves: the old sparse pack (a day old) and
    // a new one holding the old pack's only live object (y0).
    const [oldPack, newPack] = await writePacks(dir, mem, [v1, [v1[0]!]]);
    for (const ext of ['pack', 'idx']) mem.modified.set(`packs/blake3/${oldPack}.${ext}`, Date.now() - 2 * 24 * 3600 * 1000);
    const r = await lib.gc({ cwd: dir, workspace: true, cloud: true });
    expect(r.cloud!.packs.removed.map((p) => `${p.action} ${p.id}`)).toEqual([`dead ${oldPack}`]);
    expect(r.cloud!.packs).toMatchObject({ written: 0, young: 1 });
    expect([...mem.objects.keys()].filter((k) => k.startsWith('packs/')).sort()).toEqual([`packs/blake3/${newPack}.idx`, `packs/blake3/${newPack}.pack`]);
    const view = await viewRemote(mem, track(tmpDir('rvc-view-')));
    expectReadable(dir, view.objects, [...pointerOids(dir, 'y.rvc').files.values()]);
    expect(v1.slice(1).filter((o) => view.objects.has(o))).toEqual([]);
  });
});

describe('gc --cloud and a damaged pack', () => {
  it('a damaged object in a sparse pack: without a good copy in the cache gc leaves the pack, does the rest and fails naming it; with one the cache\'s copy is packed instead; a damaged index is removed', async () => {
    const dir = track(makeRepo());
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 6; i++) files[`x/x${i}`] = distinctBytes(2000);
    writeTree(dir, files);
    rvcOk(dir, ['add', 'x']);
    commit(dir, 'v1');
    const v1 = [...pointerOids(dir, 'x.rvc').files.values()];
    for (let i = 1; i < 6; i++) writeTree(dir, { [`x/x${i}`]: distinctBytes(2000) });
    rvcOk(dir, ['add', 'x']);
    commit(dir, 'v2');
    rvcOk(dir, ['push']);
    const remote = await openRemote(store);
    opened.push(remote);
    const [id] = await writePacks(dir, remote, [v1]);
    ageFiles(store, [id!]);
    // Damage the one live object (x0) in the pack: its index still lists it.
    const at = fs.readFileSync(path.join(store, 'packs/blake3', `${id}.idx`), 'utf8').split('\n').find((l) => l.startsWith(v1[0]!))!.split(' ');
    const packFile = path.join(store, 'packs/blake3', `${id}.pack`);
    const pack = fs.readFileSync(packFile);
    pack[Number(at[1]) + 7] ^= 0xff;
    fs.writeFileSync(packFile, pack);
    ageFiles(store, [id!]);
    // An index that does not match its name: every reader would refuse it, so gc removes it.
    const junkIdx = path.join(store, 'packs/blake3', `${'3'.repeat(64)}.idx`);
    fs.writeFileSync(junkIdx, 'junk');
    const good = fs.readFileSync(cacheObject(dir, v1[0]!));
    fs.rmSync(cacheObject(dir, v1[0]!), { force: true });

    const before = readTree(store);
    const refused = rvc(dir, ['gc', '-w', '-c']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`pack packs/blake3/${id}\\.pack on remote 'store' is damaged: 1 live object .*${v1[0]}`));
    expect(refused.stderr).toContain('rvc fsck --cloud --repair');
    // The rest was done (the junk index went); the pack stayed, and nothing else changed.
    expect(fs.existsSync(junkIdx)).toBe(false);
    const { [path.relative(store, junkIdx)]: _junk, ...rest } = before;
    expect(readTree(store)).toEqual(rest);

    fs.writeFileSync(cacheObject(dir, v1[0]!), good, { mode: 0o444 });
    const r = json(rvcOk(dir, ['gc', '-w', '-c', '--json']));
    expect(r.cloud.packs.removed.map((p: any) => p.action).sort()).toEqual(['repacked']);
    const view = await viewRemote(remote, track(tmpDir('rvc-view-')));
    expect(view.packs.has(id!)).toBe(false);
    expect(view.objects.get(v1[0]!)?.equals(good)).toBe(true);
  });
});

describe('gc --cloud --repack on an S3 remote', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['rvc-packs'] });
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('packs the small loose objects the scope keeps, leaves large ones loose and deletes an old dead pack', async () => {
    const dir = track(makeRepo());
    rvcOk(dir, ['remote', 'add', '-d', 's3', 's3://rvc-packs/conv']);
    rvcOk(dir, ['remote', 'modify', 's3', 'endpointurl', s3.endpoint]);
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
    const files: Record<string, Buffer> = { 'big.bin': distinctBytes((1 << 20) + 4096) };
    for (let i = 0; i < 10; i++) files[`c/c${i}`] = distinctBytes(1000 + i);
    writeTree(dir, files);
    rvcOk(dir, ['add', 'c', 'big.bin']);
    commit(dir, 'v1');
    const c1 = pointerOids(dir, 'c.rvc');
    for (let i = 0; i < 3; i++) writeTree(dir, { [`c/c${i}`]: distinctBytes(900) });
    rvcOk(dir, ['add', 'c']);
    commit(dir, 'v2');
    rvcOk(dir, ['push', '--all-commits'], env);
    const c2 = pointerOids(dir, 'c.rvc');
    const big = pointerOids(dir, 'big.bin.rvc').top;
    const remote = await openRemote('s3://rvc-packs/conv', s3rverOptions(s3.endpoint));
    opened.push(remote);
    const c1Files = [...c1.files.values()];
    const [deadPack] = await writePacks(dir, remote, [c1Files.slice(0, 3)]);
    expect(ageFiles(s3.dir, [deadPack!])).toBeGreaterThan(0);

    const r = json(rvcOk(dir, ['gc', '-w', '-c', '--repack', '--json'], env));
    expect(r.cloud.packs.removed.map((p: any) => `${p.action} ${p.id}`)).toEqual([`dead ${deadPack}`]);
    expect(r.cloud.packs).toMatchObject({ written: 1, packedLoose: 11, looseDropped: 11 });
    expect(r.cloud.removed).toHaveLength(1); // the old manifest, loose
    expect(r.cloud.kept).toBe(12); // each live object once: 11 now packed, the large one loose
    const view = await viewRemote(remote, track(tmpDir('rvc-view-')));
    expect([...view.loose]).toEqual([big]);
    expect(view.packs.size).toBe(1);
    const live = [c2.top, ...c2.files.values()];
    expect([...view.packs.values()][0]!.sort()).toEqual(live.sort());
    expectReadable(dir, view.objects, [...live, big]);
    expect([c1.top, ...c1Files.slice(0, 3)].filter((o) => view.objects.has(o))).toEqual([]);
  });
});
