import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { objectKey } from '../../src/model/oid.js';
import { planQuery, queryExisting, type ExistenceOps, type QueryPlan } from '../../src/remote/query.js';

function keys(n: number, salt: string): string[] {
  return Array.from({ length: n }, (_, i) => objectKey('blake3', createHash('sha256').update(`${salt}${i}`).digest('hex')));
}

/** An object store in a Set that counts requests the way S3 bills them. */
function fakeStore(objects: string[], pageSize = 1000, jobs = 8) {
  const set = new Set(objects);
  const sorted = [...set].sort();
  const calls = { head: 0, list: 0 };
  const ops: ExistenceOps = {
    async head(k) {
      calls.head++;
      return set.has(k);
    },
    async *list(prefix) {
      const all = sorted.filter((k) => k.startsWith(prefix));
      for (let i = 0; i === 0 || i < all.length; i += pageSize) {
        calls.list++;
        yield* all.slice(i, i + pageSize);
      }
    },
    jobs,
    headThreshold: 64,
    pageSize,
    parentListing: true,
  };
  return { ops, calls };
}

describe('queryExisting', () => {
  it('asks key by key for few keys', async () => {
    const remote = keys(500, 'r');
    const { ops, calls } = fakeStore(remote);
    const wanted = [...remote.slice(0, 10), ...keys(10, 'x')];
    expect(await queryExisting(wanted, ops)).toEqual(new Set(remote.slice(0, 10)));
    expect(calls).toEqual({ head: 20, list: 0 });
  });

  it('lists a small remote in one pass instead of thousands of HEADs', async () => {
    const remote = keys(300, 'r');
    const { ops, calls } = fakeStore(remote);
    const wanted = [...remote.slice(0, 100), ...keys(4900, 'new')];
    let plan: QueryPlan | undefined;
    const found = await queryExisting(wanted, ops, undefined, (p) => (plan = p));
    expect(found).toEqual(new Set(remote.slice(0, 100)));
    expect(plan!.strategy).toBe('list-parent');
    expect(calls.head).toBe(0);
    expect(calls.list).toBeLessThanOrEqual(2);
  });

  it('lists shard folders concurrently when the remote is large and the query covers it', async () => {
    const remote = keys(60_000, 'big');
    const { ops, calls } = fakeStore(remote, 100, 32);
    const wanted = [...remote.slice(0, 20_000), ...keys(20_000, 'new')];
    let plan: QueryPlan | undefined;
    const found = await queryExisting(wanted, ops, undefined, (p) => (plan = p));
    expect(found.size).toBe(20_000);
    expect(plan!.strategy).toBe('list-dirs');
    expect(calls.head).toBe(0);
    expect(calls.list).toBeLessThan(256 * 4);
  });

  it('falls back to HEADs when the remote is far larger than the query', () => {
    // 100 keys against ~10 million objects: listing their shards would read ~40,000 pages.
    const dirs = Array.from({ length: 99 }, (_, i) => `blake3/${i.toString(16).padStart(2, '0')}/`);
    const plan = planQuery(99, dirs, 40_000, { jobs: 32, pageSize: 1000, parentListing: true });
    expect(plan.strategy).toBe('head');
  });

  it('reports progress up to the number of distinct keys', async () => {
    const remote = keys(200, 'r');
    const { ops } = fakeStore(remote);
    const seen: number[] = [];
    await queryExisting([...remote, ...remote.slice(0, 50)], ops, (d) => seen.push(d));
    expect(seen.at(-1)).toBe(200);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });
});
