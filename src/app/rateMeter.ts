/**
 * Output tokens per second over a sliding window, per task and for the whole run, from the
 * requests a run books. A request's output tokens are spread evenly over its generation time
 * (from its first token to its end, when the client timed it), so a long request counts in the
 * window only for the part of it that falls there. The run's rate is also sampled once a second
 * for the panel's chart.
 */
import type { RequestTiming } from '../core/model';

/** One request's output, spread over [start, end] (ms). */
interface Span {
  start: number;
  end: number;
  tokens: number;
}

/** Options of a RateMeter. */
export interface RateMeterOptions {
  /** Width of the sliding window, in ms; default 5000. */
  windowMs?: number;
  /** Most samples kept (one a second); default 120. */
  maxSamples?: number;
}

/** Sliding-window tokens/s of a run and of each of its tasks. */
export class RateMeter {
  private readonly windowMs: number;
  private readonly maxSamples: number;
  private readonly run: Span[] = [];
  private readonly tasks = new Map<string, Span[]>();
  private readonly history: number[] = [];

  constructor(options: RateMeterOptions = {}) {
    this.windowMs = options.windowMs ?? 5000;
    this.maxSamples = options.maxSamples ?? 120;
  }

  /**
   * Count a request that ended at `endedAt` with `outputTokens`. Its generation is taken from
   * `timing` (duration minus time to first token); without timing it counts as one instant.
   */
  record(taskId: string | null, outputTokens: number, endedAt: number, timing: RequestTiming | null): void {
    if (outputTokens <= 0) return;
    const generationMs = timing ? Math.max(0, timing.durationMs - (timing.ttftMs ?? 0)) : 0;
    const span = { start: endedAt - generationMs, end: endedAt, tokens: outputTokens };
    this.run.push(span);
    if (taskId !== null) {
      let spans = this.tasks.get(taskId);
      if (!spans) this.tasks.set(taskId, (spans = []));
      spans.push(span);
    }
    this.prune(endedAt);
  }

  /** The run's output tokens/s over the window ending at `now`. */
  runRate(now: number): number {
    return this.rateOf(this.run, now);
  }

  /** One task's output tokens/s over the window ending at `now`; 0 when it made no request there. */
  taskRate(taskId: string, now: number): number {
    const spans = this.tasks.get(taskId);
    return spans ? this.rateOf(spans, now) : 0;
  }

  /** Take the run's rate at `now` as the next sample (the oldest beyond the limit is dropped). */
  sample(now: number): void {
    this.prune(now);
    this.history.push(round(this.runRate(now)));
    if (this.history.length > this.maxSamples) this.history.splice(0, this.history.length - this.maxSamples);
  }

  /** The samples, oldest first. */
  samples(): number[] {
    return [...this.history];
  }

  /** Drop spans that ended before the window ending at `now`. */
  private prune(now: number): void {
    const from = now - this.windowMs;
    dropBefore(this.run, from);
    for (const [id, spans] of this.tasks) {
      dropBefore(spans, from);
      if (spans.length === 0) this.tasks.delete(id);
    }
  }

  private rateOf(spans: readonly Span[], now: number): number {
    const from = now - this.windowMs;
    let tokens = 0;
    for (const s of spans) {
      // The window is (from, now]: a request that ended exactly at its start has left it.
      if (s.end <= from || s.start > now) continue;
      const length = s.end - s.start;
      if (length <= 0) {
        tokens += s.tokens;
        continue;
      }
      const overlap = Math.min(s.end, now) - Math.max(s.start, from);
      tokens += (s.tokens * Math.max(0, overlap)) / length;
    }
    return round((tokens * 1000) / this.windowMs);
  }
}

/** Remove the spans that ended before `from` (spans arrive roughly in end order). */
function dropBefore(spans: Span[], from: number): void {
  let keep = 0;
  for (const s of spans) if (s.end >= from) spans[keep++] = s;
  spans.length = keep;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
