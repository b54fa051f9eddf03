/**
 * `npm run bench`: the orchestrator's own cost with a model server that answers at once (see
 * BENCHMARKS.md). 100 agents × 20 steps on a real temporary repository: real worktrees, sandboxed
 * file system, openai client over HTTP, journal and transcripts; RunEngine with concurrency 100,
 * no checks, no review. Every fifth step of an agent is a `run_command`, run by the real task
 * runner in the task's bubblewrap sandbox (3 an agent at 20 steps). The scripted server runs in
 * its own process (scripts/benchServer.ts).
 *
 * Counted: this process's CPU (process.cpuUsage, user + system, libuv and GC threads included),
 * per phase and per agent step; git and every other child process is not counted. Also the
 * longest event-loop stall, wall time, requests/s, and peak rss and heap. Two barriers around the
 * real collaborators cut the phases: agents start together once all worktrees exist, and each
 * task's commit waits until every agent has finished, so "agents" holds only agent steps.
 *
 * Options: --agents N (100), --steps N (20), --check CMD (one check, run in the sandbox; none by
 * default), --no-commands (no run_command steps: the tool mix before the sandbox), --free (no
 * barriers: one natural run), --stalls (list latenesses over 20 ms on the hrtime clock, to find
 * them in a profile), --json (figures as JSON too), --keep (keep the temporary repository),
 * --no-panel (skip the last section), --no-fabric (skip the tokens-per-joule section).
 * Second section: the sandbox's cost per command (scripts/benchSandbox.ts).
 * Third section: tokens per joule (scripts/benchFabric.ts with 64 tasks, 64 at once, 3 steps a
 * task, then the same held to 8 requests at once), in a process of its own; --no-fabric skips it.
 * Last section: the Lead panel bench (scripts/benchPanel.ts, `npm run bench:panel`), run after
 * this one in a process of its own, with its defaults (and --json when given).
 * Profile: node --cpu-prof --cpu-prof-dir=prof --import tsx scripts/bench.ts --stalls
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { NO_BUDGETS } from '../src/core/budget';
import { DEFAULT_POLICY } from '../src/core/commandPolicy';
import { FINAL_TASK_STATUSES } from '../src/core/statusSets';
import { systemClock } from '../src/core/ports';
import { DEFAULT_SANDBOX_SETTINGS } from '../src/core/sandbox';
import { buildRepoView } from '../src/core/repoView';
import { RunEngine } from '../src/core/runEngine';
import type { RunState } from '../src/core/runState';
import type { RunConfig, RunDeps } from '../src/core/runTypes';
import { sharedBashParser } from '../src/infra/bashParser';
import { createGitRepo, GitRepo } from '../src/infra/gitRepo';
import { newRunId, openJournal, runJournalPath } from '../src/infra/journalFile';
import { createOpenAIClient } from '../src/infra/openaiClient';
import { createRepoReader } from '../src/infra/repoReader';
import { createWorktreeFs } from '../src/infra/sandboxFs';
import { createSystemSandbox } from '../src/infra/systemSandbox';
import { createTaskRunners } from '../src/infra/taskRunners';
import type { TaskRunners } from '../src/infra/taskRunners';
import { createTranscriptStore } from '../src/infra/transcriptFile';
import { sandboxSection } from './benchSandbox';
import { benchCommandsPerAgent, benchPlan, makeRepo } from './benchServer';
import { errorMessage } from '../src/core/errors';

const TARGET_CPU_MS_PER_STEP = 2;
const TARGET_STALL_MS = 50;
const LOOP_RESOLUTION_MS = 10;
const GAP_INTERVAL_MS = 5;
const STALL_LOG_MS = 20;
const ROOT = resolve(__dirname, '..');

interface Options {
  agents: number;
  steps: number;
  check: string | null;
  json: boolean;
  keep: boolean;
  free: boolean;
  stalls: boolean;
  panel: boolean;
  /** Agents' run_command steps, in the sandbox (`--no-commands`: none). */
  commands: boolean;
  /** The tokens-per-joule section (`--no-fabric`: skipped). */
  fabric: boolean;
}

/** Parse the command line; throws on an unknown flag or a bad number. */
export function parseOptions(args: string[]): Options {
  const opts: Options = {
    agents: 100,
    steps: 20,
    check: null,
    json: false,
    keep: false,
    free: false,
    stalls: false,
    panel: true,
    commands: true,
    fabric: true,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const flag = a.slice(2) as 'json' | 'keep' | 'free' | 'stalls';
    if (['json', 'keep', 'free', 'stalls'].includes(flag)) opts[flag] = true;
    else if (a === '--no-panel') opts.panel = false;
    else if (a === '--no-fabric') opts.fabric = false;
    else if (a === '--no-commands') opts.commands = false;
    else if (a === '--check') opts.check = args[++i] ?? null;
    else if (a === '--agents' || a === '--steps') {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} takes a positive integer`);
      opts[a === '--agents' ? 'agents' : 'steps'] = n;
    } else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

// --- Measuring ---------------------------------------------------------------------------------

/**
 * What one phase cost this process. Stalls: `loopStallMs`, monitorEventLoopDelay's max less its
 * resolution; `gapStallMs`, the largest lateness of the 5 ms interval timer; `cpuStallMs`, the
 * largest part of one such lateness that the process spent on CPU (descheduling left out).
 * `fromUs`/`toUs`: process.hrtime in µs, the clock of a --cpu-prof profile.
 */
export interface PhaseFigures {
  name: string;
  wallMs: number;
  cpuMs: number;
  loopStallMs: number;
  gapStallMs: number;
  cpuStallMs: number;
  fromUs: number;
  toUs: number;
}

/** A lateness of the interval timer over STALL_LOG_MS (for --stalls), ending at `atUs`. */
type Stall = { phase: number; ms: number; cpuMs: number; atUs: number };

const hrUs = (): number => Number(process.hrtime.bigint() / 1000n);
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

/** Event-loop stalls, CPU and memory of this process, phase by phase. */
export class Monitor {
  private hist: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private gap = 0;
  private cpuGap = 0;
  private lastCpu = 0;
  private ticks = 0;
  private phaseStart = { wall: 0, cpu: process.cpuUsage(), us: 0 };
  readonly phases: PhaseFigures[] = [];
  readonly stalls: Stall[] = [];
  peakRss = 0;
  peakHeap = 0;

  start(): void {
    this.hist.enable();
    this.last = performance.now();
    this.lastCpu = cpuMs(process.cpuUsage());
    this.phaseStart = { wall: this.last, cpu: process.cpuUsage(), us: hrUs() };
    this.timer = setInterval(() => this.tick(), GAP_INTERVAL_MS);
  }

  private tick(): void {
    const now = performance.now();
    const late = now - this.last - GAP_INTERVAL_MS;
    const cpu = cpuMs(process.cpuUsage());
    const busy = Math.max(0, Math.min(late, cpu - this.lastCpu));
    this.gap = Math.max(this.gap, late);
    this.cpuGap = Math.max(this.cpuGap, busy);
    this.last = now;
    this.lastCpu = cpu;
    if (late > STALL_LOG_MS) this.stalls.push({ phase: this.phases.length, ms: late, cpuMs: busy, atUs: hrUs() });
    if (++this.ticks % 10 === 0) this.sampleMemory();
  }

  private sampleMemory(): void {
    const m = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakHeap = Math.max(this.peakHeap, m.heapUsed);
  }

  /** Close the current phase under `name` and start the next one. */
  endPhase(name: string): void {
    const cpu = process.cpuUsage(this.phaseStart.cpu);
    const now = performance.now();
    this.hist.disable();
    this.sampleMemory();
    this.phases.push({
      name,
      wallMs: now - this.phaseStart.wall,
      cpuMs: cpuMs(cpu),
      loopStallMs: Math.max(0, this.hist.max / 1e6 - LOOP_RESOLUTION_MS),
      gapStallMs: this.gap,
      cpuStallMs: this.cpuGap,
      fromUs: this.phaseStart.us,
      toUs: hrUs(),
    });
    this.hist = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.hist.enable();
    this.gap = 0;
    this.cpuGap = 0;
    this.phaseStart = { wall: now, cpu: process.cpuUsage(), us: hrUs() };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.hist.disable();
  }
}

/**
 * Holds tasks until every expected task has arrived, then lets them go one per turn of the event
 * loop (as separate I/O completions would), so the release itself makes no stall. A task that ends
 * without arriving (it failed early) is dropped, so the others are not held for ever.
 */
class Barrier {
  private readonly waiting = new Map<string, () => void>();
  private readonly dropped = new Set<string>();
  private released = false;

  constructor(
    private expected: number,
    private readonly onRelease: () => void,
  ) {}

  arrive(key: string): Promise<void> {
    if (this.released) return Promise.resolve();
    const held = new Promise<void>((r) => this.waiting.set(key, r));
    this.check();
    return held;
  }

  drop(key: string): void {
    if (this.released || this.waiting.has(key) || this.dropped.has(key)) return;
    this.dropped.add(key);
    this.expected--;
    this.check();
  }

  private check(): void {
    if (this.released || this.waiting.size < this.expected) return;
    this.released = true;
    this.onRelease();
    const next = [...this.waiting.values()];
    const step = (): void => {
      next.shift()?.();
      if (next.length > 0) setImmediate(step);
    };
    setImmediate(step);
  }
}

/** The real git adapter, with each commit of a task's work held at a barrier first. */
class HeldCommitsRepo extends GitRepo {
  constructor(
    repo: GitRepo,
    runners: TaskRunners,
    private readonly barrier: Barrier,
  ) {
    super(repo.root, repo.commonDir, repo.stateDir, repo.worktreeRoot, runners);
  }

  override async commitAll(worktreePath: string, message: string): Promise<string | null> {
    await this.barrier.arrive(basename(worktreePath));
    return super.commitAll(worktreePath, message);
  }
}

// --- The run -----------------------------------------------------------------------------------

/** Start scripts/benchServer.ts in its own process (`commands`: its agents run commands); resolves with its base URL. */
export async function startServer(steps: number, commands = false): Promise<{ url: string; child: ChildProcess }> {
  const args = ['--import', 'tsx', join(ROOT, 'scripts/benchServer.ts'), '--steps', String(steps)];
  if (commands) args.push('--commands');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  const url = /^listening (\S+)/.exec(line)?.[1];
  if (!url) throw new Error(`the bench server said: ${line}`);
  return { url, child };
}

function runConfig(opts: Options): RunConfig {
  return {
    runId: newRunId(),
    concurrency: opts.agents,
    limits: { maxSteps: opts.steps + 20, maxTokens: null, maxWallMs: null },
    maxRepairRounds: 0,
    checks: opts.check ? [{ name: 'check', command: opts.check }] : [],
    checkTimeoutMs: 60_000,
    commandTimeoutMs: 60_000,
    maxOutputBytes: 32 * 1024,
    policy: DEFAULT_POLICY,
    setup: { include: null, command: null, timeoutMs: 60_000 },
    budgets: { ...NO_BUDGETS },
    prices: { '*': { input: 0.15, cachedInput: 0.015, output: 0.6 } },
  };
}

interface Outcome {
  state: RunState;
  agentRequests: number;
  /** The agents' run_command calls, and how many of them exited 0. */
  commands: { run: number; ok: number };
  events: number;
  monitor: Monitor;
}

/** Run the benchmark on the repository at `root` against the server at `url`. */
async function benchRun(opts: Options, root: string, worktreeRoot: string, url: string): Promise<Outcome> {
  const monitor = new Monitor();
  monitor.start();
  // The sandbox is on, as in a real run: a --check runs in it.
  const runners = createTaskRunners({ settings: DEFAULT_SANDBOX_SETTINGS, sandbox: createSystemSandbox() });
  const repo = await createGitRepo({ cwd: root, worktreeRoot, runners });
  const base = await repo.resolveBase('refuse');
  if (!base.ok) throw new Error(base.message);
  const repoView = await buildRepoView(createRepoReader(repo.root));
  const config = runConfig(opts);
  const started = new Barrier(opts.free ? 0 : opts.agents, () => monitor.endPhase('set-up'));
  const finished = new Barrier(opts.free ? 0 : opts.agents, () => monitor.endPhase('agents'));
  const journal = openJournal(runJournalPath(repo.stateDir, config.runId), config.runId);
  const deps: RunDeps = {
    repo: opts.free ? repo : new HeldCommitsRepo(repo, runners, finished),
    model: createOpenAIClient({
      baseUrl: url,
      model: 'bench-model',
      maxConcurrentRequests: opts.agents,
      retryBaseMs: 10,
      retryMaxMs: 100,
    }),
    reviewer: null,
    openRunner: (taskId, worktree) => runners.open(repo.taskPlace(config.runId, taskId, worktree)),
    shell: sharedBashParser(),
    openFs: async (path) => {
      const fs = await createWorktreeFs(path);
      if (!opts.free) await started.arrive(basename(path));
      return fs;
    },
    journal,
    transcripts: createTranscriptStore(join(repo.stateDir, 'runs', config.runId, 'transcripts')),
    clock: systemClock,
  };
  const engine = RunEngine.create(deps, config, { plan: benchPlan(opts.agents), repoView, base });
  const commands = { run: 0, ok: 0 };
  engine.onEvent((event) => {
    if (event.type === 'tool_call' && event.tool === 'run_command') {
      commands.run++;
      if (event.ok) commands.ok++;
    }
    if (opts.free || event.type !== 'task_status' || !FINAL_TASK_STATUSES.has(event.status)) return;
    started.drop(event.taskId);
    finished.drop(event.taskId);
  });
  const state = await engine.run();
  monitor.endPhase(opts.free ? 'free run' : 'commits + merges');
  monitor.stop();
  journal.close();
  const agentRequests = engine.ledger.records.filter((r) => r.role === 'agent').length;
  return { state, agentRequests, commands, events: state.lastSeq, monitor };
}

// --- The report --------------------------------------------------------------------------------

const ms = (n: number): string => `${n.toFixed(n < 10 ? 2 : 0)} ms`;
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MiB`;

function verdict(label: string, value: number, target: number): string {
  const ratio = value / target;
  return `${label} ${value.toFixed(2)} ms = ${ratio.toFixed(2)}× the ${target} ms target: ${ratio <= 1 ? 'PASS' : 'FAIL'}`;
}

/** The phases summed into one row. */
function wholeOf(phases: PhaseFigures[]): PhaseFigures {
  const max = (k: 'loopStallMs' | 'gapStallMs' | 'cpuStallMs'): number => Math.max(...phases.map((p) => p[k]));
  const sum = (k: 'wallMs' | 'cpuMs'): number => phases.reduce((s, p) => s + p[k], 0);
  const [first, last] = [phases[0], phases[phases.length - 1]];
  return {
    name: 'whole run',
    wallMs: sum('wallMs'),
    cpuMs: sum('cpuMs'),
    loopStallMs: max('loopStallMs'),
    gapStallMs: max('gapStallMs'),
    cpuStallMs: max('cpuStallMs'),
    fromUs: first.fromUs,
    toUs: last.toUs,
  };
}

/** One row per phase, right-aligned figures. */
function phaseTable(rows: PhaseFigures[], steps: number): string[] {
  const head = [
    'phase',
    'wall',
    'CPU (user+sys)',
    'CPU / agent step',
    'loop delay max',
    'interval gap max',
    'gap on CPU max',
  ];
  const cells = rows.map((p) => [
    p.name,
    ms(p.wallMs),
    ms(p.cpuMs),
    ms(p.cpuMs / steps),
    ms(p.loopStallMs),
    ms(p.gapStallMs),
    ms(p.cpuStallMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (c: string[]): string =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}

/** What the agents run besides the file tools. */
function commandsLine(opts: Options): string {
  const n = benchCommandsPerAgent(opts.steps, opts.commands);
  return n === 0 ? 'no commands' : `${n} sandboxed run_command steps an agent`;
}

/** The figures as a small table, then the targets as ratios. */
function report(opts: Options, out: Outcome): { text: string; figures: Record<string, unknown> } {
  const { phases, peakRss, peakHeap } = out.monitor;
  const whole = wholeOf(phases);
  const steps = out.agentRequests;
  const agents = phases.find((p) => p.name === 'agents') ?? whole;
  const scope = agents === whole ? 'whole run' : 'agents phase';
  const stall = (p: PhaseFigures): number => Math.max(p.loopStallMs, p.gapStallMs);
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const text = [
    `Foreman bench: ${opts.agents} agents × ${opts.steps} steps, ${commandsLine(opts)}, checks: ${opts.check ?? 'none'}, review off, ${opts.free ? 'no barriers' : 'phases cut by barriers'}; test server in its own process`,
    `Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ${process.platform}, load average ${load}; run ${out.state.runId}: ${out.state.status}`,
    '',
    ...phaseTable(phases.length > 1 ? [...phases, whole] : phases, steps),
    '',
    `Agent steps (model requests): ${steps}; ${(steps / (agents.wallMs / 1000)).toFixed(0)} requests/s over the ${scope}; journal events: ${out.events}`,
    `Agent commands (run_command, sandboxed): ${out.commands.run}, ${out.commands.ok} exited 0`,
    `Peak memory: rss ${mib(peakRss)}, heap used ${mib(peakHeap)}`,
    '',
    ...(agents === whole
      ? []
      : [verdict('CPU per agent step (agents phase)', agents.cpuMs / steps, TARGET_CPU_MS_PER_STEP)]),
    verdict('CPU per agent step (whole run, set-up and merges included)', whole.cpuMs / steps, TARGET_CPU_MS_PER_STEP),
    ...(agents === whole ? [] : [verdict('Longest event-loop stall (agents phase)', stall(agents), TARGET_STALL_MS)]),
    verdict('Longest event-loop stall (whole run)', stall(whole), TARGET_STALL_MS),
    verdict('Longest stall on CPU, descheduling left out (whole run)', whole.cpuStallMs, TARGET_STALL_MS),
    ...(opts.stalls ? stallLines(out.monitor) : []),
  ].join('\n');
  return {
    text,
    figures: {
      ...opts,
      agentRequests: steps,
      commands: out.commands,
      events: out.events,
      load: loadavg(),
      phases: [...phases, whole],
      peakRss,
      peakHeap,
    },
  };
}

/** Phase windows and the worst interval-timer latenesses, on the hrtime clock (µs). */
function stallLines(monitor: Monitor): string[] {
  const worst = [...monitor.stalls].sort((a, b) => b.ms - a.ms).slice(0, 15);
  return [
    '',
    ...monitor.phases.map((p) => `phase ${p.name}: hrtime ${p.fromUs} … ${p.toUs} µs`),
    ...worst.map(
      (s) =>
        `stall ${s.ms.toFixed(1)} ms (${s.cpuMs.toFixed(1)} ms on CPU) ending at hrtime ${s.atUs} µs (${monitor.phases[s.phase]?.name ?? '?'})`,
    ),
  ];
}

/** True when every task merged and the run completed; otherwise says what went wrong. */
function checkOutcome(opts: Options, out: Outcome): string | null {
  const merged = [...out.state.tasks.values()].filter((t) => t.status === 'merged').length;
  if (out.state.status !== 'completed' || merged !== opts.agents) {
    return `the run did not complete: ${out.state.status}, ${merged} of ${opts.agents} merged (${out.state.message ?? ''})`;
  }
  const expected = opts.agents * opts.steps;
  if (out.agentRequests !== expected) return `expected ${expected} agent requests, saw ${out.agentRequests}`;
  if (out.monitor.phases.length !== (opts.free ? 1 : 3)) return 'the phase barriers did not release as expected';
  const commands = opts.agents * benchCommandsPerAgent(opts.steps, opts.commands);
  if (out.commands.run !== commands || out.commands.ok !== commands)
    return `expected ${commands} agent commands to run and exit 0, saw ${out.commands.run} run, ${out.commands.ok} exit 0`;
  return null;
}

/** The Lead panel section: scripts/benchPanel.ts in its own process, so this run's heap and timers are not in it. */
async function panelSection(json: boolean): Promise<number> {
  console.log('');
  const args = ['--import', 'tsx', join(ROOT, 'scripts/benchPanel.ts'), ...(json ? ['--json'] : [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}

/**
 * Tokens per joule: a smaller bench:fabric (scripts/benchFabric.ts) in its own process, the run's
 * energy measured from the simulated GPU's exporter text as a real run measures a real GPU.
 */
async function fabricSection(): Promise<number> {
  console.log('\n## Tokens per joule (scripts/benchFabric.ts --tasks 64 --concurrency 64 --steps 3)\n');
  const args = ['--import', 'tsx', join(ROOT, 'scripts/benchFabric.ts'), '--tasks', '64', '--concurrency', '64'];
  const child = spawn(process.execPath, [...args, '--steps', '3'], { cwd: ROOT, stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  await orchestratorSection(opts);
  await sandboxSection(opts.json);
  if (opts.fabric && (await fabricSection()) !== 0) process.exitCode = 1;
  if (opts.panel && (await panelSection(opts.json)) !== 0) process.exitCode = 1;
}

/** The first section: the orchestrator under 100 agents. */
async function orchestratorSection(opts: Options): Promise<void> {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-bench-')));
  const root = join(tmp, 'repo');
  mkdirSync(root);
  makeRepo(root);
  const server = await startServer(opts.steps, opts.commands);
  try {
    const out = await benchRun(opts, root, join(tmp, 'worktrees'), server.url);
    const problem = checkOutcome(opts, out);
    const { text, figures } = report(opts, out);
    console.log(text);
    if (opts.json) console.log(JSON.stringify(figures));
    if (problem) {
      console.error(`bench: ${problem}`);
      process.exitCode = 1;
    }
  } finally {
    server.child.kill('SIGTERM');
    if (opts.keep) console.log(`Kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`bench: ${errorMessage(e)}`);
    process.exit(1);
  });
}
