import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Odb } from '../../src/odb/odb.js';
import { HashState } from '../../src/hashing/state.js';
import { IgnoreRules, statToFileStat } from '../../src/fsutil/walk.js';
import { applyCheckout, planCheckout, planRemoval, workspaceChanges, type CheckoutOptions } from '../../src/odb/checkout.js';
import { readTree, writeTree } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function setup(): { root: string; odb: Odb; opts: (extra?: Partial<CheckoutOptions>) => CheckoutOptions } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-plan-'));
  dirs.push(root);
  const odb = new Odb(path.join(root, '.rvc/cache'), 'blake3', path.join(root, '.rvc/cache/tmp'));
  const opts = (extra: Partial<CheckoutOptions> = {}): CheckoutOptions => ({
    odb, state: HashState.load(path.join(root, '.rvc/tmp/state'), 'blake3', 'data'), ignore: new IgnoreRules(root),
    repoRoot: root, linkTypes: ['copy'], ...extra,
  });
  return { root, odb, opts };
}

function store(odb: Odb, files: Record<string, string>): string {
  const entries = Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, text]) => {
    const { oid } = odb.addFile(tmpWith(text), Buffer.byteLength(text));
    return { path: p, oid, size: Buffer.byteLength(text) };
  });
  return odb.writeTree(entries);
}

function tmpWith(text: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-plan-src-'));
  dirs.push(d);
  fs.writeFileSync(path.join(d, 'f'), text);
  return path.join(d, 'f');
}

describe('checkout plan and apply', () => {
  it('the plan only reads, says per file what differs (as status would), and apply carries it out', () => {
    const { root, odb, opts } = setup();
    const oid = store(odb, { 'same.txt': 'same\n', 'changed.txt': 'new\n', 'gone.txt': 'gone\n' });
    writeTree(root, { 'data/same.txt': 'same\n', 'data/changed.txt': 'old\n', 'data/extra.txt': 'extra\n' });
    store(odb, { 'changed.txt': 'old\n', 'extra.txt': 'extra\n' }); // their content is saved
    const target = { abs: path.join(root, 'data'), repoRel: 'data', oid };
    const before = readTree(path.join(root, 'data'));

    const plan = planCheckout(target, opts());
    expect(readTree(path.join(root, 'data'))).toEqual(before);
    expect(workspaceChanges(plan)).toEqual({ added: ['extra.txt'], modified: ['changed.txt'], deleted: ['gone.txt'] });
    expect(plan.unchanged).toBe(1);
    expect(plan.unsafe).toEqual([]);

    const r = applyCheckout(plan, opts());
    expect({ added: r.added, modified: r.modified, deleted: r.deleted }).toEqual({ added: ['gone.txt'], modified: ['changed.txt'], deleted: ['extra.txt'] });
    expect(readTree(path.join(root, 'data'))).toEqual({ 'same.txt': 'same\n', 'changed.txt': 'new\n', 'gone.txt': 'gone\n' });
  });

  it('records what it placed in the hash cache when that is worth waiting for trusted timestamps (64 files or more), not a few small files', () => {
    const placedAndRecorded = (files: Record<string, string>): number => {
      const { root, odb, opts } = setup();
      const o = opts();
      applyCheckout(planCheckout({ abs: path.join(root, 'data'), repoRel: 'data', oid: store(odb, files) }, o), o);
      return Object.keys(files).filter((f) => o.state.get(f, statToFileStat(fs.statSync(path.join(root, 'data', f)))) !== undefined).length;
    };
    expect(placedAndRecorded({ 'a.txt': 'A\n', 'b.txt': 'B\n' })).toBe(0);
    const many: Record<string, string> = {};
    for (let i = 0; i < 64; i++) many[`f${i}.txt`] = `file ${i}\n`;
    expect(placedAndRecorded(many)).toBe(64);
  });

  it('content not in the cache makes the plan unsafe, and apply refuses it before touching anything', () => {
    const { root, odb, opts } = setup();
    const oid = store(odb, { 'a.txt': 'A\n' });
    writeTree(root, { 'data/a.txt': 'unsaved\n', 'data/b.txt': 'unsaved too\n' });
    const plan = planCheckout({ abs: path.join(root, 'data'), repoRel: 'data', oid }, opts());
    expect(plan.unsafe.sort()).toEqual(['data/a.txt', 'data/b.txt']);
    expect(() => applyCheckout(plan, opts())).toThrow(/would overwrite or delete/);
    expect(readTree(path.join(root, 'data'))).toEqual({ 'a.txt': 'unsaved\n', 'b.txt': 'unsaved too\n' });
  });

  it('an empty folder output that is missing is created', () => {
    const { root, odb, opts } = setup();
    const oid = store(odb, {});
    const plan = planCheckout({ abs: path.join(root, 'data'), repoRel: 'data', oid }, opts());
    expect(plan.makeRoot).toBe(true);
    expect(applyCheckout(plan, opts()).createdFolder).toBe(true);
    expect(fs.statSync(path.join(root, 'data')).isDirectory()).toBe(true);
  });

  it('a removal plan lists every file, refuses what is not in the cache, and removes the folder', () => {
    const { root, odb, opts } = setup();
    store(odb, { 'a.txt': 'A\n', 'b.txt': 'B\n' });
    writeTree(root, { 'data/a.txt': 'A\n', 'data/sub/b.txt': 'B\n', 'data/c.txt': 'unsaved\n' });
    fs.mkdirSync(path.join(root, 'data/empty'));
    const place = { abs: path.join(root, 'data'), repoRel: 'data' };
    const unsafe = planRemoval(place, opts());
    expect(unsafe.remove.sort()).toEqual(['a.txt', 'c.txt', 'sub/b.txt']);
    expect(unsafe.unsafe).toEqual(['data/c.txt']);
    fs.rmSync(path.join(root, 'data/c.txt'));
    const r = applyCheckout(planRemoval(place, opts()), opts());
    expect(r.deleted.sort()).toEqual(['a.txt', 'sub/b.txt']);
    expect(fs.existsSync(path.join(root, 'data'))).toBe(false);
  });
  it('holds no fs.Stats object per placed file until the hash cache records them (hundreds of MB at a million files)', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const { root, odb, opts } = setup();
    const n = 3000;
    const entries = [];
    for (let i = 0; i < n; i++) {
      const text = `${i}\n`;
      const oid = odb.hashBytes(Buffer.from(text));
      odb.putBuffer(oid, text);
      entries.push({ path: `f${String(i).padStart(5, '0')}.txt`, oid, size: text.length });
    }
    const o = opts();
    const plan = planCheckout({ abs: path.join(root, 'data'), repoRel: 'data', oid: odb.writeTree(entries) }, o);
    // Live heap after the first file is placed and after the last (before they are recorded).
    const heap: Record<number, number> = {};
    o.onProgress = (e) => {
      if (e.done !== 1 && e.done !== n) return;
      gc();
      heap[e.done] = process.memoryUsage().heapUsed;
    };
    applyCheckout(plan, o);
    expect(Object.keys(heap).map(Number).sort((a, b) => a - b)).toEqual([1, n]);
    // Kept an fs.Stats per file, this grew by about 970 bytes a file; in columns, by the result's
    // path lists (8 bytes a file) and what the loop's compilation takes once (about 120 bytes a
    // file at this size).
    expect((heap[n]! - heap[1]!) / n).toBeLessThan(400);
    expect(o.state.get('f02999.txt', statToFileStat(fs.statSync(path.join(root, 'data', 'f02999.txt'))))).toBe(entries[n - 1]!.oid);
  });
});
