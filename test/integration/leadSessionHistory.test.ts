/**
 * History in the Lead session: every run of the repository, newest first, rebuilt from journals;
 * a run killed mid-work (`foreman run` child process, SIGKILL) shows as interrupted and resumable,
 * and Resume continues it in its own worktrees without redoing merged work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESUMED_NOTE } from '../../src/core/prompts';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import {
  deferred,
  latestRunId,
  makeRepo,
  planReply,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  spawnCli,
  startServer,
  waitFor,
} from './runHarness';
import { refused, serverBackend, session, settledRun, state, testHost, testSettings, until } from './leadHarness';

const SCENARIO: Scenario = {
  planner: [
    planReply([
      rawTask('fast', { files: ['fast.txt'] }),
      rawTask('slow', { files: ['slow/part1.txt', 'slow/part2.txt'] }),
    ]),
  ],
  agents: {
    fast: [
      toolCall('write_file', { path: 'fast.txt', content: 'fast\n' }),
      toolCall('finish', { summary: 'wrote fast.txt' }),
    ],
    slow: [
      toolCall('write_file', { path: 'slow/part1.txt', content: 'written before the kill\n' }),
      toolCall('write_file', { path: 'slow/part2.txt', content: 'written after the resume\n' }),
      toolCall('finish', { summary: 'wrote both parts' }),
    ],
  },
};

test('history lists every run; an interrupted run is resumed from the panel', { timeout: 90_000 }, async () => {
  const repo = makeRepo();
  const held = deferred();
  const reached = deferred();
  let armed = false;
  const server = await startServer(SCENARIO, {
    gate: (route) => {
      if (!armed || route.role !== 'agent' || route.task !== 'slow' || route.step !== 1) return;
      armed = false;
      reached.resolve();
      return held.promise;
    },
  });
  const flags = ['--concurrency', '2', '--no-review', '--no-checks'];
  try {
    const done = await runCli(['run', 'A first run.', ...flags], { repo, server });
    assert.equal(done.code, 0, done.stderr);
    const completedId = await latestRunId(repo);
    armed = true;
    const cli = spawnCli(['run', 'Two files, one slow.', ...flags], { repo, server });
    await Promise.race([
      reached.promise,
      cli.result.then((r) => Promise.reject(new Error(`the run ended early (${r.code}): ${r.stderr}`))),
    ]);
    const runId = await waitFor('the second run', async () =>
      (await latestRunId(repo)) !== completedId ? latestRunId(repo) : null,
    );
    await waitFor(
      'fast merged while slow works',
      async () => (await readRun(repo, runId)).state.tasks.get('fast')?.status === 'merged',
    );

    const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }));
    const watching = await session(host);
    try {
      const st = state(watching);
      assert.deepEqual(
        st.history.map((h) => [h.runId, h.status, h.resumable]),
        [
          [runId, 'running', false],
          [completedId, 'completed', false],
        ],
        'a run another process drives shows as running',
      );
      await watching.handle({ type: 'run/open', runId });
      assert.equal(state(watching).run?.status, 'running');
      assert.deepEqual(state(watching).run?.actions, { stopAll: false, apply: false, resume: false });
      await refused(watching, { type: 'run/resume', runId }, 'busy');
    } finally {
      await watching.dispose();
    }

    process.kill(cli.pid, 'SIGKILL');
    await cli.result;
    held.resolve();

    const s = await session(host);
    try {
      let st = state(s);
      const entry = st.history.find((h) => h.runId === runId)!;
      assert.equal(entry.status, 'interrupted');
      assert.equal(entry.resumable, true);
      assert.equal(entry.merged, 1);
      assert.equal(entry.spec, 'Two files, one slow.');
      await s.handle({ type: 'run/open', runId });
      st = state(s);
      assert.equal(st.phase, 'run');
      assert.equal(st.run?.live, false);
      assert.equal(st.run?.actions.resume, true);
      assert.equal(st.run?.tasks.find((t) => t.id === 'slow')?.status, 'working', 'as the journal left it');

      const fastRequests = requestsFor(server, 'agent', 'fast').length;
      const slowRequests = requestsFor(server, 'agent', 'slow').length;
      await s.handle({ type: 'run/resume', runId });
      const run = await settledRun(s);
      assert.equal(run.status, 'completed', JSON.stringify(state(s).notices));
      assert.deepEqual(
        run.tasks.map((t) => t.status),
        ['merged', 'merged'],
      );
      assert.equal(requestsFor(server, 'agent', 'fast').length, fastRequests, 'merged work is not redone');
      const next = requestsFor(server, 'agent', 'slow')[slowRequests];
      assert.ok(
        next.body.messages.some((m) => m.content === RESUMED_NOTE),
        'the slow task continued its conversation',
      );
      assert.equal(repo.git(['show', `foreman/${runId}/integration:slow/part1.txt`]), 'written before the kill\n');
      await until(s, 'history updated', (x) => x.history.find((h) => h.runId === runId)?.status === 'completed');
      await refused(s, { type: 'run/resume', runId }, 'refused');
    } finally {
      await s.dispose();
    }
  } finally {
    held.resolve();
    await server.close();
    repo.cleanup();
  }
});
