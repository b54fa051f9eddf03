/**
 * GPU energy attributed to the work that used it. A backend's energy is measured over intervals
 * (one per telemetry poll: the joules of all its GPUs between two readings); each interval's
 * joules go to the tasks by their share of the output tokens generated in it. Tokens of a request
 * are spread evenly over its generation (first token to last, core/throughput.ts), or over the
 * whole request where it was not timed. An interval with requests in flight but no token
 * generated (prompts being read) is shared by the time each request was in flight in it. An
 * interval with no request in flight is idle draw: it is counted apart and given to no task.
 *
 * Pure arithmetic over the ledger's records and the recorded intervals; nothing is estimated
 * beyond the spreading described here, and a figure exists only where an interval was measured.
 */
import type { LedgerRecord } from './ledger';
import { generationSpan } from './throughput';

/** Joules a backend's GPUs drew between two readings (all GPUs summed). */
export interface EnergyInterval {
  fromMs: number;
  toMs: number;
  joules: number;
}

/** Energy and output tokens of one task (or of the run's planning, key `(planning)`). */
export interface EnergyShare {
  joules: number;
  /** Output tokens generated inside measured intervals. */
  tokens: number;
}

/** What the intervals add up to. */
export interface EnergyAccount {
  /** Every measured joule, idle included. */
  joules: number;
  /** Joules of intervals with no request in flight. */
  idleJoules: number;
  /** Output tokens generated inside measured intervals. */
  tokens: number;
  /** Per task id; requests without a task (planning) under PLANNING_KEY. */
  byTask: Map<string, EnergyShare>;
  /** The measured span: first interval's start, last interval's end; null without intervals. */
  fromMs: number | null;
  toMs: number | null;
  intervals: number;
}

/** The key of requests that belong to no task (the planner's). */
export const PLANNING_KEY = '(planning)';

/** The part of a request used for attribution: when it was in flight, and how its tokens spread. */
interface Work {
  key: string;
  start: number;
  end: number;
  genStart: number;
  genEnd: number;
  tokens: number;
}

/** The default key: the request's task, or PLANNING_KEY. */
export function taskKey(rec: LedgerRecord): string {
  return rec.taskId ?? PLANNING_KEY;
}

function workOf(rec: LedgerRecord, key: string): Work | null {
  if (!rec.timing && !rec.usage) return null;
  const end = rec.at;
  const start = end - (rec.timing?.durationMs ?? 0);
  const span = generationSpan(rec.at, rec.usage, rec.timing);
  return {
    key,
    start,
    end,
    genStart: span?.start ?? start,
    genEnd: span?.end ?? end,
    tokens: rec.usage?.completionTokens ?? 0,
  };
}

/** Length of the overlap of [a0, a1] and [b0, b1]. */
function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** The share of a request's tokens generated inside (from, to]. */
function tokensIn(w: Work, from: number, to: number): number {
  const length = w.genEnd - w.genStart;
  if (length <= 0) return w.genEnd > from && w.genEnd <= to ? w.tokens : 0;
  return (w.tokens * overlap(w.genStart, w.genEnd, from, to)) / length;
}

/** An empty account. */
export function emptyAccount(): EnergyAccount {
  return { joules: 0, idleJoules: 0, tokens: 0, byTask: new Map(), fromMs: null, toMs: null, intervals: 0 };
}

/**
 * Attribute `intervals` (one backend's, in any order, not overlapping) to the `records` of
 * requests sent to that backend. Returns the account; `into` is added to when given (for a run
 * over several backends). `keyOf` groups the shares (`byTask`): by task by default, or e.g. by
 * request for a per-request figure.
 */
export function attributeEnergy(
  intervals: readonly EnergyInterval[],
  records: readonly LedgerRecord[],
  into: EnergyAccount = emptyAccount(),
  keyOf: (rec: LedgerRecord) => string = taskKey,
): EnergyAccount {
  const work = records.map((r) => workOf(r, keyOf(r))).filter((w): w is Work => w !== null);
  work.sort((a, b) => a.start - b.start);
  for (const iv of [...intervals].sort((a, b) => a.fromMs - b.fromMs)) {
    into.intervals += 1;
    into.joules += iv.joules;
    into.fromMs = into.fromMs === null ? iv.fromMs : Math.min(into.fromMs, iv.fromMs);
    into.toMs = into.toMs === null ? iv.toMs : Math.max(into.toMs, iv.toMs);
    const inFlight = work.filter((w) => w.start < iv.toMs && w.end > iv.fromMs);
    const tokens = new Map<string, number>();
    const time = new Map<string, number>();
    let allTokens = 0;
    let allTime = 0;
    for (const w of inFlight) {
      const t = tokensIn(w, iv.fromMs, iv.toMs);
      const ms = overlap(w.start, w.end, iv.fromMs, iv.toMs);
      tokens.set(w.key, (tokens.get(w.key) ?? 0) + t);
      time.set(w.key, (time.get(w.key) ?? 0) + ms);
      allTokens += t;
      allTime += ms;
    }
    if (allTokens <= 0 && allTime <= 0) {
      into.idleJoules += iv.joules;
      continue;
    }
    into.tokens += allTokens;
    const [weights, total] = allTokens > 0 ? [tokens, allTokens] : [time, allTime];
    for (const [key, weight] of weights) {
      const share = into.byTask.get(key) ?? { joules: 0, tokens: 0 };
      share.joules += (iv.joules * weight) / total;
      share.tokens += tokens.get(key) ?? 0;
      into.byTask.set(key, share);
    }
  }
  return into;
}

/** Output tokens per joule, or null where no joule was measured. */
export function tokensPerJoule(tokens: number, joules: number): number | null {
  return joules > 0 ? tokens / joules : null;
}
