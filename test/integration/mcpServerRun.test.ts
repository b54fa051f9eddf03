/**
 * Runs started through Foreman's own MCP server use the developer's MCP servers, as `foreman run`
 * does: `foreman mcp` as a real process on a temporary repository whose foreman.json names
 * `mcp-server-everything` (from the npm registry), driven by the MCP SDK's Client, against the
 * scripted backend whose agent calls the server's echo tool. A client that supports elicitation
 * is asked about the new pin within start_run and approves it: the call reaches the server and the
 * task merges; a later run from a client that cannot ask finds the pin and asks nothing. In a fresh
 * repository, a client without elicitation (over stdio) is refused with how to approve the server,
 * journaled, and the run goes on without its tools. A start_run cancelled while its question is
 * open withdraws the question (notifications/cancelled for it), journaled, and the run goes on.
 * An HTTP MCP server's connection is held while a drive goes on and closed when it comes to rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ElicitResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { toolCall } from '../../src/scripted/scenario';
import { contentText } from '../../src/scripted/wire';
import type { ScriptedServer } from '../../src/scripted/server';
import { cleanEnv } from './tempRepo';
import {
  makeRepo,
  NODE_TEMPLATE,
  planReply,
  PROJECT_ROOT,
  rawTask,
  readRun,
  requestsFor,
  spawnCli,
  startServer,
  stateDir,
  waitFor,
} from './runHarness';
import type { TempRepo } from './runHarness';
import { callTool, mcpUrl } from './mcpHarness';

const BIN = join(PROJECT_ROOT, 'node_modules', '.bin');
const FLAGS = ['--concurrency', '1', '--no-review', '--no-checks'];
const CONFIG = { mcpServers: { everything: { command: join(BIN, 'mcp-server-everything'), tools: { '*': 'allow' } } } };

function scenario() {
  return {
    planner: [planReply([rawTask('a', { title: 'Echo through MCP', files: ['echoed.txt'] })])],
    agents: {
      a: [
        toolCall('mcp__everything__echo', { message: 'hello through foreman mcp' }),
        toolCall('write_file', { path: 'echoed.txt', content: 'echoed\n' }),
        toolCall('finish', { summary: 'called the echo tool' }),
      ],
    },
  };
}

function repoWithServer(): TempRepo {
  return makeRepo({ files: { ...NODE_TEMPLATE, 'foreman.json': `${JSON.stringify(CONFIG, null, 2)}\n` } });
}

/** The text of the tool results the agent's last request carried. */
function toolResults(backend: ScriptedServer, nth: number): string[] {
  const requests = requestsFor(backend, 'agent', 'a');
  // Each run's conversation of task a starts with one user message; take the nth run's last request.
  const starts = requests.flatMap((r, i) =>
    r.body.messages.filter((m) => m.role !== 'system').length === 1 ? [i] : [],
  );
  const end = nth + 1 < starts.length ? starts[nth + 1] : requests.length;
  const last = requests[end - 1];
  assert.ok(last, `no agent request of run ${nth + 1}`);
  return last.body.messages.filter((m) => m.role === 'tool').map(contentText);
}

const call = callTool;

/** Plan and start a run with wait: true; returns the run's id and start_run's text. */
async function planAndRun(client: Client): Promise<{ runId: string; text: string }> {
  const plan = await call(client, 'plan', { spec: 'Echo something through the MCP server.' });
  assert.ok(!plan.result.isError, plan.text);
  const run = await call(client, 'start_run', { planId: plan.structured?.planId, wait: true });
  assert.ok(!run.result.isError, run.text);
  return { runId: String(run.structured?.runId), text: run.text };
}

async function journal(repo: TempRepo, runId: string) {
  const { events, state } = await readRun(repo, runId);
  return {
    state,
    mcp: events.flatMap((e) =>
      e.type === 'mcp' ? [{ server: e.server, status: e.status, by: e.by, detail: e.detail }] : [],
    ),
    calls: events.flatMap((e) => (e.type === 'tool_call' ? [[e.tool, e.ok]] : [])),
  };
}

test('over HTTP: the pin is asked through elicitation within start_run; the agent calls the tool; a later run asks nothing', async () => {
  const repo = repoWithServer();
  const backend = await startServer(scenario());
  const foreman = spawnCli(['mcp', '--http', '--port', '0', '--no-token', ...FLAGS], {
    repo,
    server: backend,
    timeoutMs: 240_000,
  });
  try {
    const url = await mcpUrl(foreman);

    const asked: string[] = [];
    const asking = new Client({ name: 'asks', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    asking.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { approve: true } };
    });
    await asking.connect(new StreamableHTTPClientTransport(new URL(url)));
    const first = await planAndRun(asking);
    await asking.close();

    assert.equal(asked.length, 1, asked.join('\n---\n'));
    assert.match(asked[0], /MCP server "everything" is new/);
    assert.match(asked[0], /mcp-server-everything/);
    assert.match(asked[0], /echo: /, 'the question lists the tools');
    assert.match(first.text, /MCP server everything: approved/);
    const one = await journal(repo, first.runId);
    assert.deepEqual(
      one.mcp.map((e) => [e.server, e.status, e.by]),
      [['everything', 'approved', 'user']],
    );
    assert.deepEqual(one.calls[0], ['mcp__everything__echo', true]);
    assert.equal(one.state.tasks.get('a')?.status, 'merged');
    assert.equal(one.state.status, 'completed');
    assert.match(toolResults(backend, 0)[0], /Echo: hello through foreman mcp/, 'the server answered the agent');
    const pins = JSON.parse(readFileSync(join(stateDir(repo), 'mcp-pins.json'), 'utf8')) as { servers: object };
    assert.deepEqual(Object.keys(pins.servers), ['everything']);

    // Pinned now: a client that cannot ask starts a run whose agents get the tool all the same.
    const mute = new Client({ name: 'mute', version: '1.0.0' });
    await mute.connect(new StreamableHTTPClientTransport(new URL(url)));
    const second = await planAndRun(mute);
    await mute.close();
    const two = await journal(repo, second.runId);
    assert.deepEqual(
      two.mcp.map((e) => [e.server, e.status]),
      [['everything', 'pinned']],
    );
    assert.deepEqual(two.calls[0], ['mcp__everything__echo', true]);
    assert.equal(two.state.tasks.get('a')?.status, 'merged');
    assert.match(toolResults(backend, 1)[0], /Echo: hello through foreman mcp/);
  } finally {
    foreman.child.kill('SIGTERM');
    const end = await foreman.result;
    await backend.close();
    repo.cleanup();
    assert.equal(end.code, 0, `foreman mcp ends cleanly:\n${end.stderr}`);
  }
});

test('over stdio, a client without elicitation: the new server is refused with how to approve it, and the run goes on without it', async () => {
  const repo = repoWithServer();
  const backend = await startServer(scenario());
  const env = {
    ...cleanEnv(),
    FOREMAN_WORKTREE_ROOT: repo.worktreeRoot,
    FOREMAN_BASE_URL: backend.url,
    FOREMAN_MODEL: 'foreman-test-model',
  } as Record<string, string>;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      '--import',
      pathToFileURL(join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
      join(PROJECT_ROOT, 'src', 'cli', 'main.ts'),
      'mcp',
      ...FLAGS,
    ],
    cwd: repo.root,
    env,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'mute-stdio', version: '1.0.0' });
  try {
    await client.connect(transport);
    const run = await planAndRun(client);
    assert.match(run.text, /MCP server everything: refused/);
    assert.match(run.text, /cannot ask you to approve it.*run `foreman run` once in a terminal/s);
    const { mcp, calls, state } = await journal(repo, run.runId);
    assert.equal(mcp.length, 1);
    assert.equal(mcp[0].status, 'refused');
    assert.equal(mcp[0].by, 'nobody');
    assert.match(mcp[0].detail, /new; its tools are not offered: this MCP client cannot ask you/);
    // The tool was never offered: the agent's call of it is an unknown tool, and the task goes on.
    const offered = (requestsFor(backend, 'agent', 'a')[0].body.tools ?? []).map((t) => t.function.name);
    assert.ok(!offered.some((n) => n.startsWith('mcp__')), offered.join(' '));
    assert.deepEqual(calls[0], ['mcp__everything__echo', false]);
    assert.equal(state.tasks.get('a')?.status, 'merged');
    assert.ok(!existsSync(join(stateDir(repo), 'mcp-pins.json')), 'nothing was pinned');
  } finally {
    await client.close();
    await backend.close();
    repo.cleanup();
  }
});

test('cancelling start_run while its pin question is open withdraws the question; the run goes on without the server', async () => {
  const repo = repoWithServer();
  const backend = await startServer(scenario());
  const foreman = spawnCli(['mcp', '--http', '--port', '0', '--no-token', ...FLAGS], {
    repo,
    server: backend,
    timeoutMs: 240_000,
  });
  const controller = new AbortController();
  const client = new Client({ name: 'slow-to-answer', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  const asked: (number | string | null)[] = [];
  const withdrawn: (number | string | null)[] = [];
  client.setRequestHandler(ElicitRequestSchema, () => {
    controller.abort('the test cancels start_run');
    // The user never answers: the question ends only when Foreman withdraws it.
    return new Promise<ElicitResult>(() => undefined);
  });
  try {
    const url = await mcpUrl(foreman);
    const transport = new StreamableHTTPClientTransport(new URL(url));
    await client.connect(transport);
    // What the server sends, as it arrives: the SDK's client ignores a cancellation of request id 0
    // (its check is `if (!requestId)`), and the pin question is the server's first request.
    const received = transport.onmessage;
    assert.ok(received);
    transport.onmessage = (message: JSONRPCMessage) => {
      const m = message as { id?: number | string; method?: string; params?: { requestId?: number | string } };
      if (m.method === 'elicitation/create') asked.push(m.id ?? null);
      if (m.method === 'notifications/cancelled') withdrawn.push(m.params?.requestId ?? null);
      received(message);
    };
    const plan = await call(client, 'plan', { spec: 'Echo something through the MCP server.' });
    await assert.rejects(
      callTool(client, 'start_run', { planId: plan.structured?.planId }, { signal: controller.signal }),
      /the test cancels start_run/,
    );
    await waitFor('the question withdrawn', () => (withdrawn.length ? true : null));
    assert.equal(asked.length, 1);
    assert.deepEqual(withdrawn, asked, 'Foreman cancelled its question');
    const runId = String((await call(client, 'status', {})).structured?.runId);
    const done = await call(client, 'wait_for_run', { runId });
    assert.equal(done.structured?.status, 'completed', done.text);
    const { mcp, state } = await journal(repo, runId);
    assert.deepEqual(
      mcp.map((e) => [e.status, e.by]),
      [['refused', 'stopped']],
    );
    assert.match(mcp[0].detail, /the call that asked was cancelled before you answered/);
    assert.equal(state.tasks.get('a')?.status, 'merged');
  } finally {
    await client.close();
    foreman.child.kill('SIGTERM');
    const end = await foreman.result;
    await backend.close();
    repo.cleanup();
    assert.equal(end.code, 0, `foreman mcp ends cleanly:\n${end.stderr}`);
  }
});

/**
 * An MCP server over Streamable HTTP in this process, with one tool (`echo`), that counts the
 * event streams its clients hold open (the SDK's client keeps one, a GET, while connected).
 */
async function httpToolServer(): Promise<{ url: string; opened(): number; open(): number; close(): Promise<void> }> {
  let opened = 0;
  let open = 0;
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    void (async () => {
      const id = req.headers['mcp-session-id'];
      let transport = typeof id === 'string' ? sessions.get(id) : undefined;
      if (!transport) {
        const made = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => void sessions.set(sid, made),
        });
        const server = new McpServer({ name: 'fixture', version: '1.0.0' });
        server.registerTool(
          'echo',
          { description: 'Echo the message back.', inputSchema: { message: z.string() } },
          ({ message }) => ({ content: [{ type: 'text', text: `fixture echo: ${message}` }] }),
        );
        await server.connect(made);
        transport = made;
      }
      if (req.method === 'GET') {
        opened += 1;
        open += 1;
        res.on('close', () => (open -= 1));
      }
      await transport.handleRequest(req, res);
    })();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    opened: () => opened,
    open: () => open,
    close: async () => {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

test("an HTTP MCP server's connection is held while the run drives and closed when the drive ends", async () => {
  const fixture = await httpToolServer();
  const config = { mcpServers: { web: { url: fixture.url, tools: { '*': 'allow' } } } };
  const repo = makeRepo({ files: { ...NODE_TEMPLATE, 'foreman.json': `${JSON.stringify(config)}\n` } });
  const backend = await startServer({
    planner: [planReply([rawTask('a', { title: 'Echo over HTTP', files: ['echoed.txt'] })])],
    agents: {
      a: [
        toolCall('mcp__web__echo', { message: 'over http' }),
        toolCall('write_file', { path: 'echoed.txt', content: 'echoed\n' }),
        toolCall('finish', { summary: 'called it' }),
      ],
    },
  });
  const foreman = spawnCli(['mcp', '--http', '--port', '0', '--no-token', ...FLAGS], {
    repo,
    server: backend,
    timeoutMs: 240_000,
  });
  const client = new Client({ name: 'asks', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { approve: true } }));
  try {
    const url = await mcpUrl(foreman);
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const run = await planAndRun(client);
    const { mcp, calls, state } = await journal(repo, run.runId);
    assert.deepEqual(
      mcp.map((e) => [e.server, e.status]),
      [['web', 'approved']],
    );
    assert.deepEqual(calls[0], ['mcp__web__echo', true]);
    assert.match(toolResults(backend, 0)[0], /fixture echo: over http/);
    assert.equal(state.tasks.get('a')?.status, 'merged');
    assert.ok(fixture.opened() > 0, "the run's connection held an event stream");
    await waitFor('the connection closed after the drive', () => (fixture.open() === 0 ? true : null));
    assert.equal(foreman.child.exitCode, null, 'while foreman mcp still serves');
  } finally {
    await client.close();
    foreman.child.kill('SIGTERM');
    await foreman.result;
    await backend.close();
    await fixture.close();
    repo.cleanup();
  }
});
