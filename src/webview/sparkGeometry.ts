/**
 * Where the Backends section's small charts put their points. A chart spans the readings it has,
 * up to `capacity` (the series' last 120 polls): the first reading at the left edge and the newest
 * at the right, so a run of a minute fills the chart as a run of an hour does, and once the
 * capacity is reached the line scrolls left. Lines of one chart share the x scale of the longest
 * one, each ending at the right edge.
 */

/** The chart's size in SVG units, and the most readings across it. */
export interface SparkFrame {
  width: number;
  height: number;
  capacity: number;
}

/** How many readings the chart spans: the longest line's, at most the capacity. */
export function sparkSpan(lines: readonly (readonly number[])[], capacity: number): number {
  return Math.min(capacity, Math.max(0, ...lines.map((l) => l.length)));
}

/**
 * Polyline points of `values` scaled to `max` (negative values at the floor) on a chart spanning
 * `span` readings, newest at the right edge; '' with fewer than two readings to join.
 */
export function sparkPoints(values: readonly number[], max: number, span: number, frame: SparkFrame): string {
  const shown = values.slice(-Math.min(span, frame.capacity));
  if (shown.length < 2 || span < 2) return '';
  const step = frame.width / (span - 1);
  const x0 = frame.width - step * (shown.length - 1);
  const y = (v: number) => frame.height - (Math.max(0, v) / max) * frame.height;
  return shown.map((v, i) => `${(x0 + i * step).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
}
