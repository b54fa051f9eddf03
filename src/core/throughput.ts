/**
 * Tokens per second, defined once for every front end: output tokens per second of generation
 * time.
 *
 * - A request's generation is the time from its first streamed token to the end of its stream
 *   (the client's `ttftMs` to its `durationMs`), placed on the wall clock so that it ends when the
 *   request was booked. Prompt processing (before the first token) is not generation.
 * - The generation time of a set of requests (a task, a role, the run, or the part of them in a
 *   window of time) is the length of the union of their intervals: the wall-clock time during
 *   which at least one of them was streaming output. Agents streaming at the same time add up,
 *   so the run's figure is the fleet's throughput while it generates.
 * - Tokens/s is the output tokens of those requests divided by that time. A request is counted
 *   (tokens and time together) only when it was timed: it streamed, produced output, and its
 *   generation lasted at least MIN_GENERATION_MS. Shorter than that, its tokens arrived in one
 *   read of the socket (a server that sends a finished answer at once, or a cache), and dividing
 *   by that interval measures the transport, not the model: thousands of tokens/s out of nothing.
 *
 * Pure: the ledger's records and the journal's `model_request` events give the spans.
 */
import type { RequestTiming, Usage } from './model';

/** One timed request's output, spread evenly over its generation interval [start, end] (ms). */
export interface GenerationSpan {
  start: number;
  end: number;
  tokens: number;
}

/** Below this much generation time a request's output came in one burst: it is not timed. */
export const MIN_GENERATION_MS = 20;

/**
 * The generation span of a request booked at `endedAt`, or null when it was not timed (no usage,
 * no streamed token, no output, or a burst shorter than MIN_GENERATION_MS).
 */
export function generationSpan(
  endedAt: number,
  usage: Usage | null,
  timing: RequestTiming | null,
): GenerationSpan | null {
  if (!usage || !timing || timing.ttftMs === null || usage.completionTokens <= 0) return null;
  const ms = timing.durationMs - timing.ttftMs;
  if (!(ms >= MIN_GENERATION_MS)) return null;
  return { start: endedAt - ms, end: endedAt, tokens: usage.completionTokens };
}

/** A window of time, (from, to] in ms. */
export interface TimeWindow {
  from: number;
  to: number;
}

/**
 * Output tokens per second of generation time over `spans`: their tokens divided by the length of
 * the union of their intervals. With `window`, only the part of each span inside it counts (its
 * tokens in proportion). Null when no generation time is left to divide by.
 */
export function outputRate(spans: Iterable<GenerationSpan>, window?: TimeWindow): number | null {
  const parts: GenerationSpan[] = [];
  for (const s of spans) {
    const part = window ? clip(s, window) : s;
    if (part) parts.push(part);
  }
  const ms = unionLength(parts);
  if (ms <= 0) return null;
  let tokens = 0;
  for (const p of parts) tokens += p.tokens;
  return (tokens * 1000) / ms;
}

/** The part of `s` inside `w`, with its share of the tokens; null when none is. */
function clip(s: GenerationSpan, w: TimeWindow): GenerationSpan | null {
  const start = Math.max(s.start, w.from);
  const end = Math.min(s.end, w.to);
  if (end <= start) return null;
  const length = s.end - s.start;
  return { start, end, tokens: length > 0 ? (s.tokens * (end - start)) / length : s.tokens };
}

/** The length of the union of the spans' intervals. */
export function unionLength(spans: readonly GenerationSpan[]): number {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let total = 0;
  let start = -Infinity;
  let end = -Infinity;
  for (const s of sorted) {
    if (s.start > end) {
      if (end > start) total += end - start;
      start = s.start;
      end = s.end;
    } else if (s.end > end) end = s.end;
  }
  if (end > start) total += end - start;
  return total;
}
