import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { rvc, rvcOk, rvcAsyncOk, makeRepo, git, tmpDir, rmrf } from '../helpers/cli.js';
import { startS3Server, S3RVER_KEY } from '../helpers/s3-server.js';

const MiB = 1024 * 1024;
const made: string[] = [];
const track = (d: string): string => (made.push(d), d);
afterAll(() => made.forEach(rmrf));

/** Every file below `dir` (relative paths). */
function files(dir: string): string[] {
  const out: string[] = [];
  const rec = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) rec(path.join(d, e.name));
      else out.push(path.relative(dir, path.join(d, e.name)));
    }
  };
  if (fs.existsSync(dir)) rec(dir);
  return out;
}
const objects = (cacheOrRemote: string): string[] => files(path.join(cacheOrRemote, 'blake3'));
const pointerOid = (dir: string, p: string): string => /oid: ([0-9a-f]{64})/.exec(fs.readFileSync(path.join(dir, `${p}.rvc`), 'utf8'))![1]!;
const listOf = (root: string, oid: string): string[] =>
  fs.readFileSync(path.join(root, 'blake3', oid.slice(0, 2), `${oid.slice(2)}.chunks`), 'utf8').trim().split('\n').slice(1).map((l) => l.split(' ')[0]!);
const objPath = (root: string, oid: string): string => path.join(root, 'blake3', oid.slice(0, 2), oid.slice(2));

/** A repository whose files of 4 MiB and more are chunked, with `big.bin` (v1) added and committed. */
function chunkedRepo(v1: Buffer, linkTypes?: string): string {
  const dir = track(makeRepo());
  rvcOk(dir, ['config', 'cache.chunk_threshold', String(4 * MiB)]);
  if (linkTypes) rvcOk(dir, ['config', 'cache.type', linkTypes]);
  fs.writeFileSync(path.join(dir, 'big.bin'), v1);
  const ino = fs.statSync(path.join(dir, 'big.bin')).ino;
  rvcOk(dir, ['add', 'big.bin']);
  // Nothing in the cache can be linked to: add leaves the file it stored as it is.
  expect(fs.statSync(path.join(dir, 'big.bin')).ino).toBe(ino);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'v1']);
  return dir;
}

/** v1 with 1 KiB changed in the middle. */
function changedInMiddle(v1: Buffer): Buffer {
  const v2 = Buffer.from(v1);
  randomBytes(1024).copy(v2, v1.length >> 1);
  return v2;
}

describe('chunked files', () => {
  it('add keeps only chunks; a second version with a change in the middle stores and pushes a few chunks; pull into an empty cache; gc keeps shared chunks; fsck finds a damaged chunk', () => {
    const v1 = randomBytes(16 * MiB);
    const dir = chunkedRepo(v1, 'hardlink,copy');
    const cache = path.join(dir, '.rvc/cache');
    const oid1 = pointerOid(dir, 'big.bin');
    // 1. No whole copy in the cache: a chunk list beside its place and the chunks.
    expect(fs.existsSync(objPath(cache, oid1))).toBe(false);
    const chunks1 = listOf(cache, oid1);
    expect(chunks1.length).toBeGreaterThan(5);
    expect(objects(cache).length).toBe(new Set(chunks1).size + 1);
    // 2. Checkout reassembles it byte for byte (a copy: no cache file has its content).
    fs.rmSync(path.join(dir, 'big.bin'));
    rvcOk(dir, ['checkout', 'big.bin']);
    expect(fs.readFileSync(path.join(dir, 'big.bin')).equals(v1)).toBe(true);
    expect(rvcOk(dir, ['status']).stdout).toContain('up to date');

    const remote = track(tmpDir('rvc-chunk-remote-'));
    rvcOk(dir, ['remote', 'add', '-d', 'r', remote]);
    rvcOk(dir, ['push']);
    expect(objects(remote).length).toBe(objects(cache).length);

    // 3. Version 2: a few new chunks locally and on the remote.
    const v2 = changedInMiddle(v1);
    fs.chmodSync(path.join(dir, 'big.bin'), 0o644);
    fs.writeFileSync(path.join(dir, 'big.bin'), v2);
    const before = objects(cache).length;
    rvcOk(dir, ['add', 'big.bin']);
    const oid2 = pointerOid(dir, 'big.bin');
    const added = objects(cache).length - before;
    expect(added).toBeGreaterThanOrEqual(2); // the list and at least one chunk
    expect(added).toBeLessThanOrEqual(4);
    const onRemote = objects(remote).length;
    rvcOk(dir, ['push']);
    expect(objects(remote).length - onRemote).toBe(added);
    expect(rvcOk(dir, ['status', '--cloud']).stdout).toContain('in sync');
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'v2']);

    // 4. A clone with an empty cache pulls the list and chunks and gets v2 byte for byte.
    const clone = track(tmpDir('rvc-chunk-clone-'));
    git(clone, ['clone', '-q', dir, '.']);
    rvcOk(clone, ['pull']);
    expect(fs.readFileSync(path.join(clone, 'big.bin')).equals(v2)).toBe(true);
    expect(fs.existsSync(objPath(path.join(clone, '.rvc/cache'), oid2))).toBe(false);
    expect(rvcOk(clone, ['fsck']).stdout).toContain('all good');

    // 5. gc of the workspace (v2) removes v1's list and its own chunks, keeps the shared ones.
    const chunks2 = new Set(listOf(cache, oid2));
    const only1 = new Set(chunks1.filter((c) => !chunks2.has(c)));
    expect(only1.size).toBeGreaterThan(0);
    rvcOk(dir, ['gc', '-w', '-f']);
    expect(objects(cache).length).toBe(chunks2.size + 1);
    for (const c of chunks2) expect(fs.existsSync(objPath(cache, c))).toBe(true);
    fs.rmSync(path.join(dir, 'big.bin'), { force: true });
    rvcOk(dir, ['checkout', 'big.bin']);
    expect(fs.readFileSync(path.join(dir, 'big.bin')).equals(v2)).toBe(true);

    // 6. fsck finds a damaged chunk and names it.
    const victim = [...chunks2][2]!;
    fs.chmodSync(objPath(cache, victim), 0o644);
    const fd = fs.openSync(objPath(cache, victim), 'r+');
    fs.writeSync(fd, Buffer.from('X'), 0, 1, 100);
    fs.closeSync(fd);
    const f = rvc(dir, ['fsck']);
    expect(f.code).not.toBe(0);
    expect(f.stdout + f.stderr).toContain(victim);
  });

  it('pull reads a file\'s packed chunks by pack: they stay packed in the cache, none becomes a loose file', () => {
    // About 80 chunks, some 15 of them of at most 1 MiB, which push packs (with 70 small files,
    // so that it packs at all: at least 64 packable objects) beside the small files.
    const big = randomBytes(96 * MiB);
    const dir = chunkedRepo(big);
    fs.mkdirSync(path.join(dir, 'small'));
    for (let i = 0; i < 70; i++) fs.writeFileSync(path.join(dir, 'small', `f${i}`), randomBytes(2048));
    rvcOk(dir, ['add', 'small']);
    const remote = track(tmpDir('rvc-chunk-remote-'));
    rvcOk(dir, ['remote', 'add', '-d', 'r', remote]);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'small files and a remote']);
    rvcOk(dir, ['push']);
    const oid = pointerOid(dir, 'big.bin');
    const chunks = listOf(path.join(dir, '.rvc/cache'), oid);
    const packedOnRemote = chunks.filter((c) => !fs.existsSync(objPath(remote, c)));
    expect(packedOnRemote.length).toBeGreaterThanOrEqual(3);
    const clone = track(tmpDir('rvc-chunk-clone-'));
    git(clone, ['clone', '-q', dir, '.']);
    rvcOk(clone, ['pull']);
    expect(fs.readFileSync(path.join(clone, 'big.bin')).equals(big)).toBe(true);
    const cloneCache = path.join(clone, '.rvc/cache');
    expect(packedOnRemote.filter((c) => fs.existsSync(objPath(cloneCache, c)))).toEqual([]);
    expect(fs.readdirSync(path.join(cloneCache, 'packed', 'blake3')).filter((n) => n.endsWith('.pack')).length).toBeGreaterThan(0);
    expect(rvcOk(clone, ['fsck']).stdout).toContain('all good');
  });

  it('a chunk damaged on the remote is refused and named, and the file is not placed', () => {
    const v1 = randomBytes(8 * MiB);
    const dir = chunkedRepo(v1);
    const remote = track(tmpDir('rvc-chunk-remote-'));
    rvcOk(dir, ['remote', 'add', '-d', 'r', remote]);
    rvcOk(dir, ['push']);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'remote']);
    const victim = listOf(remote, pointerOid(dir, 'big.bin'))[1]!;
    fs.chmodSync(objPath(remote, victim), 0o644);
    fs.appendFileSync(objPath(remote, victim), 'junk');
    const clone = track(tmpDir('rvc-chunk-clone-'));
    git(clone, ['clone', '-q', dir, '.']);
    const r = rvc(clone, ['pull']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${victim.slice(0, 2)}/${victim.slice(2)}`);
    expect(r.stderr).toMatch(/does not match/);
    expect(fs.existsSync(path.join(clone, 'big.bin'))).toBe(false);
    // Nothing damaged entered the cache, and the list waits for a good chunk.
    expect(fs.existsSync(objPath(path.join(clone, '.rvc/cache'), victim))).toBe(false);
    expect(files(path.join(clone, '.rvc/cache')).some((f) => f.endsWith('.chunks'))).toBe(false);
    // fsck --cloud names the damaged chunk and the list that needs it; repair, push, and the pull works.
    const check = rvc(dir, ['fsck', '--cloud']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(victim.slice(2));
    expect(check.stdout).toContain('.chunks');
    rvcOk(dir, ['fsck', '--cloud', '--repair']);
    rvcOk(dir, ['push']);
    expect(rvcOk(dir, ['fsck', '--cloud']).stdout).toContain('all good');
    rvcOk(clone, ['pull']);
    expect(fs.readFileSync(path.join(clone, 'big.bin')).equals(v1)).toBe(true);
  });

  it('a chunk list on the remote whose sound chunks make another file (or the same chunks out of order) is refused: nothing placed, no list kept', () => {
    const v1 = randomBytes(8 * MiB);
    const dir = chunkedRepo(v1);
    const other = randomBytes(8 * MiB);
    fs.writeFileSync(path.join(dir, 'other.bin'), other);
    rvcOk(dir, ['add', 'other.bin']);
    const remote = track(tmpDir('rvc-chunk-remote-'));
    rvcOk(dir, ['remote', 'add', '-d', 'r', remote]);
    rvcOk(dir, ['push']);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '-q', '-m', 'two files and a remote']);
    const oid = pointerOid(dir, 'big.bin');
    const listFile = `${objPath(remote, oid)}.chunks`;
    const own = fs.readFileSync(listFile, 'utf8');
    const forge = (text: string): void => {
      fs.chmodSync(listFile, 0o644);
      fs.writeFileSync(listFile, text);
    };
    const refused = (): void => {
      const clone = track(tmpDir('rvc-chunk-clone-'));
      git(clone, ['clone', '-q', dir, '.']);
      const r = rvc(clone, ['pull', 'big.bin']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`${oid.slice(2)}.chunks`);
      expect(fs.existsSync(path.join(clone, 'big.bin'))).toBe(false);
      expect(files(path.join(clone, '.rvc/cache')).some((f) => f.endsWith('.chunks'))).toBe(false);
    };
    // The list of the other file under this file's name: every chunk it names is sound.
    forge(fs.readFileSync(`${objPath(remote, pointerOid(dir, 'other.bin'))}.chunks`, 'utf8'));
    refused();
    // This file's own chunks, the first two swapped.
    const lines = own.trimEnd().split('\n');
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    forge(lines.join('\n') + '\n');
    refused();
    forge(own);
    const clone = track(tmpDir('rvc-chunk-clone-'));
    git(clone, ['clone', '-q', dir, '.']);
    rvcOk(clone, ['pull', 'big.bin']);
    expect(fs.readFileSync(path.join(clone, 'big.bin')).equals(v1)).toBe(true);
  });

  it('push --run-cache sends the entry of a run whose output the remote holds as chunks', () => {
    const dir = track(makeRepo());
    rvcOk(dir, ['config', 'cache.chunk_threshold', String(4 * MiB)]);
    rvcOk(dir, ['stage', 'add', '-n', 'gen', '-o', 'out.bin', `head -c ${5 * MiB} /dev/urandom > out.bin`]);
    rvcOk(dir, ['repro']);
    const remote = track(tmpDir('rvc-chunk-remote-'));
    rvcOk(dir, ['remote', 'add', '-d', 'r', remote]);
    rvcOk(dir, ['push', '--run-cache']);
    expect(files(remote).some((f) => f.endsWith('.chunks'))).toBe(true);
    expect(files(remote).filter((f) => f.startsWith('runs/'))).toHaveLength(1);
  });

  it('round-trips through S3; gc --cloud keeps the chunks shared with the kept version; a whole object from before chunking still reads', async () => {
    const s3 = await startS3Server({ buckets: ['chunks'] });
    try {
      const env = { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY, AWS_REGION: 'us-east-1' };
      const v1 = randomBytes(8 * MiB);
      const dir = chunkedRepo(v1);
      rvcOk(dir, ['remote', 'add', '-d', 's3', 's3://chunks/p']);
      rvcOk(dir, ['remote', 'modify', 's3', 'endpointurl', s3.endpoint]);
      // An old whole object (added before chunking existed) beside the chunked file.
      const old = randomBytes(5 * MiB);
      fs.writeFileSync(path.join(dir, 'old.bin'), old);
      rvcOk(dir, ['config', 'cache.chunk_threshold', String(1024 * MiB)]);
      rvcOk(dir, ['add', 'old.bin']);
      rvcOk(dir, ['config', 'cache.chunk_threshold', String(4 * MiB)]);
      await rvcAsyncOk(dir, ['push'], env);
      const v2 = changedInMiddle(v1);
      fs.chmodSync(path.join(dir, 'big.bin'), 0o644);
      fs.writeFileSync(path.join(dir, 'big.bin'), v2);
      rvcOk(dir, ['add', 'big.bin']);
      await rvcAsyncOk(dir, ['push'], env);
      git(dir, ['add', '-A']);
      git(dir, ['commit', '-q', '-m', 'v2']);
      // gc --cloud from a clone whose cache is empty keeps only v2: it reads v2's chunk list from
      // the remote to keep its chunks (shared ones included), and removes v1's list and own chunks.
      const clone = track(tmpDir('rvc-chunk-clone-'));
      git(clone, ['clone', '-q', dir, '.']);
      const oid1 = /oid: ([0-9a-f]{64})/.exec(git(dir, ['show', 'HEAD~1:big.bin.rvc']))![1]!;
      const gc = JSON.parse((await rvcAsyncOk(clone, ['gc', '-w', '--cloud', '-f', '--json'], env)).stdout) as { cloud: { removed: string[] } };
      expect(gc.cloud.removed).toContain(`blake3/${oid1.slice(0, 2)}/${oid1.slice(2)}.chunks`);
      expect(gc.cloud.removed.length).toBeGreaterThanOrEqual(2);
      expect(gc.cloud.removed.length).toBeLessThanOrEqual(4);
      const st = await rvcAsyncOk(clone, ['status', '--cloud'], env);
      expect(st.stdout).toContain('deleted: 2');
      await rvcAsyncOk(clone, ['pull'], env);
      expect(fs.readFileSync(path.join(clone, 'big.bin')).equals(v2)).toBe(true);
      expect(fs.readFileSync(path.join(clone, 'old.bin')).equals(old)).toBe(true);
      expect(fs.existsSync(objPath(path.join(clone, '.rvc/cache'), pointerOid(clone, 'old.bin')))).toBe(true);
    } finally {
      await s3.stop();
    }
  });
});
