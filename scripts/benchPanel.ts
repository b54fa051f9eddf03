/**
 * `npm run bench:panel` (and the second part of `npm run bench`): the Lead panel against the
 * targets of the panel's issue, measured in one run (see BENCHMARKS.md, "Lead panel"):
 *  1. messages to the webview while a real LeadSession drives 100 agents (scripts/benchPanelSession.ts);
 *  2. the webview's responsiveness with 100 tasks at ten updates a second (scripts/benchPanelWebview.ts);
 *  3. activation in a real VS Code, over fresh launches (scripts/benchPanelVSCode.ts);
 *  4. bundle and VSIX sizes of a production build (scripts/benchPanelSizes.ts).
 * Prints each figure and a table of the targeted ones with their ratio to the target. Exits 1 when
 * the run did not complete, the page reported errors, Foreman activated before it was used, or a
 * figure could not be read; it asserts no timings.
 *
 * Options: --tasks N (100), --steps N (20), --seconds N (10, the webview feed), --rate N (10 a
 * second), --launches N (3), --only messages,webview,activation,sizes (all), --json.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureVsix } from '../test/e2e/harness';
import { benchSession } from './benchPanelSession';
import type { SessionBenchResult } from './benchPanelSession';
import { benchActivation } from './benchPanelVSCode';
import type { Activation } from './benchPanelVSCode';
import { benchWebview } from './benchPanelWebview';
import type { WebviewFigures } from './benchPanelWebview';
import { BUNDLES, measureSizes, rebuildForDevelopment } from './benchPanelSizes';
import type { SizeFigures } from './benchPanelSizes';
import { median, passes, summaryText, targetTable } from './benchStats';
import type { TargetRow } from './benchStats';
import { errorDetail } from '../src/core/errors';

const ROOT = resolve(__dirname, '..');
const PARTS = ['messages', 'webview', 'activation', 'sizes'] as const;
type Part = (typeof PARTS)[number];
const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const VSIX = join(ROOT, `${MANIFEST.name}-${MANIFEST.version}.vsix`);

interface Options {
  tasks: number;
  steps: number;
  seconds: number;
  rate: number;
  launches: number;
  only: Set<Part>;
  json: boolean;
}

/** Parse the command line; throws on an unknown flag or a bad value. */
export function parseOptions(args: string[]): Options {
  const opts: Options = {
    tasks: 100,
    steps: 20,
    seconds: 10,
    rate: 10,
    launches: 3,
    only: new Set(PARTS),
    json: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') opts.json = true;
    else if (a === '--only') {
      const parts = (args[++i] ?? '').split(',').filter(Boolean);
      const bad = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
      if (parts.length === 0 || bad.length) throw new Error(`--only takes some of ${PARTS.join(',')}`);
      opts.only = new Set(parts as Part[]);
    } else if (['--tasks', '--steps', '--seconds', '--rate', '--launches'].includes(a)) {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} takes a positive integer`);
      opts[a.slice(2) as 'tasks' | 'steps' | 'seconds' | 'rate' | 'launches'] = n;
    } else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

/** Everything measured; a part not run is null. */
interface Results {
  session: SessionBenchResult | null;
  webview: WebviewFigures | null;
  activation: Activation[] | null;
  sizes: SizeFigures | null;
  load: { before: number[]; after: number[] };
}

// --- The report --------------------------------------------------------------------------------

const ms = (n: number): string => `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ms`;
const kb = (n: number): string => `${(n / 1000).toFixed(1)} KB`;

function sessionLines(r: SessionBenchResult): string[] {
  const f = r.figures;
  const loop = f.loop;
  return [
    `1. Messages to the webview: LeadSession, ${f.tasks} tasks × ${f.steps} steps, concurrency ${f.tasks}, bench server in its own process`,
    `   run ${f.runStatus}, ${f.merged}/${f.tasks} merged, wall ${(f.wallMs / 1000).toFixed(1)} s (run/resume until the board is no longer live)`,
    `   raw change signals: ${f.signals.count} (${f.signals.perSecond.toFixed(0)}/s mean, ${f.signals.maxPerSecond} in the busiest second)`,
    `   messages sent: ${f.messages.count} (${f.messages.perSecond.toFixed(1)}/s mean, ${f.messages.maxPerSecond} in the busiest second, at least ${ms(f.messages.minGapMs)} apart)`,
    `   snapshot() + JSON.stringify per message: ${summaryText(f.build)}`,
    `   message size: mean ${f.sizeKB.mean.toFixed(1)} KB, max ${f.sizeKB.max.toFixed(1)} KB`,
    `   PanelState.safeParse per message (development mode only): ${summaryText(f.validate)}`,
    `   event loop over the run: loop delay max ${ms(loop.loopStallMs)}, interval gap max ${ms(loop.gapStallMs)} (${ms(loop.cpuStallMs)} of it on CPU)`,
    `   latenesses over 50 ms: ${f.lateOver50.count}, of which over 50 ms on CPU: ${f.lateOver50.onCpu}`,
    `   process CPU over the run ${ms(loop.cpuMs)} (engine included); the sink's share of the wall time ${(f.sinkShare * 100).toFixed(2)}%`,
    ...r.problems.map((p) => `   session log: ${p}`),
  ];
}

function webviewLines(w: WebviewFigures, o: Options): string[] {
  const from = w.source === 'session' ? "part 1's messages (the busiest stretch)" : 'the board-100 fixture moved on';
  return [
    `2. Webview: dist/webview.js (${w.minified ? 'production' : 'development'} build, ${kb(w.bundleBytes)}) in Chromium, ${w.rows} rows, ${from}, ${o.rate}/s for ${o.seconds} s`,
    `   first render of the board: ${ms(w.firstMs)}`,
    `   per update, handler + style + layout: ${summaryText(w.apply)}`,
    `   per update, until the next frame: ${summaryText(w.frame)}`,
    `   rows changed per update: mean ${w.changedRows.mean.toFixed(1)}, max ${w.changedRows.max}`,
    `   long tasks (> 50 ms) while fed: ${w.longTasks.count} (max ${ms(w.longTasks.maxMs)}, total ${ms(w.longTasks.totalMs)})`,
    `   feed took ${(w.feedMs / 1000).toFixed(1)} s; worst lateness of a message ${ms(w.maxLagMs)}`,
    ...w.problems.map((p) => `   page: ${p}`),
  ];
}

function activationLines(a: Activation[]): string[] {
  return [
    `3. Activation in code-server 4.100.3 (VS Code 1.100.3), ${a.length} fresh launch(es), through "Foreman: Show Log":`,
    ...a.map(
      (x, i) =>
        `   launch ${i + 1}: Foreman's log ${ms(x.foremanMs)} (code ${ms(x.codeMs)}, activate() ${ms(x.activateMs)}); ` +
        `VS Code's Running Extensions ${x.vscodeMs === null ? 'not read' : ms(x.vscodeMs)}; event ${x.event ?? '?'}${x.activatedAtStartup ? '; ACTIVATED AT STARTUP' : ''}`,
    ),
  ];
}

function sizeLines(s: SizeFigures): string[] {
  return [
    '4. Sizes (node esbuild.js --production; npm run package):',
    ...BUNDLES.map((b) => `   ${b.padEnd(20)} ${s.bundles[b].toLocaleString('en-US').padStart(10)} bytes`),
    `   ${s.vsix.path.slice(ROOT.length + 1).padEnd(20)} ${s.vsix.bytes.toLocaleString('en-US').padStart(10)} bytes`,
  ];
}

/** The targeted figures (and a few reported beside them), for the table. */
function targetRows(r: Results): TargetRow[] {
  const rows: TargetRow[] = [];
  const f = r.session?.figures;
  if (f) {
    rows.push({
      figure: 'messages to the webview, busiest 1 s',
      value: f.messages.maxPerSecond,
      unit: '/s',
      target: 10,
    });
    rows.push({ figure: 'snapshot + stringify, p95', value: f.build.p95, unit: 'ms', target: null });
    rows.push({
      figure: 'event-loop stall over the run',
      value: Math.max(f.loop.loopStallMs, f.loop.gapStallMs),
      unit: 'ms',
      target: 50,
    });
    rows.push({ figure: 'event-loop stall, on CPU', value: f.loop.cpuStallMs, unit: 'ms', target: 50 });
  }
  const w = r.webview;
  if (w) {
    rows.push({ figure: 'webview update, p95', value: w.apply.p95, unit: 'ms', target: 100, under: true });
    rows.push({ figure: 'webview update, max', value: w.apply.max, unit: 'ms', target: 100, under: true });
    rows.push({ figure: 'webview long tasks (> 50 ms)', value: w.longTasks.count, unit: '', target: null });
  }
  if (r.activation?.length) rows.push(...activationRows(r.activation));
  const s = r.sizes;
  if (s) {
    const ext = s.bundles['dist/extension.js'];
    rows.push({
      figure: 'dist/extension.js (loaded on activation)',
      value: ext / 1e6,
      unit: 'MB',
      target: 1.5,
      under: true,
    });
    rows.push({
      figure: '+ dist/lead.js (loaded on first use)',
      value: (ext + s.bundles['dist/lead.js']) / 1e6,
      unit: 'MB',
      target: 1.5,
      under: true,
    });
    rows.push({ figure: 'VSIX', value: s.vsix.bytes / 1e6, unit: 'MB', target: 2, under: true });
  }
  return rows;
}

/** Median and worst of the launches, by Foreman's own figure and by VS Code's. */
function activationRows(a: Activation[]): TargetRow[] {
  const rows = (label: string, xs: number[]): TargetRow[] =>
    xs.length === 0
      ? []
      : [
          {
            figure: `activation, ${label}, median of ${xs.length}`,
            value: median(xs),
            unit: 'ms',
            target: 50,
            under: true,
          },
          {
            figure: `activation, ${label}, worst of ${xs.length}`,
            value: Math.max(...xs),
            unit: 'ms',
            target: 50,
            under: true,
          },
        ];
  const vs = a.map((x) => x.vscodeMs).filter((x): x is number => x !== null);
  return [
    ...rows(
      "Foreman's log",
      a.map((x) => x.foremanMs),
    ),
    ...rows("VS Code's figure", vs),
  ];
}

function report(r: Results, o: Options): string {
  const l = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  return [
    `Foreman bench, the Lead panel (${[...o.only].join(', ')})`,
    `Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ${process.platform}; load average ${l(r.load.before)} before, ${l(r.load.after)} after`,
    '',
    ...(r.session ? [...sessionLines(r.session), ''] : []),
    ...(r.webview ? [...webviewLines(r.webview, o), ''] : []),
    ...(r.activation ? [...activationLines(r.activation), ''] : []),
    ...(r.sizes ? [...sizeLines(r.sizes), ''] : []),
    ...targetTable(targetRows(r)),
    '',
    'Targets (issue 3): at most ~10 messages a second to the panel, responsive with 100 tasks (an update well within the 100 ms between',
    'messages; no event-loop stall over 50 ms), activation under 50 ms, extension bundle under 1.5 MB, VSIX under 2 MB (MB = 10^6 bytes).',
  ].join('\n');
}

/** What makes the run invalid (not a timing): an incomplete run, page errors, an eager activation, an unread figure. */
function problemsOf(r: Results, o: Options): string[] {
  const out: string[] = [];
  const f = r.session?.figures;
  if (f && (f.runStatus !== 'completed' || f.merged !== f.tasks))
    out.push(`the run did not complete: ${f.runStatus}, ${f.merged}/${f.tasks} merged`);
  if (r.webview?.problems.length) out.push(`the webview reported ${r.webview.problems.length} error(s)`);
  if (r.webview && r.webview.rows < o.tasks) out.push(`the board showed ${r.webview.rows} rows, not ${o.tasks}`);
  if (r.activation?.some((a) => a.activatedAtStartup))
    out.push('Foreman activated before any of its commands or views was used');
  if (r.activation?.some((a) => a.vscodeMs === null))
    out.push("VS Code's activation figure could not be read from Running Extensions");
  return out;
}

// --- The run -----------------------------------------------------------------------------------

/** The VSIX for part 3 without part 4: the harness packages one when it is stale, and dist/ is then restored. */
function freshVsix(): string {
  const before = existsSync(VSIX) ? statSync(VSIX).mtimeMs : 0;
  const vsix = ensureVsix();
  if (statSync(vsix).mtimeMs !== before) rebuildForDevelopment();
  return vsix;
}

/** Run the chosen parts: the session first, the production build (then restored), the browser, VS Code. */
async function runParts(o: Options): Promise<Results> {
  const tmp = mkdtempSync(join(tmpdir(), 'foreman-bench-webview-'));
  const r: Results = {
    session: null,
    webview: null,
    activation: null,
    sizes: null,
    load: { before: loadavg(), after: [] },
  };
  try {
    if (o.only.has('messages')) r.session = await benchSession({ tasks: o.tasks, steps: o.steps });
    let bundle = join(ROOT, 'dist/webview.js');
    if (o.only.has('sizes')) {
      const shipped = join(tmp, 'webview.js');
      try {
        r.sizes = measureSizes(shipped);
        bundle = shipped;
      } finally {
        rebuildForDevelopment();
      }
    } else if (o.only.has('webview')) {
      copyFileSync(bundle, join(tmp, 'webview.js'));
      bundle = join(tmp, 'webview.js');
    }
    if (o.only.has('webview')) {
      const messages = r.session ? r.session.messages.map((m) => m.json) : null;
      r.webview = await benchWebview({ bundle, messages, tasks: o.tasks, seconds: o.seconds, rate: o.rate });
    }
    if (o.only.has('activation')) r.activation = await benchActivation(r.sizes?.vsix.path ?? freshVsix(), o.launches);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  r.load.after = loadavg();
  return r;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const r = await runParts(o);
  console.log(report(r, o));
  if (o.json) {
    const { session, ...rest } = r;
    console.log(
      JSON.stringify({
        ...rest,
        session: session && { figures: session.figures, problems: session.problems },
        targets: targetRows(r).map((t) => ({ ...t, pass: passes(t) })),
      }),
    );
  }
  const problems = problemsOf(r, o);
  for (const p of problems) console.error(`bench:panel: ${p}`);
  if (problems.length) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`bench:panel: ${errorDetail(e)}`);
    process.exit(1);
  });
}
