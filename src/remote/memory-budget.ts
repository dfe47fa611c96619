/**
 * Admits work while the bytes it will buffer fit in a fixed budget; the rest waits, first come
 * first served, so a large upload is not starved by a stream of small ones.
 */
export class MemoryBudget {
  private used = 0;
  private readonly waiting: { n: number; go: () => void }[] = [];
  constructor(private readonly capacity: number) {}

  async run<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
    const n = Math.min(bytes, this.capacity);
    if (this.waiting.length === 0 && this.used + n <= this.capacity) this.used += n;
    else await new Promise<void>((go) => this.waiting.push({ n, go }));
    try {
      return await fn();
    } finally {
      this.used -= n;
      while (this.waiting.length > 0 && this.used + this.waiting[0]!.n <= this.capacity) {
        const w = this.waiting.shift()!;
        this.used += w.n;
        w.go();
      }
    }
  }
}
