import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { rvc, rvcOk, git, makeRepo, writeTree, rmrf, tmpDir } from '../helpers/cli.js';

/**
 * Revision scopes of gc, push, fetch and status --cloud over one repository:
 *
 *   (uncommitted add)  data/a=tmp                      → objects nothing references (O)
 *   c0 on main         data/a=a0                       → C0, only kept by --all-commits
 *   c1 on main, tag v1 data/a=a1                       → C1, at a tag but no branch tip
 *   c2 main tip        data/a=a2                       → C2
 *   c3 feature tip     data as c2, plus feat.txt       → F
 *   workspace (main)   data/a=a3, added, not committed → W
 *
 * Every version of data/ shares data/shared. Sets are compared as exact sets of object keys.
 */

const made: string[] = [];
const track = (d: string): string => (made.push(d), d);

function json<T = any>(r: { stdout: string }): T {
  return JSON.parse(r.stdout) as T;
}

/** Keys (`blake3/ab/cdef…`) of every object in a cache or remote folder. */
function objectKeys(root: string): Set<string> {
  const keys = new Set<string>();
  const base = path.join(root, 'blake3');
  if (!fs.existsSync(base)) return keys;
  for (const shard of fs.readdirSync(base)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const n of fs.readdirSync(path.join(base, shard))) if (/^[0-9a-f]+(\.tree)?$/.test(n)) keys.add(`blake3/${shard}/${n}`);
  }
  return keys;
}

const key = (oid: string): string => `blake3/${oid.slice(0, 2)}/${oid.slice(2)}`;

/** The keys one pointer references now: its oid and, for a folder, every file its manifest lists. */
function pointerKeys(dir: string, pointer: string): Set<string> {
  const oid = /oid: (\S+)/.exec(fs.readFileSync(path.join(dir, pointer), 'utf8'))![1]!;
  const keys = new Set([key(oid)]);
  if (oid.endsWith('.tree')) {
    const text = fs.readFileSync(path.join(dir, '.rvc/cache', key(oid)), 'utf8');
    for (const line of text.split('\n').filter(Boolean)) keys.add(key((JSON.parse(line) as { oid: string }).oid));
  }
  return keys;
}

const union = (...sets: Set<string>[]): Set<string> => new Set(sets.flatMap((s) => [...s]));
const sorted = (s: Iterable<string>): string[] => [...s].sort();

let dir: string;
let snapshot: string;
let c0: string;
const S: Record<'O' | 'C0' | 'C1' | 'C2' | 'F' | 'W', Set<string>> = {} as never;

function commit(msg: string): string {
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', msg]);
  return git(dir, ['rev-parse', 'HEAD']).trim();
}

function addData(a: string): Set<string> {
  writeTree(dir, { 'data/a': a, 'data/shared': 'shared by every version' });
  rvcOk(dir, ['add', 'data']);
  return pointerKeys(dir, 'data.rvc');
}

/** Puts the cache back as it was after the fixture was built. */
function restoreCache(): void {
  const cache = path.join(dir, '.rvc/cache');
  rmrf(cache);
  fs.cpSync(snapshot, cache, { recursive: true });
}

beforeAll(() => {
  dir = track(makeRepo());
  S.O = addData('tmp');
  S.C0 = addData('a0');
  c0 = commit('c0');
  S.C1 = addData('a1');
  commit('c1');
  git(dir, ['tag', '-a', 'v1', '-m', 'first release']);
  S.C2 = addData('a2');
  commit('c2');
  git(dir, ['checkout', '-q', '-b', 'feature']);
  writeTree(dir, { 'feat.txt': 'data only the feature branch has' });
  rvcOk(dir, ['add', 'feat.txt']);
  S.F = pointerKeys(dir, 'feat.txt.rvc');
  commit('c3');
  git(dir, ['checkout', '-q', 'main']);
  rmrf(path.join(dir, 'feat.txt'));
  S.W = addData('a3');
  // The shared file belongs to every version; what is unique to the orphan add is the rest.
  for (const k of S.C0) S.O.delete(k);
  snapshot = track(tmpDir('rvc-snap-'));
  fs.cpSync(path.join(dir, '.rvc/cache'), snapshot, { recursive: true });
  expect(objectKeys(path.join(dir, '.rvc/cache'))).toEqual(union(...Object.values(S)));
  expect(S.O.size).toBe(2); // the orphan version's file and manifest
}, 60_000);

afterAll(() => {
  while (made.length) rmrf(made.pop()!);
});

describe('gc scopes', () => {
  const cases: [string[], () => Set<string>][] = [
    [['--workspace'], () => S.W],
    [['--all-branches'], () => union(S.W, S.C2, S.F)],
    [['--all-tags'], () => union(S.W, S.C1)],
    [['--rev', 'v1'], () => union(S.W, S.C1)],
    [['--all-branches', '--all-tags'], () => union(S.W, S.C2, S.F, S.C1)],
    [['--all-commits'], () => union(S.W, S.C2, S.F, S.C1, S.C0)],
  ];
  for (const [flags, expected] of cases) {
    it(`gc ${flags.join(' ')} keeps exactly its set; --dry-run lists exactly what it then removes`, () => {
      restoreCache();
      const cache = path.join(dir, '.rvc/cache');
      const before = objectKeys(cache);
      const dry = json(rvcOk(dir, ['gc', ...flags, '--dry-run', '--json']));
      expect(objectKeys(cache)).toEqual(before);
      const dryKeys = dry.removed.map((x: { algo: string; oid: string }) => key(x.oid));
      expect(sorted(dryKeys)).toEqual(sorted([...before].filter((k) => !expected().has(k))));
      expect(dry.bytes).toBeGreaterThan(0);
      const real = json(rvcOk(dir, ['gc', ...flags, '--json']));
      expect(real.removed.map((x: { oid: string }) => key(x.oid))).toEqual(dryKeys);
      expect(objectKeys(cache)).toEqual(expected());
    });
  }

  it('a tag-only object survives --all-branches only with --all-tags, and the dry run says so', () => {
    restoreCache();
    const tagOnly = [...S.C1].filter((k) => !union(S.W, S.C2, S.F).has(k));
    expect(tagOnly.length).toBe(2); // v1's manifest and its version of data/a
    const human = rvcOk(dir, ['gc', '--all-branches', '--dry-run']).stdout;
    for (const k of tagOnly) expect(human).toContain(k);
    expect(human).toMatch(/Would remove 6 objects \(would free \d+ B\)/);
    const both = rvcOk(dir, ['gc', '--all-branches', '--all-tags', '--dry-run']).stdout;
    for (const k of tagOnly) expect(both).not.toContain(k);
  });

  it('refuses without a scope, and names an unknown revision', () => {
    const r = rvc(dir, ['gc', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--all-branches/);
    const bad = rvc(dir, ['gc', '--rev', 'no-such-rev', '--json']);
    expect(bad.code).toBe(1);
    expect(json(bad).error.code).toBe('REV_NOT_FOUND');
  });
});

// The tests below build on each other's remotes, in file order.
describe('push, fetch, pull and status --cloud over revisions; gc --cloud', () => {
  const cache = (): string => path.join(dir, '.rvc/cache');
  let tagsStore: string;
  let fullStore: string;
  let oneStore: string;
  const everything = (): Set<string> => union(S.W, S.C2, S.F, S.C1, S.C0);

  it('push --all-tags and --all-commits upload exactly the referenced objects; targets narrow every revision', () => {
    restoreCache();
    tagsStore = track(tmpDir('rvc-store-'));
    fullStore = track(tmpDir('rvc-store-'));
    oneStore = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', 'tags', tagsStore]);
    rvcOk(dir, ['remote', 'add', '-d', 'full', fullStore]);
    rvcOk(dir, ['remote', 'add', 'one', oneStore]);
    const r = json(rvcOk(dir, ['push', '--all-tags', '-r', 'tags', '--json']));
    expect(r.revisions).toEqual(['v1']);
    expect(r.failed).toEqual([]);
    expect(objectKeys(tagsStore)).toEqual(union(S.W, S.C1));
    expect(rvcOk(dir, ['push', '-A']).stdout).toContain(`${everything().size} files pushed`);
    expect(objectKeys(fullStore)).toEqual(everything());
    // feat.txt is tracked only on the feature branch: a target may name it with a scope.
    rvcOk(dir, ['push', '--all-branches', '-r', 'one', 'feat.txt']);
    expect(objectKeys(oneStore)).toEqual(S.F);
    const ws = rvc(dir, ['push', '-r', 'one', 'feat.txt', '--json']);
    expect(ws.code).toBe(1);
    expect(json(ws).error.code).toBe('NOT_TRACKED');
  });

  it('status --cloud --all-branches counts the objects of the workspace and every branch tip', () => {
    const st = json(rvcOk(dir, ['status', '--cloud', '--all-branches', '-r', 'tags', '--json']));
    // W (3 objects) is on the tags remote; c2's manifest and data/a and feat.txt are not.
    expect(st.counts).toEqual({ new: 3, deleted: 0, missing: 0, 'in sync': 3 });
    expect(sorted(st.objects.filter((o: any) => o.state === 'new').map((o: any) => key(o.oid)))).toEqual(sorted([...union(S.C2, S.F)].filter((k) => !S.W.has(k))));
    expect(rvc(dir, ['status', '--all-tags']).code).toBe(2); // a scope means nothing without --cloud
  });

  it('fetch --rev v1 in a fresh clone brings that tag\'s objects; pull --rev fills the cache but checks out only the workspace', () => {
    const c = track(tmpDir('rvc-clone-'));
    git(c, ['clone', '-q', dir, '.']);
    rvcOk(c, ['remote', 'add', '-d', 'full', fullStore]);
    const r = json(rvcOk(c, ['fetch', '--rev', 'v1', '--json']));
    expect(r.failed).toEqual([]);
    // The clone's workspace is main's tip (c2), which is always part of the scope.
    expect(objectKeys(path.join(c, '.rvc/cache'))).toEqual(union(S.C2, S.C1));
    expect(fs.existsSync(path.join(c, 'data'))).toBe(false);
    rvcOk(c, ['pull', '--rev', 'origin/feature']);
    expect(objectKeys(path.join(c, '.rvc/cache'))).toEqual(union(S.C2, S.C1, S.F));
    expect(fs.readFileSync(path.join(c, 'data/a'), 'utf8')).toBe('a2');
    expect(fs.existsSync(path.join(c, 'feat.txt'))).toBe(false);
  });

  it('push names an object in neither cache nor remote by revision and path, and uploads the rest', () => {
    restoreCache();
    const a0 = [...S.C0].find((k) => !k.endsWith('.tree') && !union(S.W, S.C1, S.C2).has(k))!;
    const t0 = [...S.C0].find((k) => k.endsWith('.tree'))!;
    fs.rmSync(path.join(cache(), a0));
    const empty = track(tmpDir('rvc-store-'));
    rvcOk(dir, ['remote', 'add', 'empty', empty]);
    const r = rvc(dir, ['push', '--all-commits', '-r', 'empty', '--json']);
    expect(r.code).toBe(1);
    const failed = json(r).failed as { oid: string; paths: string[]; code: string }[];
    expect(failed.find((f) => key(f.oid) === a0)).toMatchObject({ code: 'OBJECT_MISSING', paths: [`${c0.slice(0, 8)}:data/a`] });
    expect(failed.find((f) => key(f.oid) === t0)?.paths).toEqual([`${c0.slice(0, 8)}:data`]);
    expect(failed).toHaveLength(2); // the file, and its folder's manifest held back
    expect(objectKeys(empty)).toEqual(new Set([...everything()].filter((k) => k !== a0 && k !== t0)));
    expect(rvc(dir, ['push', '-A', '-r', 'empty']).stderr).toContain(`${c0.slice(0, 8)}:data/a`);
  });

  it('gc fetches a referenced manifest missing from the cache (verified), and refuses when it cannot', () => {
    restoreCache();
    const t1 = [...S.C1].find((k) => k.endsWith('.tree'))!;
    fs.rmSync(path.join(cache(), t1));
    const r = json(rvcOk(dir, ['gc', '--all-tags', '-r', 'tags', '--dry-run', '--json']));
    expect(r.fetchedManifests).toBe(1);
    expect(objectKeys(cache()).has(t1)).toBe(true);
    fs.rmSync(path.join(cache(), t1));
    const before = objectKeys(cache());
    const bad = rvc(dir, ['gc', '--all-tags', '-r', 'one', '--json']);
    expect(bad.code).toBe(1);
    expect(json(bad).error.code).toBe('OBJECT_MISSING');
    expect(json(bad).error.message).toContain('v1:data');
    expect(objectKeys(cache())).toEqual(before);
  });

  it('gc --cloud with a scope removes exactly what the scope does not reference, manifests first', () => {
    restoreCache();
    const gone = sorted([...everything()].filter((k) => !union(S.W, S.C1).has(k)));
    const dry = json(rvcOk(dir, ['gc', '--all-tags', '--cloud', '--dry-run', '--json']));
    expect(sorted(dry.cloud.removed)).toEqual(gone);
    const kinds = dry.cloud.removed.map((k: string) => k.endsWith('.tree'));
    expect(kinds).toEqual([...kinds].sort((a: boolean, b: boolean) => Number(b) - Number(a)));
    expect(objectKeys(fullStore)).toEqual(everything());
    const real = json(rvcOk(dir, ['gc', '--all-tags', '--cloud', '--json']));
    expect(real.cloud.removed).toEqual(dry.cloud.removed);
    expect(objectKeys(fullStore)).toEqual(union(S.W, S.C1));
    expect(objectKeys(cache())).toEqual(union(S.W, S.C1));
  });
});

describe('rvc.lock outputs at revisions', () => {
  it('gc and push cover the pipeline outputs an older rvc.lock records', () => {
    const d = track(makeRepo());
    const cacheKeys = (): Set<string> => objectKeys(path.join(d, '.rvc/cache'));
    writeTree(d, { 'in.txt': 'one' });
    rvcOk(d, ['stage', 'add', '-n', 'copy', '-d', 'in.txt', '-o', 'out.txt', 'cp in.txt out.txt']);
    rvcOk(d, ['repro']);
    const first = cacheKeys();
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'one']);
    writeTree(d, { 'in.txt': 'two' });
    rvcOk(d, ['repro']);
    const second = new Set([...cacheKeys()].filter((k) => !first.has(k)));
    git(d, ['add', '-A']);
    git(d, ['commit', '-q', '-m', 'two']);
    expect(first.size).toBe(1);
    expect(second.size).toBe(1);
    // Without the run-cache, only the first commit's rvc.lock still refers to the first output.
    rmrf(path.join(d, '.rvc/cache/runs'));
    const dry = json(rvcOk(d, ['gc', '--workspace', '--dry-run', '--json']));
    expect(dry.removed.map((x: { oid: string }) => key(x.oid))).toEqual([...first]);
    expect(json(rvcOk(d, ['gc', '--all-commits', '--dry-run', '--json'])).removed).toEqual([]);
    const store = track(tmpDir('rvc-store-'));
    rvcOk(d, ['remote', 'add', '-d', 'store', store]);
    rvcOk(d, ['push', '--all-commits']);
    expect(objectKeys(store)).toEqual(union(first, second));
  });
});
