import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { mergeTrees, mergePointers, mergeLocks, type Conflict } from '../../src/model/merge.js';
import type { TreeEntry } from '../../src/model/tree.js';
import { compareStrings } from '../../src/model/values.js';
import type { Pointer, PointerOut } from '../../src/model/pointer.js';
import { emptyLock, type Lock, type LockStage } from '../../src/model/lock.js';

const oid = (c: string): string => c.repeat(64);
const e = (path: string, c: string, size = 1, exec = false): TreeEntry => (exec ? { path, oid: oid(c), size, exec: true } : { path, oid: oid(c), size });
const kinds = (cs: Conflict[]): Record<string, string> => Object.fromEntries(cs.map((c) => [c.path, c.kind]));

describe('three-way manifest merge', () => {
  const base = [e('a', '1'), e('b', '2'), e('c', '3')];

  it('combines files added on different sides', () => {
    const m = mergeTrees(base, [...base, e('x/ours', '4')], [...base, e('y/theirs', '5')]);
    expect(m.conflicts).toEqual([]);
    expect(m.entries.map((x) => x.path)).toEqual(['a', 'b', 'c', 'x/ours', 'y/theirs']);
  });

  it('takes the one side that changed, deleted or kept a file', () => {
    const ours = [e('a', '9'), e('c', '3')]; // a changed, b deleted
    const theirs = [e('a', '1'), e('b', '2'), e('c', '3', 1, true)]; // c made executable
    const m = mergeTrees(base, ours, theirs);
    expect(m.conflicts).toEqual([]);
    expect(m.entries).toEqual([e('a', '9'), e('c', '3', 1, true)]);
  });

  it('conflicts where one file changed differently on both sides, or changed on one and deleted on the other', () => {
    const ours = [e('a', '8'), e('b', '7'), e('new', '5')];
    const theirs = [e('a', '9'), e('c', '6'), e('new', '4')];
    const m = mergeTrees(base, ours, theirs);
    expect(kinds(m.conflicts)).toEqual({ a: 'both-modified', b: 'modified-deleted', c: 'deleted-modified', new: 'both-added' });
  });

  it('accepts the same change made on both sides (including the same deletion)', () => {
    const both = [e('a', '9'), e('c', '3'), e('n', '4')];
    const m = mergeTrees(base, both, [...both]);
    expect(m.conflicts).toEqual([]);
    expect(m.entries).toEqual(both);
  });

  it('reports a file on one side that is a folder on the other, and names equal after case-folding', () => {
    const m = mergeTrees(base, [...base, e('d', '4')], [...base, e('d/x', '5'), e('e', '6')]);
    expect(kinds(m.conflicts)).toEqual({ d: 'path-clash', 'd/x': 'path-clash' });
    const f = mergeTrees([], [e('Data.csv', '1')], [e('data.csv', '2')]);
    expect(kinds(f.conflicts)).toEqual({ 'Data.csv': 'path-clash', 'data.csv': 'path-clash' });
  });

  // Paths whose files end in .bin and whose folders never do: no generated tree holds a path
  // as both a file and a folder, so every generated manifest is valid.
  const seg = fc.constantFrom('a', 'b', 'c', 'dd');
  const fpath = fc.tuple(fc.array(seg, { maxLength: 2 }), fc.constantFrom('x', 'y', 'z', 'w')).map(([d, n]) => [...d, `${n}.bin`].join('/'));
  const entry = fc.record({ path: fpath, oid: fc.constantFrom('1', '2', '3').map(oid), size: fc.constantFrom(1, 2), exec: fc.boolean() })
    .map((x) => (x.exec ? x : { path: x.path, oid: x.oid, size: x.size }));
  const tree = fc.uniqueArray(entry, { selector: (x) => x.path, maxLength: 12 }).map((xs) => xs.sort((p, q) => compareStrings(p.path, q.path)));

  it('property: merging with an unchanged side gives the other side', () => {
    fc.assert(fc.property(tree, tree, (b, x) => {
      for (const m of [mergeTrees(b, b, x), mergeTrees(b, x, b), mergeTrees(b, x, x)]) {
        expect(m.conflicts).toEqual([]);
        expect(m.entries).toEqual(x);
      }
    }));
  });

  it('property: swapping the sides gives the same result and the same conflicting paths', () => {
    fc.assert(fc.property(tree, tree, tree, (b, o, t) => {
      const m1 = mergeTrees(b, o, t);
      const m2 = mergeTrees(b, t, o);
      expect(m2.conflicts.map((c) => c.path)).toEqual(m1.conflicts.map((c) => c.path));
      if (!m1.conflicts.length) expect(m2.entries).toEqual(m1.entries);
    }));
  });

  it('property: changes to disjoint sets of files never conflict and all survive', () => {
    fc.assert(fc.property(tree, fc.array(fc.nat(), { maxLength: 12 }), (b, picks) => {
      // Each base file goes to ours (changed), theirs (deleted) or neither.
      const ours = b.map((x) => ({ ...x }));
      const theirs = b.map((x) => ({ ...x }));
      const changed = new Set<string>();
      const deleted = new Set<string>();
      picks.forEach((p, i) => {
        const x = b[i % Math.max(1, b.length)];
        if (!x || changed.has(x.path) || deleted.has(x.path)) return;
        if (p % 2) changed.add(x.path);
        else deleted.add(x.path);
      });
      for (const x of ours) if (changed.has(x.path)) x.oid = oid('f');
      const m = mergeTrees(b, ours, theirs.filter((x) => !deleted.has(x.path)));
      expect(m.conflicts).toEqual([]);
      expect(m.entries.map((x) => x.path)).toEqual(b.filter((x) => !deleted.has(x.path)).map((x) => x.path));
      for (const x of m.entries) expect(x.oid).toBe(changed.has(x.path) ? oid('f') : b.find((y) => y.path === x.path)!.oid);
    }));
  });
});

describe('three-way pointer merge', () => {
  const out = (path: string, c: string, tree = false, hash: 'blake3' | 'sha256' = 'blake3'): PointerOut =>
    tree ? { path, hash, oid: `${oid(c)}.tree`, size: 1, nfiles: 1 } : { path, hash, oid: oid(c), size: 1 };
  const ptr = (...outs: PointerOut[]): Pointer => ({ outs });

  it('takes one-sided changes and keeps outs added on either side', () => {
    const b = ptr(out('a', '1'), out('d', '2', true));
    const m = mergePointers(b, ptr(out('a', '3'), out('d', '2', true)), ptr(out('a', '1'), out('d', '2', true), out('n', '4')));
    expect(m.conflicts).toEqual([]);
    expect(m.outs).toEqual([{ kind: 'take', out: out('a', '3') }, { kind: 'take', out: out('d', '2', true) }, { kind: 'take', out: out('n', '4') }]);
  });

  it('asks for a manifest merge when a folder changed on both sides, a conflict for a file', () => {
    const b = ptr(out('a', '1'), out('d', '2', true));
    const m = mergePointers(b, ptr(out('a', '3'), out('d', '5', true)), ptr(out('a', '4'), out('d', '6', true)));
    expect(kinds(m.conflicts)).toEqual({ a: 'both-modified' });
    expect(m.outs).toEqual([{ kind: 'trees', base: out('d', '2', true), ours: out('d', '5', true), theirs: out('d', '6', true) }]);
  });

  it('merges a folder added on both sides against an empty base; different algorithms conflict', () => {
    const m = mergePointers(undefined, ptr(out('d', '5', true)), ptr(out('d', '6', true)));
    expect(m.outs).toEqual([{ kind: 'trees', ours: out('d', '5', true), theirs: out('d', '6', true) }]);
    const x = mergePointers(undefined, ptr(out('d', '5', true)), ptr(out('d', '6', true, 'sha256')));
    expect(kinds(x.conflicts)).toEqual({ d: 'both-added' });
  });

  it('merges the description like an out', () => {
    expect(mergePointers({ outs: [out('a', '1')], desc: 'x' }, { outs: [out('a', '1')], desc: 'y' }, { outs: [out('a', '1')], desc: 'x' }).desc).toBe('y');
    expect(mergePointers({ outs: [out('a', '1')], desc: 'x' }, { outs: [out('a', '1')], desc: 'y' }, { outs: [out('a', '1')], desc: 'z' }).descConflict).toBe('both-modified');
  });
});

describe('three-way rvc.lock merge', () => {
  const stage = (cmd: string, c = '1'): LockStage => ({ cmd, deps: [{ path: 'in', hash: 'blake3', oid: oid(c), size: 1 }], outs: [], params: {}, env: {} });
  const lock = (stages: Record<string, LockStage>): Lock => ({ ...emptyLock(), stages });

  it('takes stages changed on one side only, from either side', () => {
    const b = lock({ prep: stage('p'), train: stage('t') });
    const m = mergeLocks(b, lock({ prep: stage('p', '2'), train: stage('t') }), lock({ prep: stage('p'), train: stage('t', '3'), eval: stage('e') }));
    expect(m.conflicts).toEqual([]);
    expect(m.lock.stages).toEqual({ eval: stage('e'), prep: stage('p', '2'), train: stage('t', '3') });
  });

  it('conflicts on a stage recorded differently on both sides, or changed on one and removed on the other', () => {
    const b = lock({ prep: stage('p'), train: stage('t') });
    const m = mergeLocks(b, lock({ prep: stage('p', '2'), train: stage('t', '5') }), lock({ prep: stage('p', '3') }));
    expect(kinds(m.conflicts)).toEqual({ prep: 'both-modified', train: 'modified-deleted' });
  });

  it('ignores differences of order only', () => {
    const s1: LockStage = { ...stage('t'), deps: [{ path: 'a', hash: 'blake3', oid: oid('1'), size: 1 }, { path: 'b', hash: 'blake3', oid: oid('2'), size: 1 }] };
    const s2: LockStage = { ...s1, deps: [...s1.deps].reverse() };
    expect(mergeLocks(lock({ t: stage('x') }), lock({ t: s1 }), lock({ t: s2 })).conflicts).toEqual([]);
  });

  it('takes the same run recorded on two machines without a conflict (ours), and a real change over an environment-only one', () => {
    const on = (machine: string, c = '1'): LockStage => ({ ...stage('t', c), environment: { cpu: { model: machine } } });
    const m = mergeLocks(lock({ t: on('a') }), lock({ t: on('b') }), lock({ t: on('c') }));
    expect(m.conflicts).toEqual([]);
    expect(m.lock.stages['t']).toEqual(on('b'));
    expect(mergeLocks(lock({ t: on('a') }), lock({ t: on('b') }), lock({ t: on('c', '2') })).lock.stages['t']).toEqual(on('c', '2'));
  });

  it('tells non-finite parameter values apart (.inf and .nan are different records)', () => {
    const withLr = (lr: number): LockStage => ({ ...stage('t'), params: { 'params.yaml': { lr } } });
    const m = mergeLocks(lock({ t: withLr(1) }), lock({ t: withLr(Infinity) }), lock({ t: withLr(NaN) }));
    expect(kinds(m.conflicts)).toEqual({ t: 'both-modified' });
    expect(mergeLocks(lock({ t: withLr(1) }), lock({ t: withLr(NaN) }), lock({ t: withLr(NaN) })).conflicts).toEqual([]);
  });
});
