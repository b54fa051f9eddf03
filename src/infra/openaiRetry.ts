/**
 * Pacing for the inference client: abortable waits, jittered exponential back-off, the
 * Retry-After headers and a per-client semaphore (the shared pause is in endpointPause.ts).
 */
import { ModelError } from '../core/model';

/** Waits `ms` milliseconds; may resolve early when `signal` aborts. */
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A timer-based sleep that resolves early (and frees its timer) when the signal aborts. */
export const defaultSleep: SleepFn = (ms, signal) =>
  new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** The error every cancelled request rejects with. */
export function abortedError(): ModelError {
  return new ModelError('aborted', 'the model request was aborted');
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError();
}

/**
 * Wait `ms` with `sleep`, rejecting with ModelError('aborted') as soon as `signal` aborts, even
 * when the injected sleep ignores the signal.
 */
export async function waitFor(sleep: SleepFn, ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  if (ms > 0) {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([sleep(ms, signal), aborted]);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }
  throwIfAborted(signal);
}

/**
 * The delay before retry number `retry` (1-based): `base * 2^(retry-1)` capped at `max`, then
 * jittered to between half and all of it so that many clients do not retry in lock-step.
 */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * How long the server asked us to wait, in ms, from `retry-after-ms` or `Retry-After` (seconds,
 * possibly fractional, or an HTTP date); null when neither header is present or parseable.
 */
export function parseRetryAfter(headers: Headers | undefined, nowMs: number): number | null {
  if (!headers) return null;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number.parseFloat(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}
