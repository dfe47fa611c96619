/**
 * Damaged packs and chunk lists on a folder remote: gc --cloud leaves a pack it cannot read whole
 * and says so, fsck --cloud --repair replaces a damaged pack (saving what it and the cache still
 * hold, naming what is lost), and fsck --cloud checks that a chunk list's chunks make up its file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { distinctBytes, git, makeRepo, rmrf, rvc, rvcOk, tmpDir, writeTree } from '../helpers/cli.js';
import { ageFiles, cacheObject, writePacks } from '../helpers/remote-packs.js';
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

function commit(dir: string, msg: string): void {
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', msg]);
}

function cloneOf(dir: string): string {
  const c = track(tmpDir('rvc-clone-'));
  git(c, ['clone', '-q', dir, '.']);
  return c;
}

const pointerOid = (dir: string, pointer: string): string => /oid: (\S+)/.exec(fs.readFileSync(path.join(dir, pointer), 'utf8'))![1]!;

/** A folder's files as the cache's manifest lists them: path → oid, in manifest order. */
function manifest(dir: string, pointer: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const line of fs.readFileSync(cacheObject(dir, pointerOid(dir, pointer)), 'utf8').split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { path: string; oid: string };
    files.set(e.path, e.oid);
  }
  return files;
}

/** The packs of a folder remote: id → entries (oid, offset, length) from its index. */
function packsOf(store: string): Map<string, { oid: string; offset: number; length: number }[]> {
  const dir = path.join(store, 'packs/blake3');
  const out = new Map<string, { oid: string; offset: number; length: number }[]>();
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.idx'))) {
    const entries = fs.readFileSync(path.join(dir, name), 'utf8').split('\n').slice(3).filter(Boolean).map((l) => {
      const [oid, offset, length] = l.split(' ');
      return { oid: oid!, offset: Number(offset), length: Number(length) };
    });
    out.set(name.slice(0, -'.idx'.length), entries);
  }
  return out;
}

describe('gc --cloud and a damaged pack the cache cannot stand in for', () => {
  it('a sparse pack cut short before its only live object: gc removes what else is dead, leaves the pack and its index, and reports it with the repair command', async () => {
    const dir = track(makeRepo());
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 6; i++) files[`x/x${i}`] = distinctBytes(2000);
    writeTree(dir, files);
    rvcOk(dir, ['add', 'x']);
    commit(dir, 'v1');
    rvcOk(dir, ['push']);
    const v1Tree = pointerOid(dir, 'x.rvc');
    const v1 = [...manifest(dir, 'x.rvc').values()];
    for (let i = 1; i < 6; i++) writeTree(dir, { [`x/x${i}`]: distinctBytes(2000) });
    rvcOk(dir, ['add', 'x']);
    commit(dir, 'v2');
    rvcOk(dir, ['push']);
    // v1's files in one old pack, x0 (still live) last; then the pack is cut inside x0.
    const remote = await openRemote(store);
    opened.push(remote);
    const [id] = await writePacks(dir, remote, [[...v1].reverse()]);
    const packFile = path.join(store, 'packs/blake3', `${id}.pack`);
    fs.truncateSync(packFile, fs.statSync(packFile).size - 500);
    ageFiles(store, [id!]);
    fs.rmSync(cacheObject(dir, v1[0]!), { force: true });
    const v1TreeFile = path.join(store, 'blake3', v1Tree.slice(0, 2), v1Tree.slice(2));
    expect(fs.existsSync(v1TreeFile)).toBe(true);

    const r = rvc(dir, ['gc', '-w', '-c', '--json']);
    expect(r.code).toBe(1);
    const res = json(r);
    expect(res.cloud.packs.damaged).toEqual([{ algo: 'blake3', id, key: `packs/blake3/${id}.pack`, unreadable: [v1[0]] }]);
    expect(res.cloud.packs.removed).toEqual([]);
    // The rest of the work was done: v1's manifest, dead, is gone from the remote.
    expect(res.cloud.removed).toContain(`blake3/${v1Tree.slice(0, 2)}/${v1Tree.slice(2)}`);
    expect(fs.existsSync(v1TreeFile)).toBe(false);
    expect(fs.existsSync(packFile)).toBe(true);
    expect(fs.existsSync(path.join(store, 'packs/blake3', `${id}.idx`))).toBe(true);

    const h = rvc(dir, ['gc', '-w', '-c']);
    expect(h.code).toBe(1);
    expect(h.stderr).toContain(`pack packs/blake3/${id}.pack on remote 'store' is damaged`);
    expect(h.stderr).toContain(v1[0]);
    expect(h.stderr).toContain('rvc fsck --cloud --repair');
  });
});

describe('fsck --cloud --repair of a damaged pack', () => {
  it('a pack cut short: what the cache holds goes into a new pack, the pack and its index go, the object only it held is named lost, and a push from a clone that has it uploads it again', () => {
    const dir = track(makeRepo());
    const store = track(tmpDir('rvc-store-'));
    const files: Record<string, string> = {};
    for (let i = 0; i < 70; i++) files[`data/f${String(i).padStart(2, '0')}.txt`] = `small file ${i}\n`.repeat(1 + (i % 5));
    writeTree(dir, files);
    rvcOk(dir, ['add', 'data']);
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['push']);
    commit(dir, 'data');
    const other = cloneOf(dir);
    rvcOk(other, ['pull']);

    const packs = packsOf(store);
    expect(packs.size).toBe(1);
    const [[id, entries]] = [...packs];
    const byOid = new Map([...manifest(dir, 'data.rvc')].map(([p, o]) => [o, `data/${p}`]));
    const victim = entries!.filter((e) => byOid.has(e.oid)).sort((a, b) => b.offset - a.offset)[0]!;
    const packFile = path.join(store, 'packs/blake3', `${id}.pack`);
    fs.truncateSync(packFile, victim.offset + 3);
    fs.rmSync(cacheObject(dir, victim.oid));

    const f = rvc(dir, ['fsck', '--cloud', '--repair', '--json']);
    expect(f.code).toBe(0);
    const res = json(f);
    expect(res.damagedPacks).toEqual([`packs/blake3/${id}.pack`]);
    expect(res.replacedPacks).toEqual([{
      key: `packs/blake3/${id}.pack`, rewritten: entries!.length - 1,
      lost: [{ oid: victim.oid, key: `blake3/${victim.oid.slice(0, 2)}/${victim.oid.slice(2)}`, paths: [byOid.get(victim.oid)] }],
    }]);
    expect(fs.existsSync(packFile)).toBe(false);
    expect(fs.existsSync(packFile.replace(/\.pack$/, '.idx'))).toBe(false);
    const after = packsOf(store);
    expect([...after.values()].flat().map((e) => e.oid).sort()).toEqual(entries!.map((e) => e.oid).filter((o) => o !== victim.oid).sort());

    // The clone that still has it uploads it again; a fresh clone then pulls everything.
    const pushed = json(rvcOk(other, ['push', '--json']));
    expect(pushed.transferred).toBeGreaterThanOrEqual(1);
    const fresh = cloneOf(dir);
    rvcOk(fresh, ['pull']);
    for (const [rel, text] of Object.entries(files)) expect(fs.readFileSync(path.join(fresh, rel), 'utf8'), rel).toBe(text);
  });
});

describe('fsck --cloud of a chunked file', () => {
  it('a chunk list naming another existing chunk is corrupt (its chunks do not make the file); --repair removes it and push sends it again', () => {
    const dir = track(makeRepo());
    const store = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['config', 'cache.chunk_threshold', String(1024 * 1024)]);
    const big = randomBytes(3 * 1024 * 1024);
    fs.writeFileSync(path.join(dir, 'big.bin'), big);
    rvcOk(dir, ['add', 'big.bin']);
    rvcOk(dir, ['remote', 'add', '-d', 'store', store]);
    rvcOk(dir, ['push']);
    commit(dir, 'big');
    const oid = pointerOid(dir, 'big.bin.rvc');
    const listKey = `blake3/${oid.slice(0, 2)}/${oid.slice(2)}.chunks`;
    const listFile = path.join(store, listKey);
    const [head, ...lines] = fs.readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    // The second chunk's line names the first chunk instead; the total follows, so the list parses.
    lines[1] = lines[0]!;
    const total = lines.reduce((n, l) => n + Number(l.split(' ')[1]), 0);
    fs.writeFileSync(listFile, `${head!.split(' ').slice(0, 3).join(' ')} ${total}\n${lines.join('\n')}\n`);

    // From a clone with an empty cache: every chunk is read from the remote.
    const c = cloneOf(dir);
    const r = rvc(c, ['fsck', '--cloud', '--json']);
    expect(r.code).toBe(1);
    expect(json(r).corrupt).toEqual([{ oid: `${oid}.chunks`, key: listKey, paths: [] }]);
    const rep = rvc(c, ['fsck', '--cloud', '--repair', '--json']);
    expect(rep.code).toBe(0);
    expect(json(rep).removed).toEqual([listKey]);
    expect(fs.existsSync(listFile)).toBe(false);
    rvcOk(dir, ['push']);
    rvcOk(c, ['pull']); // the list enters the cache only if its chunks make up the file
    expect(fs.readFileSync(path.join(c, 'big.bin')).equals(big)).toBe(true);
  });
});
