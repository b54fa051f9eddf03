/**
 * The run's output tokens per second over the last two minutes: an SVG area and line drawn with
 * createElementNS (no library), stretched to the panel's width, with the axis maximum as text.
 */
import { chartGeometry } from './boardModel';
import { h, setAttr, setText } from './dom';
import { formatRate } from './format';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 240;
const HEIGHT = 48;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** The tokens/s chart. */
export class RateChart {
  private readonly area = svg('polygon', { class: 'chart-area' });
  private readonly line = svg('polyline', { class: 'chart-line', 'vector-effect': 'non-scaling-stroke' });
  private readonly image = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: 'none',
    class: 'chart-svg',
    role: 'img',
    focusable: 'false',
  });
  private readonly max = h('span', { class: 'chart-max' });
  private readonly now = h('span', { class: 'chart-now' });
  private readonly empty = h('span', { class: 'chart-empty muted', text: 'No output yet.' });
  readonly el: HTMLElement;
  private signature = '';

  constructor() {
    const grid = svg('line', {
      class: 'chart-grid',
      x1: '0',
      y1: String(HEIGHT / 2),
      x2: String(WIDTH),
      y2: String(HEIGHT / 2),
      'vector-effect': 'non-scaling-stroke',
    });
    this.image.append(grid, this.area, this.line);
    this.el = h(
      'figure',
      { class: 'chart' },
      h('figcaption', { class: 'chart-caption' }, h('span', { text: 'Output tokens/s, last 2 min' }), this.now),
      h('div', { class: 'chart-plot' }, this.max, this.image, this.empty),
    );
  }

  /**
   * Draw `samples` (tokens/s, one a second), with `current` as the figure now and `output` the
   * run's output tokens so far: with output but no series, the backend's answers were not timed
   * (each came whole), which the chart says instead of "No output yet.".
   */
  update(samples: readonly number[], current: number | null, output: number): void {
    const sig = `${samples.join(',')}|${current}|${output > 0}`;
    if (sig === this.signature) return;
    this.signature = sig;
    const g = chartGeometry(samples, WIDTH, HEIGHT);
    setAttr(this.line, 'points', g.line);
    setAttr(this.area, 'points', g.area);
    setText(this.max, formatRate(g.max));
    setText(this.now, `now ${formatRate(current)}`);
    const peak = Math.max(0, ...samples);
    setAttr(
      this.image,
      'aria-label',
      `Output tokens per second over the last ${samples.length} seconds; peak ${formatRate(peak)}, now ${formatRate(current)}.`,
    );
    this.empty.hidden = g.line !== '';
    setText(
      this.empty,
      output > 0
        ? 'No timed output: the backend sent each answer whole, so there is no rate to show.'
        : 'No output yet.',
    );
  }
}
