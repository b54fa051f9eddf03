/**
 * What the Lead panel says a run came to, in process on real repositories with the scripted
 * server: a run without checks is merged, not verified; checks cut short by Stop all are stopped,
 * not failed; an apply that conflicts is refused with the files and the way on, in Foreman's words;
 * a dirty checkout is refused with the panel's own advice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toolCall } from '../../src/scripted/scenario';
import { makeRepo, planReply, rawTask, startServer, waitFor } from './runHarness';
import { refused, serverBackend, session, settledRun, state, testHost, testSettings, until } from './leadHarness';
import type { LeadSettings } from '../../src/app/leadHost';

const write = (path: string, content: string) => toolCall('write_file', { path, content });
const finish = (summary: string) => toolCall('finish', { summary });

/** A repository, the server playing one task that rewrites README.md, and a session on them. */
async function readmeRun(over: Partial<LeadSettings> = {}) {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('readme', { files: ['README.md'] })])],
    agents: { readme: [write('README.md', '# tiny\n\nRewritten by the agent.\n'), finish('rewrote the README')] },
  });
  const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)], ...over }));
  const s = await session(host);
  const close = async () => {
    await s.dispose();
    await server.close();
    repo.cleanup();
  };
  return { repo, server, s, close };
}

test(
  'no checks: the notice, the board and the history say merged, not verified; a conflicting apply names the file',
  { timeout: 60_000 },
  async () => {
    const { repo, s, close } = await readmeRun();
    try {
      await s.handle({ type: 'spec/change', spec: 'Rewrite the README.' });
      await s.handle({ type: 'plan/start' });
      await s.handle({ type: 'run/start' });
      const run = await settledRun(s);
      assert.equal(run.status, 'completed', JSON.stringify(state(s).notices));
      const notice = state(s).notices.at(-1)?.text ?? '';
      assert.match(notice, /completed: 1 of 1 task\(s\) merged, not verified \(no checks\)\./);
      assert.doesNotMatch(notice, /verified together/);
      assert.match(run.message ?? '', /, not verified \(no checks\); ready to apply/);
      assert.equal(run.integration.verification?.status, 'skipped');
      const entry = await until(s, 'the run in the history', (st) =>
        st.history.find((h) => h.runId === run.runId && h.status === 'completed'),
      );
      assert.equal(entry.verification, 'skipped');

      repo.write('README.md', '# tiny\n\nRewritten by the developer meanwhile.\n');
      repo.git(['commit', '-qam', 'my own README']);
      const before = repo.snapshot();
      const error = await refused(s, { type: 'run/apply', mode: 'squash' }, 'refused');
      assert.match(error.message, /both changed this file, and the changes conflict, so nothing was applied/);
      assert.match(error.message, /^ {2}README\.md$/m);
      assert.ok(error.message.includes(`git merge --squash foreman/${run.runId}/integration`), error.message);
      assert.doesNotMatch(error.message, /fix conflicts|CONFLICT|Automatic merge failed/);
      assert.deepEqual(repo.snapshot(), before, 'nothing in the checkout changed');
      assert.equal(state(s).run?.status, 'completed', 'a refused apply leaves the run as it was');
      assert.equal(state(s).run?.actions.apply, true);

      // A dirty checkout: the panel's refusal names the setting, not a command-line flag.
      repo.write('notes.txt', 'mine\n');
      await s.handle({ type: 'run/close' });
      await s.handle({ type: 'plan/start' });
      const dirty = await refused(s, { type: 'run/start' }, 'refused');
      assert.match(dirty.message, /uncommitted changes \(notes\.txt\)/);
      assert.match(dirty.message, /foreman\.dirtyCheckout/);
      assert.doesNotMatch(dirty.message, /--dirty/);
    } finally {
      await close();
    }
  },
);

test(
  'Stop all while the checks run: the task and its checks read stopped, not failed',
  { timeout: 60_000 },
  async () => {
    const { repo, s, close } = await readmeRun({
      checks: [
        { name: 'slow', command: 'touch checks-started; sleep 37.2718' },
        { name: 'next', command: 'true' },
      ],
    });
    try {
      await s.handle({ type: 'spec/change', spec: 'Rewrite the README.' });
      await s.handle({ type: 'plan/start' });
      await s.handle({ type: 'run/start' });
      const runId = state(s).run!.runId;
      await waitFor('the check to start', () => existsSync(join(repo.worktreeRoot, runId, 'readme', 'checks-started')));
      await s.handle({ type: 'run/stopAll' });
      const run = await settledRun(s, 15_000);
      assert.equal(run.status, 'stopped');
      const row = run.tasks[0];
      assert.equal(row.status, 'stopped');
      assert.equal(row.verification?.status, 'stopped');
      assert.deepEqual(
        row.verification?.checks.map((c) => c.status),
        ['stopped', 'skipped'],
      );
      assert.doesNotMatch(JSON.stringify(run), /"status":"failed"/);
    } finally {
      await close();
    }
  },
);
