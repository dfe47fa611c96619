import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../src/remote/memory-budget.js';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe('MemoryBudget', () => {
  it('never admits more than its capacity at once, and runs everything', async () => {
    const budget = new MemoryBudget(100);
    let inUse = 0;
    let peak = 0;
    const sizes = [60, 30, 50, 10, 100, 5, 200, 40];
    const ran: number[] = [];
    await Promise.all(
      sizes.map((n) =>
        budget.run(n, async () => {
          inUse += Math.min(n, 100);
          peak = Math.max(peak, inUse);
          await tick();
          inUse -= Math.min(n, 100);
          ran.push(n);
        }),
      ),
    );
    expect(peak).toBeLessThanOrEqual(100);
    expect(ran.sort((a, b) => a - b)).toEqual([...sizes].sort((a, b) => a - b));
  });

  it('serves waiters in order, so a large request is not starved by small ones', async () => {
    const budget = new MemoryBudget(10);
    const order: string[] = [];
    let release!: () => void;
    const first = budget.run(6, () => new Promise<void>((r) => (release = r)));
    const big = budget.run(10, async () => {
      order.push('big');
    });
    const small = budget.run(1, async () => {
      order.push('small');
    });
    await tick();
    expect(order).toEqual([]);
    release();
    await Promise.all([first, big, small]);
    expect(order).toEqual(['big', 'small']);
  });

  it('releases its share when the work fails', async () => {
    const budget = new MemoryBudget(10);
    await expect(budget.run(10, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await budget.run(10, async () => 'ok')).toBe('ok');
  });
});
