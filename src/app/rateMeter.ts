/**
 * A run's tokens/s for the Lead panel and the status bar, by the one definition in
 * src/core/throughput.ts (output tokens per second of generation time): per task and for the
 * run, over the last few seconds while the run is live, over the whole run otherwise, and as the
 * chart's series of one-second points. Fed with the journal's `model_request` events (live, or
 * read back from a journal), so a run opened from history shows the same figures it showed live.
 */
import type { RequestTiming, Usage } from '../core/model';
import { generationSpan, outputRate } from '../core/throughput';
import type { GenerationSpan } from '../core/throughput';

/** Options of a RateMeter. */
export interface RateMeterOptions {
  /** Width of the sliding window of the live figures, in ms; default 5000. */
  windowMs?: number;
  /** Points of the chart's series, one a second; default 120. */
  maxSamples?: number;
}

/** Tokens/s of a run and of each of its tasks. */
export class RateMeter {
  private readonly windowMs: number;
  private readonly maxSamples: number;
  /** Every timed request of the run, in the order booked (which is the order of their ends). */
  private readonly run: GenerationSpan[] = [];
  private readonly tasks = new Map<string, GenerationSpan[]>();
  private whole: { count: number; rate: number | null } = { count: -1, rate: null };
  private series: { key: string; samples: number[] } = { key: '', samples: [] };

  constructor(options: RateMeterOptions = {}) {
    this.windowMs = options.windowMs ?? 5000;
    this.maxSamples = options.maxSamples ?? 120;
  }

  /** Count a request booked at `endedAt`; one that was not timed (core/throughput.ts) adds nothing. */
  record(taskId: string | null, endedAt: number, usage: Usage | null, timing: RequestTiming | null): void {
    const span = generationSpan(endedAt, usage, timing);
    if (!span) return;
    this.run.push(span);
    if (taskId === null) return;
    let spans = this.tasks.get(taskId);
    if (!spans) this.tasks.set(taskId, (spans = []));
    spans.push(span);
  }

  /** The run's tokens/s over the window ending at `now`; 0 when nothing streamed in it. */
  runRate(now: number): number {
    return round(this.windowRate(this.run, now) ?? 0);
  }

  /** One task's tokens/s over the window ending at `now`; 0 when it streamed nothing in it. */
  taskRate(taskId: string, now: number): number {
    const spans = this.tasks.get(taskId);
    return spans ? round(this.windowRate(spans, now) ?? 0) : 0;
  }

  /** The run's tokens/s over all of its timed requests; null when none was timed. */
  overallRate(): number | null {
    if (this.whole.count !== this.run.length) this.whole = { count: this.run.length, rate: outputRate(this.run) };
    return this.whole.rate === null ? null : round(this.whole.rate);
  }

  /** One task's tokens/s over all of its timed requests; null when none was timed. */
  overallTaskRate(taskId: string): number | null {
    const spans = this.tasks.get(taskId);
    const rate = spans ? outputRate(spans) : null;
    return rate === null ? null : round(rate);
  }

  /**
   * The chart's series: the run's tokens/s each second, oldest first, at most `maxSamples`
   * points, ending at `now` while the run is live, else at the end of its last timed request.
   * Empty when no request was timed.
   */
  samples(now: number, live: boolean): number[] {
    const last = this.run.at(-1);
    if (!last) return [];
    const end = live ? Math.floor(now / 1000) * 1000 : Math.ceil(last.end / 1000) * 1000;
    // While live the series is computed once a second (requests booked meanwhile show in the next
    // second's), not on every snapshot: a hundred agents book several requests a second.
    const key = live ? `live:${end}` : `${end}:${this.run.length}`;
    if (this.series.key === key) return [...this.series.samples];
    // From the second of the run's first output (points before it would only pad the chart with
    // zeros), but at least two points, so a line can be drawn.
    const oldest = end - (this.maxSamples - 1) * 1000;
    const firstOutput = Math.min(end - 1000, Math.floor(this.run[0].start / 1000) * 1000);
    const samples: number[] = [];
    for (let at = Math.max(oldest, firstOutput); at <= end; at += 1000)
      samples.push(round(this.windowRate(this.run, at) ?? 0));
    this.series = { key, samples };
    return [...samples];
  }

  /** Tokens/s of the spans in the window ending at `now`; spans are in the order of their ends. */
  private windowRate(spans: readonly GenerationSpan[], now: number): number | null {
    const from = now - this.windowMs;
    const inWindow: GenerationSpan[] = [];
    for (let i = spans.length - 1; i >= 0; i--) {
      const s = spans[i];
      if (s.end <= from) break;
      if (s.start < now) inWindow.push(s);
    }
    return outputRate(inWindow, { from, to: now });
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
