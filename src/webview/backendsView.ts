/**
 * The board's Backends section: per backend, its latest `/metrics` reading, four small charts of
 * the recent readings (requests running and waiting, KV-cache use, prefix-cache hit rate,
 * generation tokens/s) and its GPUs' energy (joules, idle draw apart, tokens per joule) or why it
 * is not measured; then the energy per task. Hidden when the run recorded no telemetry. Rebuilt
 * only when the figures change.
 */
import type { BackendTelemetryView, TelemetryView } from '../protocol/panel';
import { niceMax } from './boardModel';
import { h, rebuildIfChanged, setHidden } from './dom';
import { formatCount, formatRate } from './format';
import { sparkPoints, sparkSpan } from './sparkGeometry';
import type { SparkFrame } from './sparkGeometry';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 120;
const HEIGHT = 32;
/** A chart's frame: one point a poll, at most the series' 120 across it (sparkGeometry.ts). */
const FRAME: SparkFrame = { width: WIDTH, height: HEIGHT, capacity: 120 };

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** "44%", or "n/a" where the server does not say (or, for hits, nothing was looked up). */
function percent(v: number | null): string {
  return v === null ? 'n/a' : `${Math.round(v * 100)}%`;
}

/** "182 kJ", "950 J". */
export function formatJoules(j: number): string {
  if (j >= 1_000_000) return `${Number((j / 1_000_000).toFixed(1))} MJ`;
  if (j >= 10_000) return `${Math.round(j / 1000)} kJ`;
  if (j >= 1000) return `${Number((j / 1000).toFixed(1))} kJ`;
  return `${Math.round(j)} J`;
}

/** "0.28 tok/J", "21 tok/J", "— tok/J". */
export function formatTokPerJ(v: number | null): string {
  if (v === null) return '— tok/J';
  return `${v >= 10 ? Math.round(v) : Number(v.toFixed(2))} tok/J`;
}

/**
 * One small chart: `lines` share the y scale (`max`, or the nicest above their peak); with no
 * points it says "not reported" instead of drawing nothing.
 */
function spark(
  title: string,
  now: string,
  lines: { values: readonly number[]; cls: string }[],
  axis: (max: number) => string,
  max?: number,
): HTMLElement {
  const top = max ?? niceMax(Math.max(0, ...lines.flatMap((l) => l.values.slice(-FRAME.capacity))));
  const span = sparkSpan(
    lines.map((l) => l.values),
    FRAME.capacity,
  );
  const image = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: 'none',
    class: 'spark-svg',
    role: 'img',
    focusable: 'false',
    'aria-label': `${title}: now ${now}, scale up to ${axis(top)}`,
  });
  const first = sparkPoints(lines[0].values, top, span, FRAME);
  if (first) {
    const x0 = first.slice(0, first.indexOf(','));
    image.append(svg('polygon', { class: 'chart-area', points: `${x0},${HEIGHT} ${first} ${WIDTH},${HEIGHT}` }));
  }
  for (const l of lines) {
    const p = sparkPoints(l.values, top, span, FRAME);
    if (p)
      image.append(svg('polyline', { class: `chart-line ${l.cls}`, points: p, 'vector-effect': 'non-scaling-stroke' }));
  }
  const empty = lines.every((l) => l.values.length < 2);
  return h(
    'figure',
    { class: 'spark' },
    h(
      'figcaption',
      { class: 'chart-caption' },
      h('span', { text: title }),
      h('span', { class: 'chart-now', text: now }),
    ),
    h(
      'div',
      { class: 'chart-plot' },
      h('span', { class: 'chart-max', text: axis(top) }),
      image,
      ...(empty ? [h('span', { class: 'chart-empty muted', text: 'not reported' })] : []),
    ),
  );
}

function backendBlock(b: BackendTelemetryView): HTMLElement {
  const last = b.last;
  const count = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : formatCount(v));
  const head = h(
    'p',
    { class: 'backend-head' },
    h('code', { class: 'backend-endpoint', text: b.endpoint }),
    ...(b.server ? [h('span', { class: 'backend-server badge', text: b.server })] : []),
  );
  const parts: HTMLElement[] = [head];
  if (b.metricsNote) parts.push(h('p', { class: 'backend-note muted', text: `Metrics: not read — ${b.metricsNote}` }));
  if (last || b.series.running.length > 0) {
    const s = b.series;
    parts.push(
      h(
        'div',
        { class: 'spark-grid' },
        spark(
          'Running / waiting',
          `${count(last?.running)} / ${count(last?.waiting)}`,
          [
            { values: s.running, cls: 'spark-running' },
            { values: s.waiting, cls: 'spark-waiting' },
          ],
          (m) => formatCount(m),
        ),
        spark('KV cache', percent(last?.kvCacheUse ?? null), [{ values: s.kvCacheUse, cls: '' }], () => '100%', 1),
        spark(
          'Prefix hits',
          percent(last?.prefixHitRate ?? null),
          [{ values: s.prefixHitRate, cls: '' }],
          () => '100%',
          1,
        ),
        spark('Generation', formatRate(last?.tokensPerSecond ?? null), [{ values: s.tokensPerSecond, cls: '' }], (m) =>
          formatRate(m),
        ),
      ),
    );
  }
  const e = b.energy;
  parts.push(
    e.measured
      ? h('p', {
          class: 'backend-energy',
          text: `Energy: ${formatJoules(e.joules)} (busy ${formatJoules(e.joules - e.idleJoules)}, idle ${formatJoules(e.idleJoules)}) · ${formatCount(Math.round(e.tokens))} tokens · ${formatTokPerJ(e.tokensPerJoule)} (${formatTokPerJ(e.tokensPerJouleWithIdle)} with idle) · ${e.how}`,
        })
      : h('p', { class: 'backend-energy muted', text: `Energy: not measured — ${e.reason}` }),
  );
  return h('div', { class: 'backend', 'data-endpoint': b.endpoint }, ...parts);
}

function taskTable(t: TelemetryView): HTMLElement[] {
  if (t.tasks.length === 0) return [];
  return [
    h(
      'table',
      { class: 'energy-tasks', 'aria-label': 'Energy per task' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { text: 'Task' }),
          h('th', { text: 'Energy' }),
          h('th', { text: 'Tokens' }),
          h('th', { text: 'Tokens per joule' }),
        ),
      ),
      h(
        'tbody',
        {},
        ...t.tasks.map((row) =>
          h(
            'tr',
            { 'data-task': row.task },
            h('td', { text: row.task }),
            h('td', { text: formatJoules(row.joules) }),
            h('td', { text: formatCount(Math.round(row.tokens)) }),
            h('td', { text: formatTokPerJ(row.tokensPerJoule) }),
          ),
        ),
      ),
    ),
    h('p', {
      class: 'muted energy-footnote',
      text: 'Idle draw belongs to no task: it is counted in each backend’s line.',
    }),
  ];
}

/** The Backends section. */
export class BackendsView {
  private readonly body = h('div', { class: 'backends-body' });
  readonly el: HTMLElement = h(
    'section',
    { class: 'backends', 'aria-label': 'Backends' },
    h('h3', { class: 'backends-title', text: 'Backends' }),
    this.body,
  );

  update(telemetry: TelemetryView): void {
    setHidden(this.el, telemetry.backends.length === 0);
    rebuildIfChanged(this.body, JSON.stringify(telemetry), () => [
      ...telemetry.backends.map(backendBlock),
      ...taskTable(telemetry),
    ]);
  }
}
