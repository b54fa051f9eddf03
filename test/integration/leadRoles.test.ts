/**
 * The panel's roles (`foreman.roles` over `foreman.backends`): the planner's first model is on a
 * backend where nothing listens, so its fallback plans, the log says so, and the run's journal
 * records the planner's requests where they went. The chosen backend's model is probed and the
 * panel shows what was found; each backend's key goes to that backend only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolCall } from '../../src/scripted/scenario';
import { freePort, makeRepo, planReply, rawTask, readRun, startServer } from './runHarness';
import { serverBackend, session, settledRun, state, testHost, testSettings, until } from './leadHarness';

test('foreman.roles: the planner falls back from a dead backend, says so, and the journal records where each request went', async () => {
  const repo = makeRepo();
  const server = await startServer(
    {
      planner: [planReply([rawTask('alpha', { files: ['alpha.txt'] })])],
      agents: {
        alpha: [toolCall('write_file', { path: 'alpha.txt', content: 'a\n' }), toolCall('finish', { summary: 'done' })],
      },
    },
    { model: 'coder', contextWindow: 16384 },
  );
  const dead = await freePort();
  const host = testHost(
    repo.root,
    testSettings(repo, {
      backends: [
        serverBackend(`http://127.0.0.1:${dead}/v1`, 'cluster', 'big'),
        serverBackend(server.url, 'local', 'coder'),
      ],
      defaultBackend: 'local',
      roles: { planner: ['big', 'coder'] },
    }),
    { keys: { cluster: 'sk-cluster-1111', local: 'sk-local-2222' } },
  );
  const s = await session(host);
  try {
    await s.handle({ type: 'spec/change', spec: 'Write alpha.' });
    await s.handle({ type: 'plan/start' });
    assert.deepEqual(
      state(s).plan?.tasks.map((t) => t.id),
      ['alpha'],
    );
    const warned = host.logs.filter((l) => l.level === 'warn').map((l) => l.message);
    assert.ok(
      warned.some((m) => /^The planner's model big failed \(connection: .*\); using coder instead/.test(m)),
      warned.join('\n'),
    );
    assert.ok(host.logs.some((l) => l.message === 'Planner: big (cluster) → coder (local)'));
    const probed = state(s).backends.find((b) => b.name === 'local')?.probed?.coder;
    assert.match(probed ?? '', /^context window: 16,384 tokens \(max_model_len\) · tool calling: yes/);
    await s.handle({ type: 'run/start' });
    const run = await settledRun(s);
    assert.equal(run.status, 'completed');
    const { events } = await readRun(repo, run.runId);
    const planner = events.filter((e) => e.type === 'model_request' && e.role === 'planner');
    assert.equal(planner.length, 1);
    assert.ok(planner[0].type === 'model_request' && planner[0].endpoint === server.url);
    // Each key went to its own backend: the local server only ever saw its own.
    const auth = new Set(server.requests.map((r) => r.headers.authorization));
    assert.deepEqual([...auth], ['Bearer sk-local-2222']);
    assert.equal(JSON.stringify(state(s)).includes('sk-'), false, 'no key in the panel state');
    await until(s, 'the board', (st) => st.run?.tasks.length === 1);
  } finally {
    await s.dispose();
    await server.close();
    repo.cleanup();
  }
});
