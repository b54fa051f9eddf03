/**
 * Runs planned and started through `foreman mcp` use foreman.json's endpoints and roles, as
 * `foreman run` does: the planner's request goes to the planner's endpoint and model, the agents'
 * to theirs, and the journal records where each request went. `foreman mcp --http` as a real
 * process on a temporary repository, driven by the MCP SDK's Client; two scripted servers. And
 * the plan tool says what the planner left out of the repository view to fit a small window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { toolCall } from '../../src/scripted/scenario';
import { makeRepo, planReply, rawTask, readRun, spawnCli, startServer } from './runHarness';
import { callTool, mcpUrl } from './mcpHarness';

const call = callTool;

test("a run started through foreman mcp plans on the planner's endpoint and works on the agents'", async () => {
  const big = await startServer({ planner: [planReply([rawTask('a', { files: ['a.txt'] })])] }, { model: 'large' });
  const local = await startServer(
    {
      agents: {
        a: [toolCall('write_file', { path: 'a.txt', content: 'a\n' }), toolCall('finish', { summary: 'wrote a' })],
      },
    },
    { model: 'coder' },
  );
  const config = {
    backends: [
      { name: 'big', baseUrl: big.url, models: ['large'] },
      { name: 'local', baseUrl: local.url, models: ['coder'] },
    ],
    roles: { planner: 'large', agent: 'coder', reviewer: 'large' },
  };
  const repo = makeRepo({ files: { 'foreman.json': `${JSON.stringify(config, null, 2)}\n` } });
  const foreman = spawnCli(['mcp', '--http', '--port', '0', '--no-token', '--no-review', '--no-checks'], {
    repo,
    timeoutMs: 120_000,
  });
  try {
    const url = await mcpUrl(foreman);
    const client = new Client({ name: 'fabric', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const plan = await call(client, 'plan', { spec: 'Write a.' });
    assert.ok(!plan.result.isError, plan.text);
    const run = await call(client, 'start_run', { planId: plan.structured?.planId, wait: true });
    assert.ok(!run.result.isError, run.text);
    await client.close();

    assert.ok(
      big.requests.some((r) => r.body.model === 'large'),
      'the planner asked the big endpoint',
    );
    assert.ok(
      local.requests.every((r) => r.body.model === 'coder'),
      'the local endpoint was asked for its own model only',
    );
    const { events, state } = await readRun(repo, String(run.structured?.runId));
    assert.equal(state.tasks.get('a')?.status, 'merged');
    const agentAt = events.flatMap((e) => (e.type === 'model_request' && e.role === 'agent' ? [e.endpoint] : []));
    assert.ok(agentAt.length >= 2);
    assert.deepEqual([...new Set(agentAt)], [local.url], "every agent request went to the agents' endpoint");
    assert.match(foreman.stderrSoFar(), /local http:\/\/127\.0\.0\.1:\d+\/v1 coder: .* requests at once/);
  } finally {
    foreman.child.kill('SIGTERM');
    await foreman.result;
    await Promise.all([big.close(), local.close()]);
    repo.cleanup();
  }
});

test("the plan tool says what the planner left out to fit its model's context window", async () => {
  const files: Record<string, string> = {
    'README.md': `# Parts\n\n${Array.from({ length: 80 }, (_, i) => `Paragraph ${i}: how the parts are kept, said at length.`).join('\n')}`,
  };
  for (let i = 0; i < 300; i++) files[`lib/part-${String(i).padStart(3, '0')}.txt`] = `part ${i}\n`;
  const repo = makeRepo({ files });
  const backend = await startServer(
    { planner: [planReply([rawTask('changes', { files: ['CHANGES.md'] })])] },
    { contextWindow: 2_000 },
  );
  const foreman = spawnCli(['mcp', '--http', '--port', '0', '--no-token'], {
    repo,
    server: backend,
    timeoutMs: 120_000,
  });
  try {
    const url = await mcpUrl(foreman);
    const client = new Client({ name: 'notes', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const plan = await call(client, 'plan', { spec: 'List the parts in CHANGES.md.' });
    await client.close();
    assert.ok(!plan.result.isError, plan.text);
    assert.match(plan.text, /^The repository view was too long for the planner model's context window of 2,000 tokens/);
    const notes = plan.structured?.notes as string[];
    assert.equal(notes.length, 1);
  } finally {
    foreman.child.kill('SIGTERM');
    await foreman.result;
    await backend.close();
    repo.cleanup();
  }
});
