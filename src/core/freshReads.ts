/**
 * Readings of something that changes, shared by callers that ask at the same time. Every caller
 * gets a reading that began after it asked: one in progress when it asks is too early for it, so
 * it waits for the next, which everyone arriving during the current one shares. Sixty-four tasks
 * that finish together then cost two readings of the shared git directory, not sixty-four, and
 * each still compares against a state read after its own agent stopped.
 */
export class FreshReads<T> {
  private current: Promise<T> | null = null;
  private queued: Promise<T> | null = null;

  constructor(private readonly read: () => Promise<T>) {}

  /** A reading that begins after this call (shared with others who asked since the last began). */
  get(): Promise<T> {
    if (this.queued) return this.queued;
    if (!this.current) return this.begin();
    const done = this.current.then(
      () => undefined,
      () => undefined,
    );
    this.queued = done.then(() => {
      this.queued = null;
      return this.begin();
    });
    return this.queued;
  }

  private begin(): Promise<T> {
    const reading = this.read();
    this.current = reading;
    const clear = (): void => {
      if (this.current === reading) this.current = null;
    };
    reading.then(clear, clear);
    return reading;
  }
}
