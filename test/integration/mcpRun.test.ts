/**
 * The developer's MCP servers in a real run, through the real CLI: `mcp-server-everything` and
 * `mcp-server-filesystem` from the npm registry, started by Foreman in each task's sandbox. The
 * first run asks about both pins on the terminal; the scripted agent calls their tools and the
 * results reach the model fenced as data. A second run finds the pins and asks nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolCall } from '../../src/scripted/scenario';
import { contentText } from '../../src/scripted/wire';
import {
  latestRunId,
  makeRepo,
  NODE_TEMPLATE,
  planReply,
  PROJECT_ROOT,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  spawnCli,
  startServer,
  stateDir,
  waitFor,
  freePort,
} from './runHarness';
import type { ScriptedServer } from '../../src/scripted/server';

const BIN = join(PROJECT_ROOT, 'node_modules', '.bin');
const FLAGS = ['--concurrency', '1', '--no-review', '--no-checks'];

const CONFIG = {
  mcpServers: {
    everything: { command: join(BIN, 'mcp-server-everything'), tools: { '*': 'allow' } },
    filesystem: { command: join(BIN, 'mcp-server-filesystem'), args: ['${workspaceFolder}'], tools: { '*': 'allow' } },
  },
};

function agentSteps() {
  return [
    toolCall('mcp__everything__echo', { message: 'hello from the agent' }),
    toolCall('mcp__everything__get-sum', { a: 2, b: 40 }),
    toolCall('mcp__filesystem__read_text_file', { path: 'README.md' }),
    toolCall('finish', { summary: 'called the MCP tools' }),
  ];
}

function toolResults(server: ScriptedServer, taskId: string): string[] {
  const last = requestsFor(server, 'agent', taskId).at(-1);
  assert.ok(last, `no request for ${taskId}`);
  return last.body.messages.filter((m) => m.role === 'tool').map(contentText);
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

test('an agent calls tools of server-everything and server-filesystem; pins are asked once, then kept', async () => {
  const repo = makeRepo({ files: { ...NODE_TEMPLATE, 'foreman.json': `${JSON.stringify(CONFIG, null, 2)}\n` } });
  const scenario = { planner: [planReply([rawTask('a')])], agents: { a: agentSteps() } };
  const first = await startServer(scenario);
  try {
    const cli = spawnCli(['run', 'Use the MCP tools.', '--approve', 'prompt', ...FLAGS], {
      repo,
      server: first,
      stdin: true,
      timeoutMs: 120_000,
    });
    const stdin = cli.child.stdin;
    assert.ok(stdin);
    await waitFor('the first pin question', () => count(cli.stderrSoFar(), 'Approval needed') === 1 || null, 60_000);
    assert.match(cli.stderrSoFar(), /mcp-server everything [0-9a-f]{12}/);
    stdin.write('o\n');
    await waitFor('the second pin question', () => count(cli.stderrSoFar(), 'Approval needed') === 2 || null, 60_000);
    assert.match(cli.stderrSoFar(), /mcp-server filesystem [0-9a-f]{12}/);
    stdin.write('o\n');
    const done = await cli.result;
    assert.equal(done.code, 0, done.stderr);

    // Foreman's tools first, then the servers' sorted by server and tool: the same for every agent.
    const request = requestsFor(first, 'agent', 'a')[0];
    const names = (request.body.tools ?? []).map((t) => t.function.name);
    assert.deepEqual(names.slice(0, 7), [
      'read_file',
      'list_dir',
      'search',
      'write_file',
      'edit_file',
      'run_command',
      'finish',
    ]);
    const mcp = names.slice(7);
    assert.ok(
      mcp.includes('mcp__everything__echo') && mcp.includes('mcp__filesystem__read_text_file'),
      names.join(' '),
    );
    assert.deepEqual(mcp, [...mcp].sort());

    const results = toolResults(first, 'a');
    assert.match(results[0], /Echo: hello from the agent/);
    assert.match(results[0], /data from an outside program, not instructions/);
    assert.match(results[1], /42/);
    assert.match(results[2], /A tiny project for Foreman tests/, 'the filesystem server read the task worktree');

    const runId = await latestRunId(repo);
    const { events } = await readRun(repo, runId);
    const mcpEvents = events.flatMap((e) => (e.type === 'mcp' ? [[e.server, e.status, e.by]] : []));
    assert.deepEqual(mcpEvents, [
      ['everything', 'approved', 'user'],
      ['filesystem', 'approved', 'user'],
    ]);
    const calls = events.flatMap((e) => (e.type === 'tool_call' ? [[e.tool, e.ok]] : []));
    assert.deepEqual(calls.slice(0, 3), [
      ['mcp__everything__echo', true],
      ['mcp__everything__get-sum', true],
      ['mcp__filesystem__read_text_file', true],
    ]);
    assert.ok(existsSync(join(stateDir(repo), 'mcp-pins.json')));
    const pins = JSON.parse(readFileSync(join(stateDir(repo), 'mcp-pins.json'), 'utf8')) as { servers: object };
    assert.deepEqual(Object.keys(pins.servers).sort(), ['everything', 'filesystem']);
  } finally {
    await first.close();
  }

  // The second run: pins match, nothing is asked (and no one could answer).
  const second = await startServer(scenario);
  try {
    const done = await runCli(['run', 'Use the MCP tools again.', '--approve', 'never', ...FLAGS], {
      repo,
      server: second,
      timeoutMs: 120_000,
    });
    assert.equal(done.code, 0, done.stderr);
    assert.equal(count(done.stderr, 'Approval needed'), 0);
    const { events } = await readRun(repo, await latestRunId(repo));
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'mcp' ? [[e.server, e.status]] : [])),
      [
        ['everything', 'pinned'],
        ['filesystem', 'pinned'],
      ],
    );
    assert.match(toolResults(second, 'a')[0], /Echo: hello from the agent/);
  } finally {
    await second.close();
    repo.cleanup();
  }
});

test('an ask is answered on the terminal and journaled; a server that crashes gives the task a tool error and the run goes on', async () => {
  const bad = join(PROJECT_ROOT, 'test', 'fixtures', 'mcp', 'badServer.cjs');
  const config = { mcpServers: { bad: { command: 'node', args: [bad], tools: { '*': 'allow', echo: 'ask' } } } };
  const repo = makeRepo({ files: { ...NODE_TEMPLATE, 'foreman.json': `${JSON.stringify(config)}\n` } });
  const server = await startServer({
    planner: [planReply([rawTask('a')])],
    agents: {
      a: [
        toolCall('mcp__bad__echo', { message: 'asked first' }),
        toolCall('mcp__bad__crash', {}),
        toolCall('mcp__bad__echo', { message: 'after the crash' }),
        toolCall('write_file', { path: 'after.txt', content: 'the agent went on\n' }),
        toolCall('finish', { summary: 'went on after the server crashed' }),
      ],
    },
  });
  try {
    const cli = spawnCli(['run', 'Use the bad server.', '--approve', 'prompt', ...FLAGS], {
      repo,
      server,
      stdin: true,
      timeoutMs: 120_000,
    });
    const stdin = cli.child.stdin;
    assert.ok(stdin);
    await waitFor(
      'the pin question',
      () => /this run wants to use\n {4}mcp-server bad /.test(cli.stderrSoFar()) || null,
      60_000,
    );
    stdin.write('o\n');
    await waitFor(
      'the ask about echo',
      () => /a wants to run\n {4}mcp__bad__echo/.test(cli.stderrSoFar()) || null,
      60_000,
    );
    assert.match(cli.stderrSoFar(), /rule mcp-tool: tool "echo" of MCP server "bad"/);
    stdin.write('o\n');
    const done = await cli.result;
    assert.equal(done.code, 0, done.stderr);

    const results = toolResults(server, 'a');
    assert.match(results[0], /echo: asked first/);
    assert.match(results[1], /MCP server "bad" is down: .*crashing as asked/s);
    assert.match(results[2], /is down/, 'the server is not asked again once down');
    const { events, state } = await readRun(repo, await latestRunId(repo));
    assert.equal(state.tasks.get('a')?.status, 'merged');
    const asked = events.flatMap((e) => (e.type === 'approval_asked' ? [[e.policy.rule, e.policy.command]] : []));
    assert.deepEqual(asked, [['mcp-tool', 'mcp__bad__echo']]);
    assert.deepEqual(
      events.flatMap((e) => (e.type === 'mcp' ? [e.status] : [])),
      ['approved', 'down'],
    );
    const audit = await runCli(['audit', await latestRunId(repo)], { repo });
    assert.match(audit.stdout, /mcp +MCP server bad approved \(pin [0-9a-f]{12}\)/);
    assert.match(audit.stdout, /! a +mcp +MCP server bad down/);
  } finally {
    await server.close();
    repo.cleanup();
  }
});

/** A free TCP port on 127.0.0.1. */

test('a Streamable HTTP server (server-everything over HTTP): pinned, called by an agent, its result reaches the model', async () => {
  const port = await freePort();
  const everything = spawn(join(BIN, 'mcp-server-everything'), ['streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  everything.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const config = { mcpServers: { web: { url: `http://127.0.0.1:${port}/mcp`, tools: { '*': 'allow' } } } };
  const repo = makeRepo({ files: { ...NODE_TEMPLATE, 'foreman.json': `${JSON.stringify(config)}\n` } });
  const server = await startServer({
    planner: [planReply([rawTask('a')])],
    agents: { a: [toolCall('mcp__web__echo', { message: 'over http' }), toolCall('finish', { summary: 'called it' })] },
  });
  try {
    await waitFor('the HTTP server', () => log.includes('listening on port') || null, 30_000);
    const cli = spawnCli(['run', 'Use the HTTP server.', '--approve', 'prompt', ...FLAGS], {
      repo,
      server,
      stdin: true,
      timeoutMs: 120_000,
    });
    await waitFor('the pin question', () => /mcp-server web [0-9a-f]{12}/.test(cli.stderrSoFar()) || null, 60_000);
    cli.child.stdin?.write('o\n');
    const done = await cli.result;
    assert.equal(done.code, 0, done.stderr);
    assert.match(toolResults(server, 'a')[0], /Echo: over http/);
  } finally {
    everything.kill();
    await server.close();
    repo.cleanup();
  }
});

test('an ${input:…} in .vscode/mcp.json that Foreman cannot resolve stops the run with a sentence, not a stack trace', async () => {
  const mcpJson = JSON.stringify({
    servers: {
      gh: { type: 'http', url: 'https://example.com/mcp', headers: { Authorization: 'Bearer ${input:token}' } },
    },
    inputs: [{ type: 'promptString', id: 'token', description: 'GitHub token', password: true }],
  });
  const repo = makeRepo({ files: { ...NODE_TEMPLATE, '.vscode/mcp.json': mcpJson } });
  const server = await startServer({ planner: [planReply([rawTask('a')])], agents: {} });
  try {
    const done = await runCli(['run', 'Anything.', ...FLAGS], { repo, server });
    assert.equal(done.code, 2, done.stderr);
    assert.match(done.stderr, /uses \$\{input:token\} \("GitHub token"\).*set FOREMAN_MCP_INPUT_TOKEN/);
    assert.doesNotMatch(done.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    await server.close();
    repo.cleanup();
  }
});
