/**
 * Back-pressure for one endpoint: a single, shared reaction to "slow down" (429, or 503 with
 * Retry-After) instead of every request retrying on its own.
 *
 * A fresh 429 pauses the endpoint until its Retry-After, or for a back-off that grows with each
 * consecutive 429 and resets on the first answer that is not one. When the pause ends, one request
 * (the one that has waited longest) goes out as a probe; the others follow once it is answered with
 * anything but another 429. Requests already in flight when the pause began are not stopped; their
 * 429s extend the pause to the Retry-After they carry but do not count as a new strike.
 */
import { abortedError, waitFor } from './openaiRetry';
import type { SleepFn } from './openaiRetry';

/** Leave to send one request, handed back to `settle` with how it went. */
export interface Admission {
  /** This request is the one sent to learn whether the endpoint takes requests again. */
  readonly probe: boolean;
  /** The pause count when the request left: a 429 to an older request says nothing new. */
  readonly epoch: number;
}

/** How a sent request ended, as far as the pause cares. */
export type Settlement =
  /** The server said to slow down; `retryAfterMs` is what it asked for, if anything. */
  | { kind: 'slow_down'; retryAfterMs: number | null }
  /** The server answered something else: it is taking requests again. */
  | { kind: 'answered' }
  /** No answer (connection failure, time-out, abort): nothing learned about the rate limit. */
  | { kind: 'no_answer' };

export class EndpointPause {
  private until = 0;
  private strikes = 0;
  private epoch = 0;
  private probing = false;
  private nextTicket = 0;
  /** Tickets of the requests waiting for the pause to lift, oldest first. */
  private readonly waiting: number[] = [];
  private readonly listeners = new Set<() => void>();

  /** `backoff(strike)` is the pause after the strike-th consecutive 429 that gave no Retry-After. */
  constructor(
    private readonly now: () => number,
    private readonly sleep: SleepFn,
    private readonly backoff: (strike: number) => number,
    private readonly maxPauseMs: number,
  ) {}

  /** True while no request (not even a probe) may leave. */
  isPaused(): boolean {
    return this.now() < this.until;
  }

  /**
   * Resolve when this request may be sent; reject with ModelError('aborted') as soon as `signal`
   * aborts. The caller must pass the admission to `settle` once the request has ended.
   */
  async admit(signal?: AbortSignal): Promise<Admission> {
    if (signal?.aborted) throw abortedError();
    if (!this.isPaused() && this.strikes === 0) return { probe: false, epoch: this.epoch };
    const ticket = this.nextTicket++;
    this.waiting.push(ticket);
    try {
      for (;;) {
        const left = this.until - this.now();
        if (left > 0) {
          await waitFor(this.sleep, left, signal);
          continue;
        }
        if (this.strikes === 0) return { probe: false, epoch: this.epoch };
        if (!this.probing && this.waiting[0] === ticket) {
          this.probing = true;
          return { probe: true, epoch: this.epoch };
        }
        await this.changed(signal);
      }
    } finally {
      this.waiting.splice(this.waiting.indexOf(ticket), 1);
      this.notify(); // the next in line may now be the one to probe
    }
  }

  /** Record how an admitted request ended. */
  settle(admission: Admission, outcome: Settlement): void {
    const fresh = admission.epoch === this.epoch;
    if (outcome.kind === 'slow_down') {
      if (fresh) {
        this.strikes++;
        this.epoch++;
      }
      const asked = outcome.retryAfterMs ?? (fresh ? this.backoff(this.strikes) : 0);
      this.until = Math.max(this.until, this.now() + Math.min(asked, this.maxPauseMs));
    } else if (outcome.kind === 'answered' && fresh) {
      this.strikes = 0;
    }
    if (admission.probe) this.probing = false;
    this.notify();
  }

  /** Wait until the pause's state changes (a probe is answered, a waiter leaves). */
  private changed(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        this.listeners.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.listeners.delete(wake);
        reject(abortedError());
      };
      this.listeners.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private notify(): void {
    for (const wake of [...this.listeners]) wake();
  }
}
