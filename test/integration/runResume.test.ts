/**
 * Resume after `kill -9`: a `foreman run` child process is killed while one task is merged and
 * another is mid-request; `foreman status` calls the run interrupted, a torn half line is appended
 * to the journal, and `foreman run --resume` finishes the run without redoing the merged task,
 * continuing the interrupted one in its own worktree, branch and conversation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { RESUMED_NOTE } from '../../src/core/prompts';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import {
  deferred,
  journalPath,
  latestRunId,
  makeRepo,
  planReply,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  spawnCli,
  startServer,
  statusHistory,
  waitFor,
} from './runHarness';

const FLAGS = ['--concurrency', '2', '--no-review', '--check', 'test=node --test'];

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

test(
  'a run killed with SIGKILL resumes: merged work stays, the interrupted task continues where it was',
  { timeout: 60_000 },
  async () => {
    const repo = makeRepo();
    // The slow task's second request hangs (in flight) until the test lets it go.
    const held = deferred();
    const reached = deferred();
    let holds = 0;
    const server = await startServer(SCENARIO, {
      gate: (route) => {
        if (route.role !== 'agent' || route.task !== 'slow' || route.step !== 1 || holds++ > 0) return;
        reached.resolve();
        return held.promise;
      },
    });
    try {
      const cli = spawnCli(['run', 'Two small files, one slow to write.', ...FLAGS], { repo, server });
      await Promise.race([
        reached.promise,
        cli.result.then((r) => Promise.reject(new Error(`the run ended early (${r.code}): ${r.stderr}`))),
      ]);
      const runId = await waitFor('the run id', () => latestRunId(repo).catch(() => null));
      await waitFor('fast merged while slow works', async () => {
        const { state } = await readRun(repo, runId);
        return state.tasks.get('fast')?.status === 'merged' && state.tasks.get('slow')?.status === 'working';
      });
      process.kill(cli.pid, 'SIGKILL');
      const killed = await cli.result;
      assert.equal(killed.signal, 'SIGKILL');
      held.resolve();

      const before = await readRun(repo, runId);
      const slowBefore = before.state.tasks.get('slow')!;
      assert.ok(
        slowBefore.worktree && existsSync(join(slowBefore.worktree, 'slow/part1.txt')),
        'the work before the kill is not in the worktree',
      );
      const status = await runCli(['status', runId, '--json'], { repo, server });
      assert.equal(status.code, 0, status.stderr);
      const json = JSON.parse(status.stdout) as { status: string; interrupted: string[] };
      assert.equal(json.status, 'interrupted');
      assert.deepEqual(json.interrupted, ['slow']);

      appendFileSync(journalPath(repo, runId), '{"seq":99999,"t":1,"type":"task_sta');
      assert.equal((await readRun(repo, runId)).torn, true);
      const fastRequests = requestsFor(server, 'agent', 'fast').length;
      const slowRequests = requestsFor(server, 'agent', 'slow').length;

      const resumed = await runCli(['run', '--resume', runId, ...FLAGS], { repo, server });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /torn/);

      const after = await readRun(repo, runId);
      assert.equal(after.torn, false, 'the torn line is still there after the resume');
      assert.equal(after.state.status, 'completed');
      assert.equal(after.state.resumes, 1);
      assert.equal(after.state.tasks.get('fast')?.status, 'merged');
      assert.equal(after.state.tasks.get('slow')?.status, 'merged');
      assert.equal(requestsFor(server, 'agent', 'fast').length, fastRequests, 'the merged task was worked on again');
      assert.equal(statusHistory(after.events, 'fast').filter((s) => s.status === 'setting_up').length, 1);

      // Same worktree and branch; the conversation continued with the resume note.
      const slow = after.state.tasks.get('slow')!;
      assert.equal(after.events.filter((e) => e.type === 'task_worktree' && e.taskId === 'slow').length, 1);
      assert.equal(slow.worktree, slowBefore.worktree);
      assert.equal(slow.branch, slowBefore.branch);
      assert.ok(statusHistory(after.events, 'slow').some((s) => s.status === 'interrupted'));
      const next = requestsFor(server, 'agent', 'slow')[slowRequests];
      const texts = next.body.messages.map((m) => (typeof m.content === 'string' ? m.content : ''));
      assert.ok(texts.includes(RESUMED_NOTE), 'the resumed request lacks the resume note');
      assert.ok(
        JSON.stringify(next.body.messages).includes('written before the kill'),
        'the earlier conversation was lost',
      );

      // The task's one commit holds the work from before the kill and after the resume.
      const files = repo.git(['show', '--name-only', '--format=', slow.branch!]).trim().split('\n').sort();
      assert.deepEqual(files, ['slow/part1.txt', 'slow/part2.txt']);
      assert.equal(repo.git(['show', `foreman/${runId}/integration:slow/part1.txt`]), 'written before the kill\n');
    } finally {
      held.resolve();
      await server.close();
      repo.cleanup();
    }
  },
);
