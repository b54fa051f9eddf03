/**
 * The Lead panel bench, part 2: is the webview responsive with 100 tasks on the board while it
 * receives ten updates a second? The built dist/webview.js runs in Debian's Chromium (through
 * playwright-core) in the page the host serves, with helper scripts/webview-preview.mjs's harness
 * (same CSP, theme variables, a fake acquireVsCodeApi). It gets `state/didChange` messages at
 * `rate` a second for `seconds` seconds: by default the very messages part 1 sent while its
 * 100-task run streamed (statuses, steps, tokens and the chart changing as they did), the busiest
 * stretch of them; without them, the board-100 fixture moved on step by step.
 *
 * Measured in the page: per message, the time from dispatching the `message` event until the
 * handler has run and style and layout are done (forced by reading offsetHeight), and until the
 * next animation frame; and every long task (> 50 ms) the browser reports while the messages arrive.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { summarise } from './benchStats';
import type { Summary } from './benchStats';
import type * as PreviewModule from './webview-preview.mjs' with { 'resolution-mode': 'import' };

/** What to feed, how fast, for how long. */
export interface WebviewBenchOptions {
  /** The webview bundle to load (dist/webview.js, or a copy of the production one). */
  bundle: string;
  /** Part 1's messages (JSON), or null for the fixture. */
  messages: string[] | null;
  tasks: number;
  seconds: number;
  rate: number;
}

/** What part 2 measured. */
export interface WebviewFigures {
  source: 'session' | 'fixture';
  bundleBytes: number;
  minified: boolean;
  rows: number;
  /** The first 100-task state on a fresh page, ms. */
  firstMs: number;
  /** Handler + style + layout per update, ms. */
  apply: Summary;
  /** Until the next animation frame after each update, ms. */
  frame: Summary;
  /** Rows whose status, step or output tokens changed, per update. */
  changedRows: Summary;
  longTasks: { count: number; maxMs: number; totalMs: number };
  /** Wall time of the feed, and how far the messages fell behind their schedule at worst. */
  feedMs: number;
  maxLagMs: number;
  problems: string[];
}

/**
 * Installed in the page before the panel's script runs (as a string: the bench's own compiled
 * functions may not be serialisable into the page): a PerformanceObserver for long tasks, and
 * `__deliver(json)`, which delivers one message as VS Code does (a `message` event on the window)
 * and times the handler with style and layout (forced by reading offsetHeight), then the next frame.
 */
const PAGE_HELPERS = `
window.__longTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, ms: e.duration });
  }).observe({ type: 'longtask', buffered: true });
} catch (e) { window.__longTasks = null; }
window.__deliver = (text) => {
  const data = JSON.parse(text);
  const t0 = performance.now();
  window.dispatchEvent(new MessageEvent('message', { data }));
  void document.body.offsetHeight;
  const apply = performance.now() - t0;
  return new Promise((resolve) => {
    let fallback = 0;
    const done = () => { clearTimeout(fallback); resolve({ apply, frame: performance.now() - t0 }); };
    fallback = setTimeout(done, 1000);
    requestAnimationFrame(() => setTimeout(done, 0));
  });
};`;

/** What the page helpers add to the window. */
type Helpers = {
  __deliver(json: string): Promise<{ apply: number; frame: number }>;
  __longTasks: { start: number; ms: number }[] | null;
};

/** scripts/webview-preview.mjs, an ES module: loaded with import() from this CommonJS script. */
type Preview = typeof PreviewModule;
const preview = (): Promise<Preview> => import('./webview-preview.mjs');

type Row = { id: string; status: string; step?: number; usage?: { output: number } };
type Message = { state: { run: { tasks: Row[] } | null } };

/** Rows that differ between two messages (status, step or output tokens). */
function changed(a: Message, b: Message): number {
  const before = new Map((a.state.run?.tasks ?? []).map((t) => [t.id, t]));
  return (b.state.run?.tasks ?? []).filter((t) => {
    const o = before.get(t.id);
    return !o || o.status !== t.status || o.step !== t.step || o.usage?.output !== t.usage?.output;
  }).length;
}

/** The `count` consecutive messages in which the most rows change (the busiest stretch of the run). */
function busiest(all: string[], count: number): { messages: string[]; changes: number[] } {
  const parsed = all.map((m) => JSON.parse(m) as Message);
  const changes = parsed.map((m, i) => (i === 0 ? 0 : changed(parsed[i - 1], m)));
  if (all.length <= count) return { messages: all, changes };
  let best = 0;
  let sum = changes.slice(0, count).reduce((s, x) => s + x, 0);
  let bestSum = sum;
  for (let start = 1; start + count <= all.length; start++) {
    sum += changes[start + count - 1] - changes[start - 1];
    if (sum > bestSum) [best, bestSum] = [start, sum];
  }
  return { messages: all.slice(best, best + count), changes: changes.slice(best, best + count) };
}

/** The board-100 fixture moved on `count` times (working rows step on; statuses cycle a little). */
function fixtureMessages({ loadFixture, boardUpdate }: Preview, count: number): string[] {
  const board = loadFixture('board-100');
  const cycle = ['queued', 'setting_up', 'working', 'verifying', 'verified', 'merged'];
  return Array.from({ length: count }, (_, k) => {
    const s = boardUpdate(board, k);
    const tasks = s.run!.tasks;
    for (let j = 0; j < 5; j++) {
      const t = tasks[(k * 5 + j) % tasks.length];
      t.status = cycle[(cycle.indexOf(t.status) + 1) % cycle.length] as typeof t.status;
    }
    return JSON.stringify({ type: 'state/didChange', state: s });
  });
}

/** Deliver one message through the page's `__deliver`. */
function deliver(page: Page, json: string): Promise<{ apply: number; frame: number }> {
  return page.evaluate((text) => (window as unknown as Helpers).__deliver(text), json);
}

/** Feed the messages on their schedule; returns per-message timings and the worst lateness. */
async function feed(
  page: Page,
  messages: string[],
  rate: number,
): Promise<{ apply: number[]; frame: number[]; lag: number; wall: number; from: number }> {
  const interval = 1000 / rate;
  const apply: number[] = [];
  const frame: number[] = [];
  const from = await page.evaluate(() => performance.now());
  const start = performance.now();
  let lag = 0;
  for (let i = 0; i < messages.length; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    lag = Math.max(lag, performance.now() - due);
    const t = await deliver(page, messages[i]);
    apply.push(t.apply);
    frame.push(t.frame);
  }
  return { apply, frame, lag, wall: performance.now() - start, from };
}

async function longTasksSince(page: Page, from: number): Promise<WebviewFigures['longTasks']> {
  const all = await page.evaluate(() => (window as unknown as Helpers).__longTasks);
  if (all === null) throw new Error('this Chromium does not report long tasks');
  const mine = all.filter((t) => t.start >= from);
  return {
    count: mine.length,
    maxMs: Math.max(0, ...mine.map((t) => t.ms)),
    totalMs: mine.reduce((s, t) => s + t.ms, 0),
  };
}

/** Open the panel on the bundle under test and run the feed. */
async function run(
  openPanel: Preview['openPanel'],
  browser: Browser,
  url: string,
  o: WebviewBenchOptions,
  messages: string[],
): Promise<Omit<WebviewFigures, 'source' | 'bundleBytes' | 'minified' | 'changedRows'>> {
  const context = await browser.newContext({ viewport: { width: 380, height: 900 }, deviceScaleFactor: 1 });
  try {
    await context.route('**/webview.js', (route) =>
      route.fulfill({ contentType: 'text/javascript', body: readFileSync(o.bundle, 'utf8') }),
    );
    await context.addInitScript({ content: PAGE_HELPERS });
    const page = await openPanel(browser, url, { context });
    const first = await deliver(page, messages[0]);
    const rows = await page.locator('[data-task-id]').count();
    await sleep(1000 / o.rate);
    const f = await feed(page, messages.slice(1), o.rate);
    return {
      rows,
      firstMs: first.apply,
      apply: summarise(f.apply),
      frame: summarise(f.frame),
      longTasks: await longTasksSince(page, f.from),
      feedMs: f.wall,
      maxLagMs: f.lag,
      problems: page.problems,
    };
  } finally {
    await context.close();
  }
}

/** Part 2: feed the panel ~`seconds` × `rate` updates of a 100-task board and time them. */
export async function benchWebview(o: WebviewBenchOptions): Promise<WebviewFigures> {
  const count = Math.max(2, Math.round(o.seconds * o.rate) + 1);
  const source = o.messages && o.messages.length > 1 ? 'session' : 'fixture';
  const picked = source === 'session' ? busiest(o.messages!, count) : null;
  const harness = await preview();
  const base = picked ? picked.messages : fixtureMessages(harness, count);
  // A short run sends fewer messages than the feed needs: they are played again from the start.
  const messages = Array.from({ length: count }, (_, i) => base[i % base.length]);
  const bundle = readFileSync(o.bundle, 'utf8');
  const server = await harness.startPreviewServer();
  const browser = await harness.launchChromium();
  try {
    const figures = await run(harness.openPanel, browser, server.url, o, messages);
    const parsed = messages.map((m) => JSON.parse(m) as Message);
    const changedRows = summarise(parsed.slice(1).map((m, i) => changed(parsed[i], m)));
    return {
      source,
      bundleBytes: Buffer.byteLength(bundle),
      minified: !bundle.includes('sourceMappingURL'),
      changedRows,
      ...figures,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
