/**
 * The board's view model: what each row, bar and chart says, computed from a RunView without a DOM
 * so it is unit-tested in Node. The DOM side (boardView.ts, boardRow.ts) only copies these values.
 */
import type { RunView, TaskRow, VerificationView } from '../protocol/panel';
import { formatCost, formatCount, formatDuration } from './format';
import type { Tone } from './status';
import { TASK_STATUS_ORDER, isTicking, taskLook } from './status';

/**
 * A row's elapsed time now: the host's figure plus the time since the state arrived, while the task
 * is at work in a live run (so it moves between updates); the host's figure otherwise.
 */
export function elapsedNow(
  row: Pick<TaskRow, 'elapsedMs' | 'status'>,
  live: boolean,
  sinceStateMs: number,
): number | null {
  if (row.elapsedMs === null) return null;
  return live && isTicking(row.status) ? row.elapsedMs + Math.max(0, sinceStateMs) : row.elapsedMs;
}

/** "step 7 · run_command" while the agent works; "" when there is no step to show. */
export function stepText(row: Pick<TaskRow, 'status' | 'step' | 'tool'>): string {
  if (row.step <= 0 || !isTicking(row.status)) return '';
  return row.tool ? `step ${row.step} · ${row.tool}` : `step ${row.step}`;
}

/** For a queued task: the dependencies it still waits for ("waits for a, b"); "" otherwise. */
export function waitingText(
  row: Pick<TaskRow, 'status' | 'dependsOn'>,
  statusOf: (id: string) => string | undefined,
): string {
  if (row.status !== 'queued') return '';
  const open = row.dependsOn.filter((d) => statusOf(d) !== 'merged');
  return open.length ? `waits for ${open.join(', ')}` : '';
}

/** A verification in a few words, with its tone. */
export interface VerificationSummary {
  text: string;
  tone: Tone;
}

/**
 * "Checks passed: test, lint", "Checks failed: test (exit 1)", "Checks stopped: test", "Not verified
 * (no checks)"; null before any.
 */
export function verificationSummary(v: VerificationView | null): VerificationSummary | null {
  if (!v) return null;
  const round = v.round > 1 ? ` (round ${v.round})` : '';
  if (v.status === 'skipped' || v.checks.length === 0)
    return { text: `Not verified (no checks)${round}`, tone: 'warning' };
  if (v.status === 'stopped') {
    const cut = v.checks.filter((c) => c.status === 'stopped').map((c) => c.name);
    return { text: `Checks stopped${round}${cut.length ? `: ${cut.join(', ')}` : ''}`, tone: 'muted' };
  }
  if (v.status === 'passed') {
    return { text: `Checks passed${round}: ${v.checks.map((c) => c.name).join(', ')}`, tone: 'ok' };
  }
  const failed = v.checks.filter((c) => c.status === 'failed');
  const names = failed.map((c) => (c.exitCode === null ? c.name : `${c.name} (exit ${c.exitCode})`));
  return { text: `Checks failed${round}: ${names.join(', ') || 'see output'}`, tone: 'error' };
}

/** One budget bar. `fraction` is clamped to [0, 1]; `level` picks its colour. */
export interface BudgetBar {
  kind: 'tokens' | 'cost';
  label: string;
  fraction: number;
  level: 'ok' | 'warning' | 'hit';
  /** "80% of the token budget used" for assistive technology. */
  description: string;
}

/** The fraction of a budget past which its bar warns. */
export const BUDGET_WARNING_FRACTION = 0.8;

/** A bar per set budget (tokens first), none where no budget is set. */
export function budgetBars(budget: RunView['budget']): BudgetBar[] {
  const bars: BudgetBar[] = [];
  if (budget.tokens) bars.push(barOf('tokens', budget.tokens, (n) => formatCount(n), 'token'));
  if (budget.cost) bars.push(costBar(budget.cost));
  return bars;
}

/** The cost bar: what the priced requests cost; requests without a price are said, never counted as $0. */
function costBar(b: NonNullable<RunView['budget']['cost']>): BudgetBar {
  const bar = barOf('cost', { used: b.used ?? 0, limit: b.limit }, (n) => formatCost(n), 'cost');
  if (!b.unpriced) return bar;
  const used = b.used === null ? 'unpriced' : `${formatCost(b.used)} + unpriced part`;
  return {
    ...bar,
    label: `${used} / ${formatCost(b.limit)}`,
    description: `${bar.description} by the priced requests; some requests had no price`,
  };
}

function barOf(
  kind: BudgetBar['kind'],
  b: { used: number; limit: number },
  fmt: (n: number) => string,
  noun: string,
): BudgetBar {
  const raw = b.limit > 0 ? b.used / b.limit : 1;
  const fraction = Math.min(1, Math.max(0, raw));
  const level = raw >= 1 ? 'hit' : raw > BUDGET_WARNING_FRACTION ? 'warning' : 'ok';
  const suffix = kind === 'tokens' ? ' tokens' : '';
  const pct = Math.round(raw * 100);
  return {
    kind,
    label: `${fmt(b.used)} / ${fmt(b.limit)}${suffix}`,
    fraction,
    level,
    description: `${pct}% of the ${noun} budget used`,
  };
}

/** One status count for the board's summary line. */
export interface StatusCount {
  status: string;
  label: string;
  count: number;
}

/** Non-zero counts, in the board's status order; statuses the panel does not know come last. */
export function statusCounts(counts: Record<string, number>): StatusCount[] {
  const order: readonly string[] = TASK_STATUS_ORDER;
  const known = order.filter((s) => (counts[s] ?? 0) > 0);
  const other = Object.keys(counts).filter((s) => !order.includes(s) && counts[s] > 0);
  return [...known, ...other].map((s) => ({ status: s, label: taskLook(s).label, count: counts[s] }));
}

/** The tokens/s chart as SVG geometry in a `width` × `height` box (y grows downwards). */
export interface ChartGeometry {
  /** The axis maximum (a round number at or above the highest sample). */
  max: number;
  /** `points` of the line's polyline; "" with fewer than two samples. */
  line: string;
  /** `points` of the filled area under the line (closed along the bottom); "" with fewer than two samples. */
  area: string;
}

/** The smallest of 1, 2, 5 × 10^n at or above `x` (at least 1). */
export function niceMax(x: number): number {
  if (!(x > 1)) return 1;
  const pow = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * pow >= x) return m * pow;
  return 10 * pow;
}

/**
 * Geometry for `samples` (oldest first, one per second). The newest sample sits at the right edge
 * and the x scale is fixed to `capacity` samples, so the line scrolls left as samples arrive.
 */
export function chartGeometry(
  samples: readonly number[],
  width: number,
  height: number,
  capacity = 120,
): ChartGeometry {
  const values = samples.slice(-capacity).map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const max = niceMax(Math.max(0, ...values));
  if (values.length < 2) return { max, line: '', area: '' };
  const step = width / Math.max(1, capacity - 1);
  const x0 = width - step * (values.length - 1);
  const pts = values.map((v, i) => `${round2(x0 + i * step)},${round2(height - (v / max) * height)}`);
  const line = pts.join(' ');
  return { max, line, area: `${round2(x0)},${height} ${line} ${width},${height}` };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A run's header line: "model@endpoint · base abc1234 (main)". */
export function runMeta(run: Pick<RunView, 'model' | 'endpoint' | 'base' | 'baseBranch'>): string {
  const parts: string[] = [];
  if (run.model || run.endpoint) parts.push([run.model, run.endpoint].filter(Boolean).join('@'));
  if (run.base) parts.push(run.baseBranch ? `base ${run.base} (${run.baseBranch})` : `base ${run.base}`);
  return parts.join(' · ');
}

/** The run's elapsed time: to its end, or to now while it is live. Null before it started. */
export function runElapsed(run: Pick<RunView, 'startedAt' | 'finishedAt' | 'live'>, hostNow: number): string | null {
  if (run.startedAt === null) return null;
  const end = run.finishedAt ?? hostNow;
  return formatDuration(end - run.startedAt);
}

/** Statuses whose reason is said on the row itself, not only in its details. */
const REASON_ON_ROW: ReadonlySet<string> = new Set(['failed', 'blocked', 'stopped', 'interrupted']);

/** Why the task failed, was blocked, stopped or interrupted, for the row; null when it has no such reason. */
export function reasonOnRow(row: Pick<TaskRow, 'status' | 'reason'>): string | null {
  if (!row.reason || !REASON_ON_ROW.has(row.status)) return null;
  return row.reason.charAt(0).toUpperCase() + row.reason.slice(1);
}

/**
 * After a change request, what the agent changed in its new round against the previous one:
 * "New round after your request: 2 files changed, +14 −3 lines." Null before any request.
 */
export function roundText(row: Pick<TaskRow, 'status' | 'changes'>): string | null {
  const c = row.changes;
  if (!c) return null;
  const head = `New round after your request${c.requests > 1 ? ` (${c.requests} so far)` : ''}`;
  if (c.diff) {
    const files = c.diff.files.length;
    const what = files === 0 ? 'no file changed' : `${files === 1 ? '1 file' : `${files} files`} changed`;
    return `${head}: ${what}, +${c.diff.added.toLocaleString('en-US')} −${c.diff.removed.toLocaleString('en-US')} lines.`;
  }
  if (c.committed) return `${head}: counting the changed lines…`;
  const busy = row.status === 'queued' || isTicking(row.status);
  return busy ? `${head}: the agent is at work on it.` : `${head}: the agent changed nothing.`;
}
