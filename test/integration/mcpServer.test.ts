/**
 * `foreman mcp` as a real process on a real temporary repository, driven by the MCP SDK's own
 * Client against the scripted backend: over Streamable HTTP with its printed bearer token (a
 * request without it, or with another one, is refused 401; a rebound Host or a foreign Origin 403),
 * and over stdio. A client plans, starts a run that holds its tasks for review (progress
 * notifications arrive while it moves), reads the status (unpriced, never $0), a task's diff and
 * transcript, the run and its journal as resources, accepts the tasks, and applies the run: refused
 * to a client that cannot ask the user, not done when the user declines, done when they confirm.
 * A second run is stopped while an agent waits, resumed, and has a task rejected; a cancelled plan
 * request cancels the backend request; command-line mistakes are refused before anything is served.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { ElicitResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import type { ScriptedServer } from '../../src/scripted/server';
import { toolCall } from '../../src/scripted/scenario';
import { cleanEnv } from './tempRepo';
import {
  deferred,
  makeRepo,
  planReply,
  PROJECT_ROOT,
  rawTask,
  routeOfBody,
  runCli,
  spawnCli,
  startServer,
  waitFor,
} from './runHarness';
import type { CliProcess, TempRepo } from './runHarness';
import { callTool } from './mcpHarness';

const TASKS = [
  rawTask('strings', { title: 'Shout helper', files: ['src/strings.js'] }),
  rawTask('numbers', { title: 'Double helper', files: ['src/numbers.js'] }),
];
const STRINGS = "'use strict';\nmodule.exports = { shout: (s) => `${s.toUpperCase()}!` };\n";
const NUMBERS = "'use strict';\nmodule.exports = { double: (n) => n * 2 };\n";

let repo: TempRepo;
let backend: ScriptedServer;
let foreman: CliProcess;
let url: string;
let token: string;
let runId: string;
/** While set, the backend holds planner requests until it resolves. */
let holdPlanner: Promise<void> | null = null;
/** While set, the backend holds agents' requests until it resolves. */
let holdAgents: Promise<void> | null = null;
/** Which run of the test the agents write for: each writes its file with this round in it. */
let round = 1;

/** An agent that writes `path` (marked with the round, so a later run changes it again) and finishes. */
function writer(path: string, content: string, summary: string) {
  return [
    () => toolCall('write_file', { path, content: round === 1 ? content : `${content}// round ${round}\n` }),
    toolCall('finish', { summary }),
  ];
}

before(async () => {
  repo = makeRepo();
  backend = await startServer(
    {
      planner: [planReply(TASKS)],
      agents: {
        strings: writer('src/strings.js', STRINGS, 'shout'),
        numbers: writer('src/numbers.js', NUMBERS, 'double'),
      },
    },
    {
      gate: (route) =>
        route.role === 'planner' && holdPlanner
          ? holdPlanner
          : route.role === 'agent' && holdAgents
            ? holdAgents
            : undefined,
    },
  );
  foreman = spawnCli(['mcp', '--http', '--port', '0', '--hold', '--no-checks', '--no-review'], {
    repo,
    server: backend,
    timeoutMs: 180_000,
  });
  let stdout = '';
  foreman.child.stdout?.on('data', (d: string) => (stdout += d));
  const lines = await waitFor('the URL and the token on stdout', () => {
    const got = stdout.split('\n');
    return got.length > 2 ? got : null;
  });
  url = lines[0];
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  assert.match(lines[1], /^Bearer \S{20,}$/);
  token = lines[1].slice('Bearer '.length);
});

after(async () => {
  foreman?.child.kill('SIGTERM');
  const end = await foreman?.result;
  assert.equal(end?.code, 0, `foreman mcp ends cleanly on SIGTERM:\n${end?.stderr}`);
  await backend?.close();
  repo?.cleanup();
});

/** A client connected over HTTP with the token; `elicit` answers the server's questions, when given. */
async function connect(elicit?: (message: string) => ElicitResult): Promise<Client> {
  const client = new Client(
    { name: 'foreman-test', version: '1.0.0' },
    { capabilities: elicit ? { elicitation: {} } : {} },
  );
  if (elicit) client.setRequestHandler(ElicitRequestSchema, (req) => elicit(req.params.message));
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>, onprogress?: (p: Progress) => void) {
  return callTool(client, name, args, { onprogress });
}

function initializeBody(): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
}

const POST_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

test('requests without the token, or with another one, are refused 401 with a sentence', async () => {
  for (const auth of [undefined, 'Bearer not-the-token', `Basic ${token}`]) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...POST_HEADERS, ...(auth ? { Authorization: auth } : {}) },
      body: initializeBody(),
    });
    assert.equal(res.status, 401, `Authorization: ${auth}`);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /Unauthorized: .*token/);
  }
  const ok = await fetch(url, {
    method: 'POST',
    headers: { ...POST_HEADERS, Authorization: `Bearer ${token}` },
    body: initializeBody(),
  });
  assert.equal(ok.status, 200, 'the right token is let through');
  await ok.body?.cancel();
});

test('a rebound Host or a foreign Origin is refused 403, even with the token', async () => {
  const { port } = new URL(url);
  const cases = [
    { Host: `evil.example.com:${port}` },
    { Origin: 'http://evil.example.com' },
    { Host: `127.0.0.1:${Number(port) + 1}` },
  ];
  for (const headers of cases) {
    // fetch refuses to set Host: node:http's request does.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', headers: { ...POST_HEADERS, Authorization: `Bearer ${token}`, ...headers } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(initializeBody());
    });
    assert.equal(status, 403, JSON.stringify(headers));
  }
});

test('a client plans, runs with progress, reads status, diff, transcript and resources, accepts, and applies with confirmation', async () => {
  const client = await connect();
  const logs: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
  const tools = (await client.listTools()).tools.map((t) => t.name);
  for (const name of [
    'plan',
    'start_run',
    'wait_for_run',
    'status',
    'task_diff',
    'task_transcript',
    'accept_task',
    'reject_task',
    'request_changes',
    'stop_run',
    'resume_run',
    'apply_run',
  ])
    assert.ok(tools.includes(name), `tool ${name} is listed`);

  const planned = await call(client, 'plan', { spec: 'Add a shout helper and a double helper.' });
  assert.ok(!planned.result.isError, planned.text);
  const planId = planned.structured?.planId as string;
  assert.equal((planned.structured?.plan as { tasks: unknown[] }).tasks.length, 2);
  assert.match(planned.text, /Estimate: /);

  const progress: Progress[] = [];
  const started = await call(client, 'start_run', { planId, wait: true }, (p) => progress.push(p));
  assert.ok(!started.result.isError, started.text);
  runId = started.structured?.runId as string;
  assert.equal(started.structured?.status, 'review', 'a --hold run waits for review');
  assert.ok(progress.length >= 2, `progress notifications arrived: ${progress.length}`);
  for (let i = 1; i < progress.length; i++)
    assert.ok(progress[i].progress > progress[i - 1].progress, 'progress grows');
  assert.match(progress.at(-1)?.message ?? '', /strings verified.*numbers verified.*run review/);
  await waitFor("Foreman's log lines as MCP log messages", () =>
    logs.some((l) => l.startsWith(`Run ${runId} started`)),
  );

  const status = await call(client, 'status', { runId });
  const usage = status.structured?.usage as { unpriced: number; cost: number | null; requests: number };
  assert.ok(usage.requests > 0);
  assert.ok(usage.unpriced > 0, 'requests without a price are counted');
  assert.equal(usage.cost, null, 'nothing was priced: no cost, never 0');
  assert.equal(status.structured?.cost, 'unpriced');
  assert.match(status.text, /TOTAL \(run\)/);

  const diff = await call(client, 'task_diff', { runId, taskId: 'strings' });
  assert.match(diff.text, /\+\+\+ b\/src\/strings\.js/);
  assert.doesNotMatch(diff.text, /numbers\.js/, "one task's diff holds only its files");
  const transcript = await call(client, 'task_transcript', { runId, taskId: 'numbers' });
  assert.match(transcript.text, /Transcript of task numbers \(Double helper\)/);
  assert.match(transcript.text, /write_file/);
  const unknown = await call(client, 'task_transcript', { runId, taskId: 'nope' });
  assert.ok(unknown.result.isError);
  assert.match(unknown.text, /has no task "nope"; its tasks are strings, numbers/);

  const listed = (await client.listResources()).resources.map((r) => r.uri);
  assert.ok(listed.includes(`foreman://runs/${runId}`), listed.join(', '));
  const runResource = await client.readResource({ uri: `foreman://runs/${runId}` });
  const runJson = JSON.parse((runResource.contents[0] as { text: string }).text) as { status: string };
  assert.equal(runJson.status, 'review');
  const journal = await client.readResource({ uri: `foreman://runs/${runId}/journal` });
  const events = (journal.contents[0] as { text: string }).text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string });
  assert.equal(events[0].type, 'run_started');

  const accepted = await call(client, 'accept_task', { runId, taskIds: ['strings', 'numbers'] });
  assert.ok(!accepted.result.isError, accepted.text);
  const waited = await call(client, 'wait_for_run', { runId });
  assert.equal(waited.structured?.status, 'completed', waited.text);

  const before = repo.snapshot();
  const refused = await call(client, 'apply_run', { runId });
  assert.ok(refused.result.isError);
  assert.match(refused.text, new RegExp(`cannot ask .*run \`foreman apply ${runId}\``));
  assert.deepEqual(repo.snapshot(), before, 'nothing was applied');
  await client.close();

  const questions: string[] = [];
  const declining = await connect((message) => {
    questions.push(message);
    return { action: 'decline' };
  });
  const declined = await call(declining, 'apply_run', { runId });
  assert.ok(declined.result.isError);
  assert.match(declined.text, /Not applied: the user did not confirm \(decline\)/);
  assert.match(questions[0], new RegExp(`Apply Foreman run ${runId} onto your current branch as one commit\\?`));
  assert.deepEqual(repo.snapshot(), before, 'a declined apply changes nothing');
  await declining.close();

  const confirming = await connect(() => ({ action: 'accept', content: { confirm: true } }));
  const applied = await call(confirming, 'apply_run', { runId });
  assert.ok(!applied.result.isError, applied.text);
  assert.match(applied.text, new RegExp(`Applied run ${runId} onto main as one commit`));
  assert.equal(repo.read('src/strings.js'), STRINGS);
  assert.equal(repo.read('src/numbers.js'), NUMBERS);
  assert.notEqual(repo.snapshot().head, before.head);
  await confirming.close();
});

test("cancelling a plan request cancels the planner's request to the backend", async () => {
  const held = deferred();
  holdPlanner = held.promise;
  const client = await connect();
  try {
    const before = backend.requests.length;
    const controller = new AbortController();
    const planning = client.callTool({ name: 'plan', arguments: { spec: 'Something slow.' } }, CallToolResultSchema, {
      signal: controller.signal,
    });
    await waitFor(
      'the planner request in flight',
      () => backend.requests.length > before && backend.stats.inFlight === 1,
    );
    controller.abort();
    await assert.rejects(planning, /abort/i);
    await waitFor('the backend to see the planner request end', () => backend.stats.inFlight === 0);
  } finally {
    holdPlanner = null;
    held.resolve();
    await client.close();
  }
});

test('over stdio, a client started `foreman mcp` itself and reads the same run', async () => {
  assert.ok(runId, 'the HTTP test ran first');
  const env = { ...cleanEnv(), FOREMAN_WORKTREE_ROOT: repo.worktreeRoot } as Record<string, string>;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      '--import',
      pathToFileURL(join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
      join(PROJECT_ROOT, 'src', 'cli', 'main.ts'),
      'mcp',
    ],
    cwd: repo.root,
    env,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'foreman-stdio-test', version: '1.0.0' });
  await client.connect(transport);
  assert.ok((await client.listTools()).tools.some((t) => t.name === 'status'));
  const status = await call(client, 'status', {});
  assert.equal(status.structured?.runId, runId, 'the newest run by default');
  assert.equal(status.structured?.phase, 'applied');
  const notRunning = await call(client, 'stop_run', { runId });
  assert.ok(notRunning.result.isError);
  assert.match(notRunning.text, /is not running in this Foreman process/);
  await client.close();
});

test('stop_run stops a run the server drives, resume_run goes on with it, reject_task discards a task', async () => {
  round = 2;
  const held = deferred();
  holdAgents = held.promise;
  const client = await connect();
  try {
    const planned = await call(client, 'plan', { spec: 'Mark both helpers with the round.' });
    const agentRequests = () => backend.requests.filter((r) => routeOfBody(r.body).role === 'agent').length;
    const before = agentRequests();
    const started = await call(client, 'start_run', { planId: planned.structured?.planId });
    assert.ok(!started.result.isError, started.text);
    const id = started.structured?.runId as string;
    assert.match(started.text, /goes on in the background/);
    await waitFor('an agent request held at the backend', () => agentRequests() > before);
    const stopped = await call(client, 'stop_run', { runId: id });
    assert.match(stopped.text, new RegExp(`Stopping run ${id}`));
    const afterStop = await call(client, 'wait_for_run', { runId: id, timeoutSeconds: 60 });
    assert.equal(afterStop.structured?.status, 'stopped', afterStop.text);
    holdAgents = null;
    held.resolve();
    const resumed = await call(client, 'resume_run', { runId: id });
    assert.ok(!resumed.result.isError, resumed.text);
    const review = await call(client, 'wait_for_run', { runId: id, timeoutSeconds: 60 });
    assert.equal(review.structured?.status, 'review', review.text);
    const rejected = await call(client, 'reject_task', { runId: id, taskIds: ['numbers'] });
    assert.ok(!rejected.result.isError, rejected.text);
    await call(client, 'wait_for_run', { runId: id, timeoutSeconds: 60 });
    const status = await call(client, 'status', { runId: id });
    const tasks = status.structured?.tasks as { id: string; status: string }[];
    assert.deepEqual(
      tasks.map((t) => `${t.id} ${t.status}`),
      ['strings verified', 'numbers rejected'],
    );
    const diff = await call(client, 'task_diff', { runId: id, taskId: 'strings' });
    assert.match(diff.text, /\+\/\/ round 2/, 'the resumed agent did its work');
    let asked = 0;
    const confirming = await connect(() => {
      asked += 1;
      return { action: 'accept', content: { confirm: true } };
    });
    const nothing = await call(confirming, 'apply_run', { runId: id });
    assert.ok(nothing.result.isError);
    assert.match(nothing.text, /has nothing merged into its integration branch; there is nothing to apply/);
    assert.equal(asked, 0, 'the user is not asked about an apply that cannot happen');
    await confirming.close();
  } finally {
    holdAgents = null;
    held.resolve();
    await client.close();
  }
});

test('mistakes on the command line: exit 2 with a sentence, before anything is served', async () => {
  const cases: [string[], RegExp][] = [
    [['mcp', '--port', '5'], /--port and --no-token go with foreman mcp --http/],
    [['mcp', '--http', '--port', '70000'], /--port needs a port number from 0 to 65535, not "70000"/],
    [['mcp', '--http', '--approve', 'prompt'], /--approve prompt needs a terminal, and foreman mcp has none/],
    [['mcp', 'extra'], /foreman mcp takes no arguments/],
  ];
  for (const [args, sentence] of cases) {
    const r = await runCli(args, { repo });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, sentence);
    assert.equal(r.stdout, '', 'no URL is printed');
  }
});
