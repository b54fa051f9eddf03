/**
 * A counted set of slots, handed out in the order they were asked for: the run's agent slots (a
 * task holds one only while its agent talks to the model), its check slots, and a model client's
 * requests in flight (infra/openaiClient.ts). A freed slot goes straight to the next waiter, in
 * the same turn, so no slot stands idle while someone waits.
 */
export class Slots {
  private held = 0;
  private readonly waiters: { grant: () => void }[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`a slot limit must be a whole number ≥ 1, not ${limit}`);
  }

  /** Slots held now. */
  get inUse(): number {
    return this.held;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * A slot: resolves with its release once one is free. Resolves with null, holding nothing, when
   * `signal` aborts first (the waiter leaves the queue). Calling the release twice frees one slot.
   */
  acquire(signal?: AbortSignal): Promise<(() => void) | null> {
    if (signal?.aborted) return Promise.resolve(null);
    if (this.held < this.limit && this.waiters.length === 0) {
      this.held++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(null);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Hold a slot while `work` runs; null without running it when `signal` aborts first. */
  async with<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T | null> {
    const release = await this.acquire(signal);
    if (!release) return null;
    try {
      return await work();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes to the next waiter without being counted free in between.
      if (next) next.grant();
      else this.held--;
    };
  }
}
