/**
 * `foreman export --format otlp|otel-json` on a real finished run: the demo's three tasks on a copy
 * of the sample repository, run by the CLI against the scripted server, then its trace sent to a
 * real local HTTP server acting as the OTLP/HTTP collector (the exporter sends JSON, which the
 * collector decodes). The span tree, names and GenAI attributes are checked against the journal,
 * and the token counts against `foreman status --json`; a second export sends the same ids; the
 * otel-json file holds the same request; a collector that is down gets a sentence and exit 4.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEvent } from '../../src/core/journal';
import type { TokenTotals } from '../../src/core/ledger';
import { buildRunTrace } from '../../src/core/runTrace';
import { sendOtlp, traceSpans } from '../../src/infra/otelTrace';
import { demoScenario } from '../../src/scripted/demoScenario';
import type { ScriptedServer } from '../../src/scripted/server';
import { latestRunId, makeRepo, PROJECT_ROOT, runCli, startServer } from './runHarness';
import type { TempRepo } from './runHarness';

const SPEC = readFileSync(join(PROJECT_ROOT, 'samples', 'demo-spec.txt'), 'utf8').trim();

/** An OTLP JSON attribute value (only the kinds Foreman sends). */
interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: AnyValue }[];
  status?: { code?: number; message?: string };
}
interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: AnyValue }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: OtlpRequest;
}

let repo: TempRepo;
let server: ScriptedServer;
let runId: string;
let collector: Server;
let collectorUrl: string;
const received: Received[] = [];
let testContext: string | undefined;

before(async () => {
  // The sample's checks are `node --test`: they must not report to this test runner.
  testContext = process.env.NODE_TEST_CONTEXT;
  delete process.env.NODE_TEST_CONTEXT;
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  repo = makeRepo({ template: join(PROJECT_ROOT, 'samples', 'demo-shop') });
  server = await startServer(demoScenario);
  const run = await runCli(['run', SPEC, '--concurrency', '2', '--no-review', '--trace-endpoint', collectorUrl], {
    repo,
    server,
    model: 'scripted-demo',
    timeoutMs: 120_000,
  });
  assert.equal(run.code, 0, run.stderr);
  runId = await latestRunId(repo);
  assert.equal(received.length, 1, 'the run sent its trace when it ended');
  assert.match(run.stderr, new RegExp(`Sent \\d+ spans of run ${runId} to ${collectorUrl}/v1/traces`));
});

after(async () => {
  await server?.close();
  await new Promise((r) => collector?.close(r));
  repo?.cleanup();
  if (testContext !== undefined) process.env.NODE_TEST_CONTEXT = testContext;
});

function spansOf(request: OtlpRequest): OtlpSpan[] {
  return request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
}

function attr(span: OtlpSpan, key: string): string | number | boolean | undefined {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.doubleValue ?? v.boolValue;
}

function journal(): { type: string; taskId?: string | null; [k: string]: unknown }[] {
  const path = join(repo.root, '.git', 'foreman', 'runs', runId, 'journal.jsonl');
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function statusJson(): Promise<{ usage: TokenTotals; tasks: { id: string; usage: TokenTotals }[] }> {
  const r = await runCli(['status', runId, '--json'], { repo });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function sendOnce(): Promise<Received> {
  const before = received.length;
  const r = await runCli(['export', runId, '--format', 'otlp', '--endpoint', collectorUrl], {
    repo,
    env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=abc123' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    new RegExp(`^Sent \\d+ spans of run ${runId} to ${collectorUrl}/v1/traces \\(trace [0-9a-f]{32}\\)\\.\\n$`),
  );
  assert.equal(received.length, before + 1, 'one request reached the collector');
  return received[received.length - 1];
}

test('the collector gets the run as a GenAI trace: run → tasks → chat and execute_tool spans, tokens equal to status', async () => {
  const got = await sendOnce();
  assert.equal(got.path, '/v1/traces');
  assert.match(String(got.headers['content-type']), /^application\/json/);
  assert.equal(got.headers['x-collector-key'], 'abc123', 'OTEL_EXPORTER_OTLP_HEADERS is honoured');
  const resource = got.body.resourceSpans[0].resource.attributes.find((a) => a.key === 'service.name');
  assert.equal(resource?.value.stringValue, 'foreman');

  const spans = spansOf(got.body);
  const events = journal();
  const requests = events.filter((e) => e.type === 'model_request');
  const tools = events.filter((e) => e.type === 'tool_call');
  const roots = spans.filter((s) => !s.parentSpanId);
  assert.equal(roots.length, 1, 'one root');
  const root = roots[0];
  assert.equal(root.name, 'invoke_workflow foreman');
  assert.equal(attr(root, 'gen_ai.operation.name'), 'invoke_workflow');
  assert.equal(attr(root, 'foreman.run.id'), runId);
  assert.ok(
    spans.every((s) => s.traceId === root.traceId),
    'one trace',
  );

  const status = await statusJson();
  const tasks = spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'invoke_agent');
  assert.deepEqual(tasks.map((s) => s.name).sort(), status.tasks.map((t) => `invoke_agent ${t.id}`).sort());
  assert.ok(tasks.every((s) => s.parentSpanId === root.spanId));

  const chats = spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'chat');
  const execs = spans.filter((s) => attr(s, 'gen_ai.operation.name') === 'execute_tool');
  assert.equal(chats.length, requests.length, 'a chat span per model request');
  assert.equal(execs.length, tools.length, 'an execute_tool span per tool call');
  assert.equal(spans.length, 1 + tasks.length + chats.length + execs.length);
  for (const c of chats) {
    assert.equal(c.name, 'chat scripted-demo');
    assert.equal(c.kind, 3, 'SPAN_KIND_CLIENT');
    assert.equal(attr(c, 'gen_ai.provider.name'), 'openai');
    assert.equal(attr(c, 'gen_ai.request.model'), 'scripted-demo');
    assert.equal(attr(c, 'server.address'), '127.0.0.1');
    assert.equal(attr(c, 'server.port'), Number(new URL(server.url).port));
    assert.ok(BigInt(c.startTimeUnixNano) <= BigInt(c.endTimeUnixNano));
  }
  const planner = chats.filter((c) => attr(c, 'foreman.role') === 'planner');
  assert.equal(planner.length, 1);
  assert.equal(planner[0].parentSpanId, root.spanId, "the planner's request hangs on the run");

  const sum = (xs: OtlpSpan[], key: string) => xs.reduce((n, s) => n + Number(attr(s, key) ?? 0), 0);
  assert.equal(sum(chats, 'gen_ai.usage.input_tokens'), status.usage.input);
  assert.equal(sum(chats, 'gen_ai.usage.output_tokens'), status.usage.output);
  for (const task of status.tasks) {
    const span = tasks.find((s) => s.name === `invoke_agent ${task.id}`)!;
    const mine = chats.filter((c) => c.parentSpanId === span.spanId);
    assert.equal(mine.length, task.usage.requests, task.id);
    assert.equal(sum(mine, 'gen_ai.usage.input_tokens'), task.usage.input, task.id);
    assert.equal(sum(mine, 'gen_ai.usage.output_tokens'), task.usage.output, task.id);
    for (const child of [...mine, ...execs.filter((e) => e.parentSpanId === span.spanId)]) {
      assert.ok(
        BigInt(child.startTimeUnixNano) >= BigInt(span.startTimeUnixNano) - 1_000_000n,
        `${child.name} starts in ${task.id}`,
      );
      assert.ok(BigInt(child.endTimeUnixNano) <= BigInt(span.endTimeUnixNano), `${child.name} ends in ${task.id}`);
    }
  }
  for (const [i, e] of execs.entries()) {
    const call = tools[i];
    assert.equal(e.name, `execute_tool ${String(call.tool)}`);
    assert.equal(attr(e, 'gen_ai.tool.name'), call.tool);
    assert.equal(attr(e, 'gen_ai.tool.call.id'), call.callId);
    assert.equal(typeof call.durationMs, 'number', 'the journal holds the call duration');
    const ns = BigInt(e.endTimeUnixNano) - BigInt(e.startTimeUnixNano);
    assert.equal(ns, BigInt(call.durationMs as number) * 1_000_000n);
  }
});

test('run --trace-endpoint sent the trace when the run ended; exporting again sends the same ids; otel-json writes the same request', async () => {
  const atRunEnd = spansOf(received[0].body);
  const first = spansOf((await sendOnce()).body);
  const second = spansOf((await sendOnce()).body);
  assert.deepEqual(second, first, 'the same spans, ids included');
  assert.deepEqual(atRunEnd, first, 'the trace sent at the end of the run is the whole run');

  const file = join(repo.root, '..', `${runId}.otel.json`);
  const r = await runCli(['export', runId, '--format', 'otel-json', '--out', file], { repo });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^Exported ${first.length} spans of run ${runId} to .* \\(OTLP JSON\\)\\.\\n$`));
  const saved = JSON.parse(readFileSync(file, 'utf8')) as OtlpRequest;
  assert.deepEqual(spansOf(saved), first);
  const stdout = await runCli(['export', runId, '--format', 'otel-json'], { repo });
  assert.equal(stdout.code, 0, stdout.stderr);
  assert.deepEqual(JSON.parse(stdout.stdout), saved);
});

test('a collector that is down gets one sentence and exit 4; bad trace options get exit 2', async () => {
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const port = (gone.address() as AddressInfo).port;
  await new Promise((r) => gone.close(r));
  const before = journal().length;
  const r = await runCli(['export', runId, '--format', 'otlp', '--endpoint', `http://127.0.0.1:${port}`], { repo });
  assert.equal(r.code, 4, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^Could not send the trace of run ${runId} to http://127\\.0\\.0\\.1:${port}/v1/traces: .+\\. Nothing is lost`,
    ),
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(journal().length, before, 'the journal is untouched');

  const noCollector = await runCli(['export', runId, '--format', 'otlp'], { repo });
  assert.equal(noCollector.code, 2);
  assert.match(noCollector.stderr, /--format otlp needs a collector: --endpoint http:\/\/host:4318/);
  const badUrl = await runCli(['export', runId, '--format', 'otlp', '--endpoint', 'localhost:4318'], { repo });
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /--endpoint must be an http\(s\) URL/);
  const badRunUrl = await runCli(['run', 'anything', '--trace-endpoint', 'localhost:4318'], { repo });
  assert.equal(badRunUrl.code, 2);
  assert.match(badRunUrl.stderr, /--trace-endpoint must be an http\(s\) URL/);
  const stray = await runCli(['export', runId, '--endpoint', collectorUrl], { repo });
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--endpoint is for --format otlp/);
});

test('a long run goes to the collector in requests of at most 512 spans, all of them, in order', async () => {
  const settings = {
    endpoint: 'http://gpu:8000/v1',
    model: 'm',
    concurrency: 1,
    budgets: { runTokens: null, runCost: null, taskTokens: null, taskCost: null },
  };
  const events: JournalEvent[] = [
    {
      seq: 1,
      t: 1_000,
      type: 'run_started',
      runId: 'r-long',
      repo: '/r',
      base: 'b',
      baseSnapshot: false,
      baseBranch: null,
      settings,
    },
    { seq: 2, t: 1_001, type: 'task_status', taskId: 'a', status: 'working' },
  ];
  for (let i = 0; i < 700; i++)
    events.push({
      seq: events.length + 1,
      t: 2_000 + i,
      type: 'tool_call',
      taskId: 'a',
      step: i + 1,
      tool: 'read_file',
      args: '{}',
      ok: true,
      summary: `read ${i}`,
      callId: `c${i}`,
      durationMs: 1,
    });
  const spans = await traceSpans(buildRunTrace(events)!);
  assert.equal(spans.length, 702);
  const before = received.length;
  assert.deepEqual(await sendOtlp(spans, `${collectorUrl}/v1/traces`), { ok: true });
  const bodies = received.slice(before).map((r) => spansOf(r.body));
  assert.deepEqual(
    bodies.map((b) => b.length),
    [512, 190],
  );
  assert.deepEqual(
    bodies.flat().map((s) => s.spanId),
    spans.map((s) => s.spanContext().spanId),
  );
});
