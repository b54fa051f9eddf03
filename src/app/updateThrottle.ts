/**
 * Coalescing of change signals: however often `signal()` is called, `send` runs at most
 * `maxPerSecond` times a second. The first signal after a quiet spell is sent at once (leading
 * edge); signals within the interval after a send are folded into one send at its end (trailing
 * edge), so the last change is never dropped. The host uses it to post the panel's state.
 */

/** The timers a throttle uses; tests pass a fake clock. */
export interface ThrottleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock and timers. */
export const systemTimers: ThrottleClock = {
  // Sub-millisecond, so sends are never counted closer together than they are.
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A throttle over one `send`. */
export interface UpdateThrottle {
  /** Something changed: `send` will run, now or at the end of the current interval. */
  signal(): void;
  /** Send a pending change now (e.g. before the receiver goes away). Nothing pending: nothing sent. */
  flush(): void;
  /** Cancel a pending send and ignore later signals. */
  dispose(): void;
}

/**
 * A throttle that calls `send` at most `maxPerSecond` times a second (sends at least
 * 1000 / maxPerSecond ms apart). `send` may itself cause a signal: it is sent in the next interval.
 */
export function createUpdateThrottle(
  send: () => void,
  maxPerSecond: number,
  clock: ThrottleClock = systemTimers,
): UpdateThrottle {
  const interval = 1000 / Math.max(maxPerSecond, Number.MIN_VALUE);
  let lastSent = -Infinity;
  let pending = false;
  let timer: unknown = null;
  let disposed = false;

  const schedule = (wait: number): void => {
    timer = clock.setTimeout(onTimer, Math.ceil(wait));
  };
  // Timers may fire up to a millisecond early; a send must never come sooner than the interval.
  const onTimer = (): void => {
    const wait = lastSent + interval - clock.now();
    if (wait > 0) schedule(wait);
    else fire();
  };
  const fire = (): void => {
    timer = null;
    if (!pending || disposed) return;
    pending = false;
    lastSent = clock.now();
    send();
  };

  return {
    signal() {
      if (disposed) return;
      pending = true;
      if (timer !== null) return;
      const wait = lastSent + interval - clock.now();
      if (wait <= 0) fire();
      else schedule(wait);
    },
    flush() {
      if (timer !== null) clock.clearTimeout(timer);
      fire();
    },
    dispose() {
      disposed = true;
      pending = false;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
    },
  };
}
