/**
 * Backend telemetry and energy in real runs: the demo's three tasks on copies of the sample
 * repository, run by the CLI against the scripted server. With a simulated GPU behind it, the
 * server's `/metrics` speaks vLLM's names and its `/dcgm/metrics` a dcgm-exporter's, and the
 * sample's foreman.json names that exporter: the run reads both while it is driven, and `foreman
 * status` and `foreman export` show the last readings and the joules per task, per backend and in
 * all, idle draw apart, adding up to what the GPU's own counter says. Without a GPU, the server
 * has no `/metrics` and the exporter named does not answer: the run, status and export say so,
 * and no figure appears.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEvent } from '../../src/core/journal';
import type { LedgerExport } from '../../src/core/ledgerExport';
import { demoScenario } from '../../src/scripted/demoScenario';
import { SimulatedGpu } from '../../src/scripted/gpu';
import { DCGM_PATH } from '../../src/scripted/server';
import type { ScriptedServer } from '../../src/scripted/server';
import { latestRunId, makeRepo, PROJECT_ROOT, readRun, runCli, startServer } from './runHarness';
import type { TempRepo } from './runHarness';

const SPEC = readFileSync(join(PROJECT_ROOT, 'samples', 'demo-spec.txt'), 'utf8').trim();

interface DemoRun {
  repo: TempRepo;
  server: ScriptedServer;
  runId: string;
  stderr: string;
  events: JournalEvent[];
}

let measured: DemoRun;
let unmeasured: DemoRun;
let gpu: SimulatedGpu;
let testContext: string | undefined;

/** The sample, with a foreman.json whose backend reads energy as `energy` says. */
async function demoRun(server: ScriptedServer, energy: unknown): Promise<DemoRun> {
  const repo = makeRepo({
    template: join(PROJECT_ROOT, 'samples', 'demo-shop'),
    files: { 'foreman.json': JSON.stringify({ backend: { energy } }) },
  });
  const run = await runCli(['run', SPEC, '--concurrency', '2', '--no-review'], {
    repo,
    server,
    model: 'scripted-demo',
    timeoutMs: 120_000,
  });
  assert.equal(run.code, 0, run.stderr);
  const runId = await latestRunId(repo);
  return { repo, server, runId, stderr: run.stderr, events: (await readRun(repo, runId)).events };
}

before(async () => {
  // The sample's checks are `node --test`: they must not report to this test runner.
  testContext = process.env.NODE_TEST_CONTEXT;
  delete process.env.NODE_TEST_CONTEXT;
  gpu = new SimulatedGpu({ slots: 8 });
  const withGpu = await startServer(demoScenario, { gpu });
  const origin = new URL(withGpu.url).origin;
  measured = await demoRun(withGpu, { source: 'dcgm', url: `${origin}${DCGM_PATH}` });
  const plain = await startServer(demoScenario);
  // A port nothing listens on: the server just closed frees its own.
  const closed = await startServer(demoScenario);
  const nowhere = `${new URL(closed.url).origin}${DCGM_PATH}`;
  await closed.close();
  unmeasured = await demoRun(plain, { source: 'dcgm', url: nowhere });
});

after(async () => {
  for (const run of [measured, unmeasured]) {
    await run?.server.close();
    run?.repo.cleanup();
  }
  gpu?.close();
  if (testContext !== undefined) process.env.NODE_TEST_CONTEXT = testContext;
});

async function cli(run: DemoRun, args: string[]): Promise<string> {
  const r = await runCli(args, { repo: run.repo });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('a run with a GPU behind its backend records vLLM readings and energy intervals from the exporter', () => {
  const readings = measured.events.filter((e) => e.type === 'backend_metrics');
  const energy = measured.events.filter((e) => e.type === 'energy');
  assert.ok(readings.length >= 2, 'a reading at the start and one at the end at least');
  assert.ok(readings.every((e) => e.type === 'backend_metrics' && e.reading.server === 'vllm'));
  assert.ok(energy.length >= 1);
  for (const e of energy) {
    assert.ok(e.type === 'energy' && e.source.startsWith('dcgm-exporter') && e.gpus[0].method === 'counter');
  }
  assert.ok(!measured.events.some((e) => e.type === 'telemetry_unavailable'), 'nothing said to be unreadable');
  // Some reading saw the batch at work: tokens generated between two polls.
  assert.ok(readings.some((e) => e.type === 'backend_metrics' && (e.reading.tokensPerSecond ?? 0) > 0));
});

test('the joules recorded are what the GPU counted over the measured span, idle draw included', () => {
  const energy = measured.events.flatMap((e) => (e.type === 'energy' ? [e] : []));
  const recorded = energy.reduce((s, e) => s + e.gpus[0].joules, 0);
  const spanS = (energy[energy.length - 1].toMs - energy[0].fromMs) / 1000;
  // Between 78 W (idle all along) and 695 W (a full batch all along) over the span; within a
  // millijoule per interval of the counter's own difference (it counts in mJ).
  assert.ok(recorded >= 78 * spanS * 0.9 && recorded <= 695 * spanS * 1.1, `${recorded} J over ${spanS} s`);
  assert.ok(recorded <= gpu.snapshot().joules + 0.001 * energy.length);
});

test('foreman status shows the last reading and the energy, per task with tokens per joule', async () => {
  const text = await cli(measured, ['status', measured.runId]);
  if (process.env.SHOW_STATUS) console.log(text);
  assert.match(text, /Backends\n {2}http:\/\/127\.0\.0\.1:\d+\/v1\n {4}vLLM: running \d+, waiting \d+, KV cache \d+%/);
  assert.match(
    text,
    /energy: [\d.]+ k?J over \d+ s \(energy counter, dcgm-exporter http:\/\/127\.0\.0\.1:\d+\/dcgm\/metrics, 1 GPU\); busy [\d.]+ k?J, idle [\d.]+ k?J; \d+ output tokens, [\d.]+ tok\/J/,
  );
  assert.match(text, /Energy per task \(idle draw not included\)/);
  const json = JSON.parse(await cli(measured, ['status', measured.runId, '--json'])) as {
    backends: { metrics: { server: string }; energy: { joules: number; idleJoules: number; tokens: number } }[];
    energy: { joules: number; idleJoules: number; tasks: { task: string; joules: number; tokensPerJoule: number }[] };
  };
  assert.equal(json.backends[0].metrics.server, 'vllm');
  assert.ok(json.energy.joules > 0);
  const tasks = json.energy.tasks.filter((t) => t.task !== '(planning)');
  assert.deepEqual(tasks.map((t) => t.task).sort(), ['checkout', 'discounts', 'receipt']);
  for (const t of tasks) assert.ok(t.joules > 0 && t.tokensPerJoule > 0, JSON.stringify(t));
  const attributed = json.energy.tasks.reduce((s, t) => s + t.joules, 0);
  assert.ok(
    Math.abs(attributed + json.energy.idleJoules - json.energy.joules) < 1e-6,
    'every joule is a task’s, the planner’s or idle',
  );
});

test('foreman export carries the joules: per request in CSV and JSON, per task, and the run with idle apart', async () => {
  const x = JSON.parse(await cli(measured, ['export', measured.runId])) as LedgerExport;
  assert.ok(x.energy.run && x.energy.run.joules > 0);
  assert.ok(x.requests.every((r) => r.joules !== null && r.joules >= 0));
  const sum = x.requests.reduce((s, r) => s + (r.joules ?? 0), 0);
  assert.ok(Math.abs(sum + x.energy.run.idleJoules - x.energy.run.joules) < 1e-6);
  assert.ok(x.tasks.every((t) => t.joules !== null && t.tokensPerJoule !== null));
  const csv = await cli(measured, ['export', measured.runId, '--format', 'csv']);
  assert.ok(csv.split('\r\n')[0].endsWith(',attempts,joules'));
  assert.match(csv.split('\r\n')[1], /,\d+(\.\d+)?$/);
});

test('nothing readable: the run, status and export say why, and show no figure', async () => {
  const said = unmeasured.events.filter((e) => e.type === 'telemetry_unavailable');
  assert.deepEqual(
    said.map((e) => e.type === 'telemetry_unavailable' && e.what).sort(),
    ['energy', 'metrics'],
    'each said once',
  );
  assert.match(
    unmeasured.stderr,
    /metrics: not read — not exposed \(http:\/\/127\.0\.0\.1:\d+\/metrics answered HTTP 404\)/,
  );
  assert.match(
    unmeasured.stderr,
    /energy: not measured — No GPU power is readable here: http:\/\/127\.0\.0\.1:\d+\/dcgm\/metrics could not be read/,
  );
  assert.ok(!unmeasured.events.some((e) => e.type === 'energy' || e.type === 'backend_metrics'));
  const text = await cli(unmeasured, ['status', unmeasured.runId]);
  assert.match(text, /energy: not measured — No GPU power is readable here/);
  assert.doesNotMatch(text, /tok\/J/);
  const x = JSON.parse(await cli(unmeasured, ['export', unmeasured.runId])) as LedgerExport;
  assert.equal(x.energy.run, null);
  assert.ok(x.requests.every((r) => r.joules === null));
  assert.equal(x.total.tokensPerJoule, null);
});
