/**
 * `npm run bench:fabric`: does Foreman keep a GPU's batch full? The real CLI runs 128 tasks, 64 at
 * once, against the scripted server with a simulated continuous-batching GPU (src/scripted/gpu.ts:
 * 64 slots, the shape of a real H200's batch curve scaled to 3,200 output tokens/s at a full
 * batch, prefix-cache counters). Measured, each in one run:
 *
 * - saturation: output tokens/s from the first request to the last response, over the GPU's
 *   capacity (measured first with 64 requests that never end early);
 * - cache reuse after each agent's first request: cached ÷ prompt tokens of its later requests;
 * - tokens per joule, measured the way a run measures a real GPU: the simulated GPU (power curve
 *   idle 78 W to 695 W) serves a dcgm-exporter's text, the bench repository's foreman.json names
 *   it as the backend's energy source, and the figures are the run's own (its journal's energy
 *   intervals attributed to its requests, `foreman export`'s `energy`), checked against the GPU's
 *   own joule counter over the same span;
 * - the same run with the backend held to 8 requests at once (`--max-requests 8`, the old fixed
 *   limit), to show what a full batch buys.
 *
 * Flags: --tasks N (128), --concurrency N (64), --steps N (agent steps a task, 5), --no-limited.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JournalEvent } from '../src/core/journal';
import { listRunIds, readJournal, runJournalPath } from '../src/infra/journalFile';
import { SimulatedGpu } from '../src/scripted/gpu';
import { scenarioResponder, toolCall } from '../src/scripted/scenario';
import type { Scenario, Step } from '../src/scripted/scenario';
import { createScriptedServer, DCGM_PATH } from '../src/scripted/server';
import { exportLedger } from '../src/core/ledgerExport';

const ROOT = resolve(__dirname, '..');
const CLI = join(ROOT, 'dist/cli.js');
/** 3,200 tokens/s at 64 slots: the H200 curve's 14,511 at batch 64, scaled. */
const SPEED = 3200 / 14511;

export function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

export const TASKS = flag('tasks', 128);
export const CONCURRENCY = flag('concurrency', 64);
export const STEPS = flag('steps', 5);

export function git(cwd: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

/** A repository, and a plan of `count` tasks each writing its own files over STEPS agent steps. */
function setUp(dir: string, dcgmUrl: string, count: number): { repo: string; plan: string; scenario: Scenario } {
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  writeFileSync(join(repo, 'README.md'), '# fabric bench\n\nA repository for the GPU saturation bench.\n');
  writeFileSync(join(repo, 'foreman.json'), JSON.stringify({ backend: { energy: { source: 'dcgm', url: dcgmUrl } } }));
  writeFileSync(join(repo, 'src', 'index.js'), "'use strict';\nmodule.exports = {};\n");
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  const tasks = [];
  const agents: Record<string, Step[]> = {};
  for (let i = 0; i < count; i++) {
    const id = `t${i}`;
    tasks.push({
      id,
      title: `Module ${i}`,
      instructions: `Write work/${id}/ with its parts.`,
      acceptance: ['the parts exist'],
      files: [`work/${id}/part0.js`],
      dependsOn: [],
    });
    const steps: Step[] = [];
    for (let k = 0; k < STEPS - 1; k++) {
      // ~600 characters: about 150 output tokens a step.
      const content = `'use strict';\n// part ${k} of ${id}\n${'module.exports.value = [1, 2, 3].map((x) => x * 2);\n'.repeat(10)}`;
      steps.push(toolCall('write_file', { path: `work/${id}/part${k}.js`, content }));
    }
    steps.push(toolCall('finish', { summary: `Wrote the ${STEPS - 1} parts of ${id}.` }));
    agents[id] = steps;
  }
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, spec: 'Many modules.', tasks }, null, 2));
  const reviewer: Step[] = [{ content: '{"approved": true, "comments": "Fine."}' }];
  return { repo, plan, scenario: { agents, reviewer } };
}

/** The GPU's capacity, measured: a full batch of requests that outlast the measurement. */
export async function measureCapacity(): Promise<number> {
  const gpu = new SimulatedGpu({ slots: 64, speed: SPEED });
  for (let i = 0; i < 64; i++) void gpu.generate(10, 10, 1e9);
  const before = gpu.snapshot();
  await new Promise((r) => setTimeout(r, 2000));
  const after = gpu.snapshot();
  gpu.close();
  return (after.generated - before.generated) / (after.seconds - before.seconds);
}

/** What `spawnRun` starts: `foreman run --plan` on a bench repository. */
export interface RunSpawn {
  plan: string;
  repo: string;
  tasks: number;
  concurrency: number;
  extra: string[];
  /** Over this process's environment. */
  env: Record<string, string>;
  stdin?: 'ignore' | 'pipe';
}

/** The real CLI running a bench's plan; its standard error is piped, its output ignored. */
export function spawnRun(r: RunSpawn) {
  const args = [
    '--plan',
    r.plan,
    '--cwd',
    r.repo,
    '--concurrency',
    String(r.concurrency),
    '--max-tasks',
    String(r.tasks),
  ];
  return spawn(process.execPath, [CLI, 'run', ...args, ...r.extra], {
    stdio: [r.stdin ?? 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...r.env },
  });
}

/** Options of one run: how many replicas (each its own simulated GPU and prefix cache), how routed. */
export interface RunShape {
  replicas: number;
  routing: 'affinity' | 'round-robin';
  /** A span in which every chat request is answered 429: from `fromMs` after the first request, for `lengthMs`. */
  rateLimit?: { fromMs: number; lengthMs: number; retryAfterSec?: number };
  /** Tasks in the plan (default TASKS). */
  tasks?: number;
}

export interface Measured {
  label: string;
  wallS: number;
  windowS: number;
  output: number;
  tokensPerSec: number;
  saturation: number;
  cacheReuse: number;
  /** The run's own measurement (its journal): joules, idle joules, tokens per joule without and with idle (0: not measured, several replicas). */
  joules: number;
  idleJoules: number;
  tokensPerJoule: number;
  tokensPerJouleWithIdle: number;
  /** The GPU's own counter over the span the run measured, for a check. */
  gpuJoules: number;
  exit: number | null;
  /** Requests in the batch, averaged over each fifth of the window. */
  profile: number[];
  /** With `rateLimit`: chat requests that reached the server inside its span (each answered 429). */
  limitedRequests: number;
  /** Tasks the run merged (of `RunShape.tasks`). */
  merged: number;
}

/** The mean of `samples` (one per 20 ms from the run's start) over each fifth of [from, to). */
function profileOf(samples: number[], from: number, to: number): number[] {
  const out: number[] = [];
  const span = (to - from) / 5;
  for (let k = 0; k < 5; k++) {
    const part = samples.slice(Math.floor(from + k * span), Math.floor(from + (k + 1) * span));
    out.push(part.length ? part.reduce((a, b) => a + b, 0) / part.length : 0);
  }
  return out;
}

/** The counters of several GPUs, added up. */
function total(gpus: SimulatedGpu[]): { running: number; generated: number; joules: number } {
  const snaps = gpus.map((g) => g.snapshot());
  const sum = (f: (x: (typeof snaps)[number]) => number): number => snaps.reduce((a, x) => a + f(x), 0);
  return { running: sum((x) => x.running), generated: sum((x) => x.generated), joules: sum((x) => x.joules) };
}

export async function runOnce(
  label: string,
  extra: string[],
  capacity: number,
  shape: RunShape = { replicas: 1, routing: 'affinity' },
): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-bench-fabric-'));
  const tasks = shape.tasks ?? TASKS;
  try {
    const gpus = Array.from({ length: shape.replicas }, () => new SimulatedGpu({ slots: 64, speed: SPEED }));
    let play: ReturnType<typeof scenarioResponder> | null = null;
    let last = 0;
    let firstAt = 0;
    const limit = shape.rateLimit;
    const limited = (at: number): boolean =>
      limit !== undefined && at - firstAt >= limit.fromMs && at - firstAt < limit.fromMs + limit.lengthMs;
    const servers = await Promise.all(
      gpus.map((gpu) =>
        createScriptedServer({
          gpu,
          model: 'bench-fabric',
          responder: (request, ctx) => {
            const now = Date.now();
            if (firstAt === 0) firstAt = now;
            if (limited(now)) return { fault: 'rate_limit', retryAfterSec: limit?.retryAfterSec };
            return (play ?? scenarioResponder({ agents: {} }))(request, ctx);
          },
        }),
      ),
    );
    const server = servers[0];
    const { repo, plan, scenario } = setUp(dir, `${new URL(server.url).origin}${DCGM_PATH}`, tasks);
    play = scenarioResponder(scenario);
    if (shape.replicas > 1) {
      // Several replicas of one model: foreman.json's backends, each its own endpoint (energy not read).
      const backends = servers.map((s, i) => ({ name: `gpu${i}`, baseUrl: s.url, models: ['bench-fabric'] }));
      writeFileSync(join(repo, 'foreman.json'), JSON.stringify({ backends, routing: shape.routing }, null, 2));
      git(repo, 'add', 'foreman.json');
      git(repo, 'commit', '-q', '-m', 'replicas');
    }
    // The GPUs' own counter at each moment, to check the run's measurement against.
    const counter: { at: number; joules: number }[] = [];
    // The last response: polled from the GPUs' counters' movement (a response ends when its tokens do).
    let lastGenerated = 0;
    const occupancy: number[] = [];
    const watch = setInterval(() => {
      const snap = total(gpus);
      occupancy.push(snap.running);
      counter.push({ at: Date.now(), joules: snap.joules });
      const g = snap.generated;
      if (g > lastGenerated) {
        lastGenerated = g;
        last = Date.now();
      }
    }, 20);
    const start = Date.now();
    const before = total(gpus);
    const env = {
      ...(shape.replicas > 1 ? {} : { FOREMAN_BASE_URL: server.url, FOREMAN_MODEL: 'bench-fabric' }),
      FOREMAN_WORKTREE_ROOT: join(dir, 'wt'),
    };
    const child = spawnRun({ plan, repo, tasks, concurrency: CONCURRENCY, extra, env });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const [exit] = (await once(child, 'exit')) as [number | null];
    const wallS = (Date.now() - start) / 1000;
    clearInterval(watch);
    const after = total(gpus);
    await Promise.all(servers.map((s) => s.close()));
    for (const gpu of gpus) gpu.close();
    if (exit !== 0) throw new Error(`${label}: foreman run exited ${exit}\n${stderr.slice(-2000)}`);
    const first = Math.min(...servers.map((s) => s.requests[0]?.receivedAt ?? Infinity), Infinity);
    const windowS = (last - (Number.isFinite(first) ? first : start)) / 1000;
    const output = after.generated - before.generated;
    const stateDir = join(repo, '.git', 'foreman');
    const events: JournalEvent[] = (await readJournal(runJournalPath(stateDir, (await listRunIds(stateDir))[0])))
      .events;
    const energy = exportLedger(events).energy.run;
    if (!energy && shape.replicas === 1)
      throw new Error(`${label}: the run measured no energy\n${stderr.slice(-2000)}`);
    const spans = events.flatMap((e) => (e.type === 'energy' ? [e] : []));
    const gpuAt = (t: number) => counter.reduce((best, c) => (Math.abs(c.at - t) < Math.abs(best.at - t) ? c : best));
    const gpuJoules = spans.length ? gpuAt(spans[spans.length - 1].toMs).joules - gpuAt(spans[0].fromMs).joules : 0;
    return {
      label,
      wallS,
      windowS,
      output,
      tokensPerSec: output / windowS,
      saturation: output / windowS / (capacity * shape.replicas),
      cacheReuse: cacheReuse(events),
      joules: energy?.joules ?? 0,
      idleJoules: energy?.idleJoules ?? 0,
      tokensPerJoule: energy?.tokensPerJoule ?? 0,
      tokensPerJouleWithIdle: energy?.tokensPerJouleWithIdle ?? 0,
      gpuJoules,
      exit,
      limitedRequests: servers.reduce((n, s) => n + s.requests.filter((r) => limited(r.receivedAt)).length, 0),
      merged: events.filter((e) => e.type === 'task_status' && e.status === 'merged').length,
      profile: profileOf(occupancy, ((Number.isFinite(first) ? first : start) - start) / 20, (last - start) / 20),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cached ÷ prompt tokens over every agent request after its task's first. */
export function cacheReuse(events: JournalEvent[]): number {
  const seen = new Set<string>();
  let prompt = 0;
  let cached = 0;
  for (const e of events) {
    if (e.type !== 'model_request' || e.role !== 'agent' || !e.usage || e.taskId === null) continue;
    if (!seen.has(e.taskId)) {
      seen.add(e.taskId);
      continue;
    }
    prompt += e.usage.promptTokens;
    cached += e.usage.cachedTokens ?? 0;
  }
  return prompt > 0 ? cached / prompt : 0;
}

async function main(): Promise<void> {
  const capacity = await measureCapacity();
  const runs = [await runOnce(`${TASKS} tasks, ${CONCURRENCY} at once (defaults)`, [], capacity)];
  if (!process.argv.includes('--no-limited'))
    runs.push(await runOnce(`the same, --max-requests 8`, ['--max-requests', '8'], capacity));
  const f = (x: number, d = 2) => x.toFixed(d);
  console.log(`Simulated GPU: 64 slots, capacity measured ${f(capacity, 0)} output tokens/s (configured 3200)`);
  console.log(`Agents: ${STEPS} steps a task (~150 output tokens a step), reviews on, no checks\n`);
  console.log(
    'run                              | wall s | first req → last resp s | output tok | tok/s  | saturation | cache reuse | J      | idle J | tok/J | tok/J with idle',
  );
  console.log(
    '-------------------------------- | ------ | ----------------------- | ---------- | ------ | ---------- | ----------- | ------ | ------ | ----- | ---------------',
  );
  for (const r of runs) {
    console.log(
      `${r.label.padEnd(32)} | ${f(r.wallS, 1).padStart(6)} | ${f(r.windowS, 1).padStart(23)} | ${f(r.output, 0).padStart(10)} | ` +
        `${f(r.tokensPerSec, 0).padStart(6)} | ${f(r.saturation).padStart(10)} | ${f(r.cacheReuse).padStart(11)} | ${f(r.joules, 0).padStart(6)} | ` +
        `${f(r.idleJoules, 0).padStart(6)} | ${f(r.tokensPerJoule).padStart(5)} | ${f(r.tokensPerJouleWithIdle)}`,
    );
  }
  console.log(
    "\nEnergy as the run measured it (its journal, read from the GPU's dcgm-exporter text) against the GPU's own counter:",
  );
  for (const r of runs)
    console.log(
      `  ${r.label}: ${f(r.joules, 0)} J measured, ${f(r.gpuJoules, 0)} J counted (${f((100 * (r.joules - r.gpuJoules)) / r.gpuJoules, 1)}%)`,
    );
  console.log('\nRequests in the batch (of 64), mean over each fifth of the window:');
  for (const r of runs) console.log(`  ${r.label}: ${r.profile.map((x) => x.toFixed(1)).join(' · ')}`);
  if (runs.length === 2)
    console.log(`\nTokens per joule, full batch ÷ 8 at once: ${f(runs[0].tokensPerJoule / runs[1].tokensPerJoule)}×`);
}

if (require.main === module)
  main().catch((e) => {
    console.error(`bench:fabric: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
