/**
 * Cancelling a long tool call of `foreman mcp` (the client's `notifications/cancelled`, sent by the
 * MCP SDK's Client when its request's signal aborts), against the real process over Streamable
 * HTTP with the scripted backend holding the agent: a `start_run` that waits and a `wait_for_run`
 * each stop waiting when cancelled, while the run goes on in the background and later completes
 * (a cancellation must never stop the run). No progress notification and no answer reach the client
 * for the cancelled calls afterwards (the SDK client would report either as an error). A cancelled
 * `plan` is tested in mcpServer.test.ts, a cancelled pin question in mcpServerRun.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { toolCall } from '../../src/scripted/scenario';
import { deferred, makeRepo, planReply, rawTask, readRun, spawnCli, startServer } from './runHarness';
import { callTool, mcpUrl } from './mcpHarness';

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  opts: { signal?: AbortSignal; onprogress?: (p: Progress) => void } = {},
) {
  const answer = await callTool(client, name, args, opts);
  assert.ok(!answer.result.isError, answer.text);
  return answer;
}

/** Call `name` with a progress token, cancel it once its first progress notification arrives. */
async function cancelAfterProgress(client: Client, name: string, args: Record<string, unknown>): Promise<void> {
  const controller = new AbortController();
  let progressed = 0;
  const calling = call(client, name, args, {
    signal: controller.signal,
    onprogress: () => {
      progressed += 1;
      controller.abort('the test cancels the call');
    },
  });
  await assert.rejects(calling, /the test cancels the call/);
  assert.ok(progressed >= 1, `${name} sent progress before it was cancelled`);
}

test('a cancelled start_run (wait) and wait_for_run stop only the waiting; the run goes on and completes', async () => {
  const repo = makeRepo();
  const agents = deferred();
  let holding = true;
  const backend = await startServer(
    {
      planner: [planReply([rawTask('a', { title: 'Write a', files: ['a.txt'] })])],
      agents: { a: [toolCall('write_file', { path: 'a.txt', content: 'a\n' }), toolCall('finish', { summary: 'a' })] },
    },
    { gate: (route) => (route.role === 'agent' && holding ? agents.promise : undefined) },
  );
  const foreman = spawnCli(['mcp', '--http', '--port', '0', '--no-token', '--no-checks', '--no-review'], {
    repo,
    server: backend,
    timeoutMs: 180_000,
  });
  const client = new Client({ name: 'canceller', version: '1.0.0' });
  const errors: string[] = [];
  client.onerror = (e) => errors.push(e.message);
  try {
    const url = await mcpUrl(foreman);
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const plan = await call(client, 'plan', { spec: 'Write a.' });

    await cancelAfterProgress(client, 'start_run', { planId: plan.structured?.planId, wait: true });
    const status = await call(client, 'status', {});
    const runId = String(status.structured?.runId);
    assert.equal(status.structured?.live, true, 'the run goes on after the cancelled wait');

    await cancelAfterProgress(client, 'wait_for_run', { runId });
    assert.equal((await call(client, 'status', { runId })).structured?.live, true);

    holding = false;
    agents.resolve();
    const progress: Progress[] = [];
    const done = await call(client, 'wait_for_run', { runId }, { onprogress: (p) => progress.push(p) });
    assert.equal(done.structured?.status, 'completed', done.text);
    assert.ok(progress.length > 0, 'the uncancelled wait had progress');
    const { state } = await readRun(repo, runId);
    assert.equal(state.tasks.get('a')?.status, 'merged');
    assert.deepEqual(errors, [], 'nothing arrived for the cancelled calls');
  } finally {
    await client.close();
    foreman.child.kill('SIGTERM');
    const end = await foreman.result;
    await backend.close();
    repo.cleanup();
    assert.equal(end.code, 0, `foreman mcp ends cleanly:\n${end.stderr}`);
  }
});
