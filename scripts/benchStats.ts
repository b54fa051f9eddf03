/**
 * Small figures and report helpers shared by the Lead panel bench (scripts/benchPanel*.ts):
 * summaries of samples, the busiest one-second window of a series of timestamps, and the table of
 * targets with their ratios and verdicts.
 */

/** Mean, 95th percentile and maximum of a sample (all 0 for an empty one). */
export interface Summary {
  count: number;
  mean: number;
  p95: number;
  max: number;
}

/** The median of `xs` (the mean of the middle two for an even count); 0 for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Summarise `xs` (nearest-rank percentile). */
export function summarise(xs: readonly number[]): Summary {
  if (xs.length === 0) return { count: 0, mean: 0, p95: 0, max: 0 };
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1);
  return {
    count: xs.length,
    mean: xs.reduce((s, x) => s + x, 0) / xs.length,
    p95: sorted[rank],
    max: sorted[sorted.length - 1],
  };
}

/**
 * The most timestamps (ms, ascending) that fall in any half-open window [t, t + windowMs) that
 * starts at one of them: the busiest second of a message stream, for windowMs = 1000.
 */
export function maxInWindow(times: readonly number[], windowMs = 1000): number {
  let best = 0;
  let end = 0;
  for (let start = 0; start < times.length; start++) {
    while (end < times.length && times[end] < times[start] + windowMs) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

/**
 * One line of the targets table. `target` null: a figure reported without a target. `under`: the
 * value must stay below the target ("under 50 ms"); otherwise it may reach it ("at most ten").
 */
export interface TargetRow {
  figure: string;
  value: number;
  unit: string;
  target: number | null;
  under?: boolean;
}

/** Whether a targeted row holds. */
export function passes(row: TargetRow): boolean {
  if (row.target === null) return true;
  return row.under ? row.value < row.target : row.value <= row.target;
}

function show(n: number, unit: string): string {
  const digits = unit === 'MB' ? 3 : Number.isInteger(n) ? 0 : n < 10 ? 2 : n < 100 ? 1 : 0;
  return `${n.toFixed(digits)} ${unit}`.trim();
}

/** The rows as an aligned table: figure, value, target, ratio to the target, PASS or FAIL. */
export function targetTable(rows: readonly TargetRow[]): string[] {
  const head = ['figure', 'value', 'target', 'ratio', 'verdict'];
  const cells = rows.map((r) => [
    r.figure,
    show(r.value, r.unit),
    r.target === null ? '–' : `${r.under ? '< ' : '≤ '}${show(r.target, r.unit)}`,
    r.target === null ? '–' : `${(r.value / r.target).toFixed(2)}×`,
    r.target === null ? '(no target)' : passes(r) ? 'PASS' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string =>
    c
      .map((x, i) => (i === 0 || i === 4 ? x.padEnd(widths[i]) : x.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}

/** "mean 1.2 ms, p95 3.4 ms, max 5.6 ms (n = 78)". */
export function summaryText(s: Summary, unit = 'ms'): string {
  const f = (n: number): string => show(n, unit);
  return `mean ${f(s.mean)}, p95 ${f(s.p95)}, max ${f(s.max)} (n = ${s.count})`;
}
