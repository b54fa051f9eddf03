/**
 * Resource subscriptions of `foreman mcp`, as a real process on a temporary repository with the
 * scripted backend, through the MCP SDK's Client over Streamable HTTP: a new run announces itself
 * with `notifications/resources/list_changed`; a client subscribed to the run and its journal gets
 * `notifications/resources/updated` for those URIs while the run moves, fewer than the journal has
 * lines (they are coalesced); once unsubscribed from the run it gets none for it while the journal,
 * still subscribed, keeps being updated. A `foreman://` URI that names no run is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { toolCall } from '../../src/scripted/scenario';
import { deferred, makeRepo, planReply, rawTask, readRun, spawnCli, startServer, waitFor } from './runHarness';
import { callTool, mcpUrl } from './mcpHarness';

/** A tool call that must not be an error. */
async function call(client: Client, name: string, args: Record<string, unknown>) {
  const answer = await callTool(client, name, args);
  assert.ok(!answer.result.isError, answer.text);
  return answer;
}

test('a subscribed client is told when its run and journal change, coalesced, and nothing once it unsubscribes', async () => {
  const repo = makeRepo();
  const agents = deferred();
  let holding = true;
  const backend = await startServer(
    {
      planner: [planReply([rawTask('a', { title: 'Write a', files: ['a.txt'] })])],
      agents: {
        a: [
          toolCall('write_file', { path: 'a.txt', content: 'one\n' }),
          toolCall('write_file', { path: 'a.txt', content: 'two\n' }),
          toolCall('finish', { summary: 'wrote a' }),
        ],
      },
    },
    { gate: (route) => (route.role === 'agent' && holding ? agents.promise : undefined) },
  );
  const foreman = spawnCli(['mcp', '--http', '--port', '0', '--no-token', '--hold', '--no-checks', '--no-review'], {
    repo,
    server: backend,
    timeoutMs: 180_000,
  });
  const client = new Client({ name: 'subscriber', version: '1.0.0' });
  try {
    const url = await mcpUrl(foreman);
    const updates: string[] = [];
    let listChanged = 0;
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void (listChanged += 1));
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    assert.equal(client.getServerCapabilities()?.resources?.subscribe, true);

    const plan = await call(client, 'plan', { spec: 'Write a.' });
    const started = await call(client, 'start_run', { planId: plan.structured?.planId });
    const runId = String(started.structured?.runId);
    await waitFor('list_changed for the new run', () => listChanged > 0 || null);

    const runUri = `foreman://runs/${runId}`;
    const journalUri = `${runUri}/journal`;
    await client.subscribeResource({ uri: runUri });
    await client.subscribeResource({ uri: journalUri });
    holding = false;
    agents.resolve();
    const held = await call(client, 'wait_for_run', { runId });
    assert.equal(held.structured?.phase, 'review', held.text);
    await waitFor('updates of the run', () => updates.filter((u) => u === runUri).length > 1 || null);
    await waitFor('updates of the journal', () => updates.filter((u) => u === journalUri).length > 1 || null);
    assert.deepEqual([...new Set(updates)].sort(), [runUri, journalUri].sort(), 'only the subscribed URIs');
    const { events } = await readRun(repo, runId);
    const ofRun = updates.filter((u) => u === runUri).length;
    assert.ok(ofRun < events.length, `coalesced: ${ofRun} updates for ${events.length} journal events`);

    // Unsubscribed from the run, still subscribed to the journal: the accept moves both.
    await client.unsubscribeResource({ uri: runUri });
    const before = { run: ofRun, journal: updates.filter((u) => u === journalUri).length };
    await call(client, 'accept_task', { runId, taskIds: ['a'] });
    const done = await call(client, 'wait_for_run', { runId });
    assert.equal(done.structured?.status, 'completed', done.text);
    await waitFor('journal updates after the accept', () =>
      updates.filter((u) => u === journalUri).length > before.journal ? true : null,
    );
    assert.equal(updates.filter((u) => u === runUri).length, before.run, 'no update for the unsubscribed run');

    await assert.rejects(
      client.subscribeResource({ uri: 'foreman://runs/r20200101-000000-0000' }),
      /There is no run r20200101-000000-0000 in this repository/,
    );
    await assert.rejects(client.subscribeResource({ uri: 'foreman://elsewhere' }), /is not one of Foreman's resources/);
  } finally {
    await client.close();
    foreman.child.kill('SIGTERM');
    const end = await foreman.result;
    await backend.close();
    repo.cleanup();
    assert.equal(end.code, 0, `foreman mcp ends cleanly:\n${end.stderr}`);
  }
});
