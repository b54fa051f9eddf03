/**
 * Compact number, money, time and text formats for the Lead panel. Pure: no DOM, no clock; every
 * function gives the same text for the same input, so the panel's wording is unit-tested in Node.
 */
import type { Usage } from '../protocol/panel';

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** A count in at most four characters or so: 999, 1.2k, 12.3k, 123k, 4.5M. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  for (const [size, unit] of UNITS) {
    if (abs >= size * 0.9995) return `${scaled(n / size)}${unit}`;
  }
  return String(Math.round(n));
}

/** 1 → "1", 1.25 → "1.3", 12.34 → "12.3", 123.4 → "123": three significant digits, no trailing ".0". */
function scaled(x: number): string {
  const abs = Math.abs(x);
  const text = abs >= 100 ? x.toFixed(0) : x.toFixed(1);
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

/**
 * Money in the prices' currency: "$0.0123", "$0.42", "$12.50", "$1.2k"; "<$0.0001" for dust; "—"
 * when the model has no price.
 */
export function formatCost(cost: number | null): string {
  if (cost === null || !Number.isFinite(cost)) return '—';
  const abs = Math.abs(cost);
  if (abs === 0) return '$0';
  if (abs < 0.0001) return '<$0.0001';
  if (abs < 0.1) return `$${Number(cost.toPrecision(3))}`;
  if (abs < 1000) return `$${cost.toFixed(2)}`;
  return `$${formatCount(cost)}`;
}

/**
 * A usage's cost, saying when prices were missing: "$0.0012"; "$0.0012 + unpriced part" when some
 * requests had no price; "unpriced" when none had one. Never "$0" for a missing price.
 */
export function formatUsageCost(usage: Pick<Usage, 'cost' | 'unpriced'>): string {
  if (!usage.unpriced) return formatCost(usage.cost);
  return usage.cost === null ? 'unpriced' : `${formatCost(usage.cost)} + unpriced part`;
}

/** A duration: "0s", "42s", "1m 05s", "2h 03m". Negative durations (clock skew) read as "0s". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  if (h > 0) return `${h}h ${pad2(m)}m`;
  if (m > 0) return `${m}m ${pad2(s)}s`;
  return `${s}s`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Output tokens per second (src/core/throughput.ts): "0 tok/s", "4.2 tok/s", "42 tok/s",
 * "1.2k tok/s"; "— tok/s" when no request was timed.
 */
export function formatRate(tokensPerSecond: number | null): string {
  if (tokensPerSecond === null) return '— tok/s';
  const r = Math.max(0, tokensPerSecond);
  if (r === 0) return '0 tok/s';
  if (r < 10) return `${Number(r.toFixed(1))} tok/s`;
  return `${formatCount(r)} tok/s`;
}

/** The three token counts of a usage: "12.3k in · 8k cached · 1.2k out", "≈" in front when estimated. */
export function formatUsage(usage: Pick<Usage, 'input' | 'cached' | 'output' | 'estimated'>): string {
  const text = `${formatCount(usage.input)} in · ${formatCount(usage.cached)} cached · ${formatCount(usage.output)} out`;
  return usage.estimated ? `≈ ${text}` : text;
}

/** Input plus output tokens, compactly: what budgets count. */
export function formatTotalTokens(usage: Pick<Usage, 'input' | 'output'>): string {
  return `${formatCount(usage.input + usage.output)} tokens`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A moment in local time: "14:05" on the same day as `now`, "Mar 4, 14:05" in the same year,
 * "Mar 4 2024, 14:05" otherwise. Both arguments are epoch milliseconds.
 */
export function formatMoment(at: number, now: number): string {
  const d = new Date(at);
  const n = new Date(now);
  const clock = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  const sameYear = d.getFullYear() === n.getFullYear();
  if (sameYear && d.getMonth() === n.getMonth() && d.getDate() === n.getDate()) return clock;
  const day = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
  return sameYear ? `${day}, ${clock}` : `${day} ${d.getFullYear()}, ${clock}`;
}

/** The first non-blank line of a text, cut to `max` characters with an ellipsis. */
export function firstLine(text: string, max = 120): string {
  const line =
    text
      .split(/\r?\n/)
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}

/** "1 task", "3 tasks". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
