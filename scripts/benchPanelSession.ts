/**
 * The Lead panel bench, part 1: what the extension host sends the webview while a 100-task run
 * streams. A real LeadSession (src/app/leadSession.ts) on a plain-object LeadHost, a real temporary
 * git repository, the bench's scripted model server in its own process (scripts/benchServer.ts,
 * every agent ~20 steps), concurrency 100. It is subscribed the way the extension subscribes
 * (src/host/sessionHolder.ts): `onDidChange` → `createUpdateThrottle` at MAX_UPDATES_PER_SECOND →
 * a sink that builds `snapshot()` and JSON-stringifies the `state/didChange` message (what
 * `webview.postMessage` serialises), and counts.
 *
 * The session plans at most 50 tasks (the planner's cap, also applied to `plan/edit`), so the
 * 100-task run is put into the repository's history first, as an interrupted run that has not
 * started a task, with the app's own `launchRun`; the session then drives it with `run/resume`,
 * the same board, engine and adapters as a run started from a plan.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_POLICY } from '../src/core/commandPolicy';
import type { Plan } from '../src/core/plan';
import { validatePlan } from '../src/core/planGraph';
import { buildRepoView } from '../src/core/repoView';
import { createRepoReader } from '../src/infra/repoReader';
import { DemoServer, resolveBackend } from '../src/app/backends';
import type { LeadHost, LeadSettings } from '../src/app/leadHost';
import { createLeadSession } from '../src/app/leadSession';
import type { LeadSession } from '../src/app/leadSession';
import { launchRun } from '../src/app/runLauncher';
import { createUpdateThrottle } from '../src/app/updateThrottle';
import { MAX_UPDATES_PER_SECOND } from '../src/protocol/constants';
import { PanelState } from '../src/protocol/panel';
import { Monitor, startServer } from './bench';
import type { PhaseFigures } from './bench';
import { benchPlan, makeRepo } from './benchServer';
import { maxInWindow, summarise } from './benchStats';
import type { Summary } from './benchStats';
import { DEFAULT_SANDBOX_SETTINGS } from '../src/core/sandbox';
import { createSystemSandbox } from '../src/infra/systemSandbox';

/** How big a run. */
export interface SessionBenchOptions {
  tasks: number;
  steps: number;
}

/** What part 1 measured. */
export interface SessionFigures {
  tasks: number;
  steps: number;
  runStatus: string;
  merged: number;
  /** From `run/resume` until the sink saw the run no longer live. */
  wallMs: number;
  /** The session's raw change signals. */
  signals: { count: number; perSecond: number; maxPerSecond: number };
  /** Messages the throttle let through to the sink; `minGapMs`: the shortest time between two. */
  messages: { count: number; perSecond: number; maxPerSecond: number; minGapMs: number };
  /** snapshot() + JSON.stringify of one message, ms. */
  build: Summary;
  /** Message size, KB (1000 bytes). */
  sizeKB: Summary;
  /** PanelState.safeParse of one state, ms: the host does it per message in development mode only. */
  validate: Summary;
  /** The process's event loop and CPU over the run (the engine's work included). */
  loop: PhaseFigures;
  /** Latenesses of the monitor's 5 ms timer over 50 ms, and how many of them were over 50 ms on CPU. */
  lateOver50: { count: number; onCpu: number };
  /** Share of the run's wall time the sink spent building and stringifying. */
  sinkShare: number;
}

/** Part 1's figures, and the messages sent while the whole board was on it (for part 2). */
export interface SessionBenchResult {
  figures: SessionFigures;
  /** `state/didChange` messages as sent (JSON), with their send time (ms, performance.now). */
  messages: { at: number; json: string }[];
  /** Warnings and errors the session logged. */
  problems: string[];
}

const PRICE = { input: 0.15, cachedInput: 0.015, output: 0.6 };

/** The editor's settings for the bench: one backend (the bench server), no checks, no review. */
function benchSettings(url: string, worktreeRoot: string, o: SessionBenchOptions): LeadSettings {
  return {
    backends: [
      {
        name: 'bench',
        baseUrl: url,
        models: ['bench-model'],
        maxConcurrentRequests: o.tasks,
        requestTimeoutMs: 60_000,
        prices: { 'bench-model': PRICE },
      },
    ],
    defaultBackend: 'bench',
    roles: {},
    concurrency: o.tasks,
    holdForReview: false,
    budgets: { runTokens: null, runCost: null, taskTokens: null, taskCost: null },
    checks: [],
    review: false,
    worktreeRoot,
    retention: { keepFinishedRuns: 3, abandonedAfterDays: 7 },
    setup: { command: null, include: null },
    commandPolicy: DEFAULT_POLICY,
    approvalTimeoutMs: 300_000,
    maxTasks: o.tasks,
    maxSteps: o.steps + 20,
    maxRepairRounds: 0,
    dirty: 'refuse',
    sandbox: { ...DEFAULT_SANDBOX_SETTINGS },
  };
}

/** A LeadHost of plain objects, as the integration tests have it; warnings and errors are kept. */
function benchHost(folder: string, settings: LeadSettings, problems: string[]): LeadHost {
  const memory = new Map<string, unknown>();
  return {
    folder,
    isTrusted: () => true,
    readSettings: () => settings,
    apiKey: async () => undefined,
    hasApiKey: async () => false,
    addBackend: async () => {
      throw new Error('the bench adds no backends');
    },
    memory: {
      get: <T>(key: string) => memory.get(key) as T | undefined,
      set: async (key, value) => void memory.set(key, value),
    },
    log: (level, message) => {
      if (level !== 'info') problems.push(`${level}: ${message}`);
    },
    withProgress: (_title, work) => work(new AbortController().signal),
  };
}

/** The bench plan, validated like a developer's plan but with the cap raised to its size. */
function plan(tasks: number): Plan {
  const raw = benchPlan(tasks);
  const checked = validatePlan({ tasks: raw.tasks }, raw.spec, { maxTasks: tasks });
  if (!checked.ok) throw new Error(`the bench plan is invalid: ${checked.errors.join('; ')}`);
  return checked.plan;
}

/**
 * Record a run of the plan in the repository's history without driving it (the journal holds its
 * start, its plan and every task queued): to the session it is an interrupted run to resume.
 */
async function interruptedRun(
  session: LeadSession,
  host: LeadHost,
  settings: LeadSettings,
  root: string,
  tasks: number,
): Promise<string> {
  const options = session.snapshot().options;
  // The bench's backend is its own server, never the demo, so the demo's workspace is never asked.
  const backend = await resolveBackend(host, settings, options, new DemoServer(0, () => ({ root, sample: false })));
  const repoView = await buildRepoView(createRepoReader(root));
  const run = await launchRun(
    { folder: root, settings, options, sandbox: createSystemSandbox(), log: () => undefined, backend },
    { plan: plan(tasks), repoView, responses: [] },
  );
  await run.journal.flush();
  run.journal.close();
  return run.engine.config.runId;
}

/** What the sink recorded. */
interface Recorded {
  signals: number[];
  sends: { at: number; buildMs: number; bytes: number }[];
  messages: { at: number; json: string }[];
}

/**
 * Subscribe like the host: every change signal goes to the throttle, the throttle's sends to the
 * sink. Resolves when the sink has sent a state whose run, once live, is live no more.
 */
function subscribe(
  session: LeadSession,
  tasks: number,
  rec: Recorded,
): { settled: Promise<PanelState>; stop: () => void } {
  let done: (s: PanelState) => void = () => undefined;
  // The stored run is on the board (not live) for a moment before the resume drives it.
  let sawLive = false;
  const settled = new Promise<PanelState>((resolve) => (done = resolve));
  const sink = (): void => {
    const t0 = performance.now();
    const state = session.snapshot();
    const json = JSON.stringify({ type: 'state/didChange', state });
    const buildMs = performance.now() - t0;
    // A message counts from when the throttle let it go (the send's start), not from when it is built.
    rec.sends.push({ at: t0, buildMs, bytes: Buffer.byteLength(json) });
    if ((state.run?.tasks.length ?? 0) >= tasks) rec.messages.push({ at: t0, json });
    sawLive ||= state.run?.live === true;
    if (sawLive && state.run && !state.run.live) done(state);
  };
  const throttle = createUpdateThrottle(sink, MAX_UPDATES_PER_SECOND);
  const unsubscribe = session.onDidChange(() => {
    rec.signals.push(performance.now());
    throttle.signal();
  });
  return { settled, stop: () => (unsubscribe(), throttle.dispose()) };
}

/** Time PanelState.safeParse on up to 40 of the messages, spread over the run. */
function validationTimes(messages: { json: string }[]): number[] {
  const step = Math.max(1, Math.floor(messages.length / 40));
  const times: number[] = [];
  for (let i = 0; i < messages.length; i += step) {
    const { state } = JSON.parse(messages[i].json) as { state: unknown };
    const t0 = performance.now();
    const parsed = PanelState.safeParse(state);
    times.push(performance.now() - t0);
    if (!parsed.success)
      throw new Error(
        `a state sent to the panel does not match the protocol: ${JSON.stringify(parsed.error.issues.slice(0, 2))}`,
      );
  }
  return times;
}

function rates(times: number[], wallMs: number): { count: number; perSecond: number; maxPerSecond: number } {
  return { count: times.length, perSecond: times.length / (wallMs / 1000), maxPerSecond: maxInWindow(times) };
}

function minGap(times: number[]): number {
  return times.slice(1).reduce((m, t, i) => Math.min(m, t - times[i]), Infinity);
}

/** Drive the run through the session and measure what the sink sends. */
async function measure(
  session: LeadSession,
  runId: string,
  o: SessionBenchOptions,
): Promise<Omit<SessionBenchResult, 'problems'>> {
  const rec: Recorded = { signals: [], sends: [], messages: [] };
  const monitor = new Monitor();
  const sub = subscribe(session, o.tasks, rec);
  monitor.start();
  const started = performance.now();
  let final: PanelState;
  try {
    await session.handle({ type: 'run/resume', runId });
    final = await sub.settled;
  } finally {
    sub.stop();
  }
  const wallMs = performance.now() - started;
  monitor.endPhase('panel run');
  monitor.stop();
  const run = final.run!;
  const figures: SessionFigures = {
    tasks: o.tasks,
    steps: o.steps,
    runStatus: run.status,
    merged: run.tasks.filter((t) => t.status === 'merged').length,
    wallMs,
    signals: rates(rec.signals, wallMs),
    messages: {
      ...rates(
        rec.sends.map((s) => s.at),
        wallMs,
      ),
      minGapMs: minGap(rec.sends.map((s) => s.at)),
    },
    build: summarise(rec.sends.map((s) => s.buildMs)),
    sizeKB: summarise(rec.sends.map((s) => s.bytes / 1000)),
    validate: summarise(validationTimes(rec.messages)),
    loop: monitor.phases[0],
    lateOver50: {
      count: monitor.stalls.filter((x) => x.ms > 50).length,
      onCpu: monitor.stalls.filter((x) => x.cpuMs > 50).length,
    },
    sinkShare: rec.sends.reduce((s, x) => s + x.buildMs, 0) / wallMs,
  };
  return { figures, messages: rec.messages };
}

/** Part 1: a LeadSession drives `tasks` agents of `steps` steps each; the panel's messages measured. */
export async function benchSession(o: SessionBenchOptions): Promise<SessionBenchResult> {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-bench-panel-')));
  const root = join(tmp, 'repo');
  mkdirSync(root);
  makeRepo(root);
  const server = await startServer(o.steps);
  const problems: string[] = [];
  let session: LeadSession | null = null;
  try {
    const settings = benchSettings(server.url, join(tmp, 'worktrees'), o);
    const host = benchHost(root, settings, problems);
    session = await createLeadSession(host);
    const runId = await interruptedRun(session, host, settings, root, o.tasks);
    await session.refresh();
    return { ...(await measure(session, runId, o)), problems };
  } finally {
    await session?.dispose();
    server.child.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}
