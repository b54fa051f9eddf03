/**
 * The Lead session end to end, in process: a real git repository, the scripted OpenAI-compatible
 * server, the real engine, and a LeadHost made of plain objects. Plan, edit, run, apply; hold for
 * review with accept and a request for changes (the row then counts the new round's changes from
 * git); Stop all. Notices name their task and run, and say a repeat once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanTask } from '../../src/protocol/panel';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import {
  journalPath,
  makeRepo,
  planReply,
  rawTask,
  readRun,
  requestsFor,
  startServer,
  statusHistory,
  waitFor,
} from './runHarness';
import {
  processesWith,
  refused,
  serverBackend,
  session,
  settledRun,
  state,
  testHost,
  testSettings,
  until,
} from './leadHarness';

const write = (path: string, content: string) => toolCall('write_file', { path, content });
const finish = (summary: string) => toolCall('finish', { summary });
const SECRET = 'sk-test-secret-4242';

test("plan, edit the plan, run it, apply it onto the developer's branch", { timeout: 90_000 }, async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [
      planReply([
        rawTask('alpha', { files: ['alpha.txt'] }),
        rawTask('beta', { files: ['beta.txt'], dependsOn: ['alpha'] }),
      ]),
    ],
    agents: {
      alpha: [write('alpha.txt', 'alpha\n'), finish('wrote alpha')],
      beta: [write('beta.txt', 'beta\n'), finish('wrote beta')],
      gamma: [write('gamma.txt', 'gamma\n'), finish('wrote gamma')],
    },
  });
  const host = testHost(
    repo.root,
    testSettings(repo, { backends: [serverBackend(server.url)], checks: [{ name: 'test', command: 'node --test' }] }),
    { keys: { local: SECRET } },
  );
  const s = await session(host);
  try {
    assert.equal(state(s).phase, 'compose');
    assert.deepEqual(state(s).options.backend, 'local', 'the first configured backend is selected');
    assert.equal(state(s).backends.find((b) => b.name === 'local')?.hasKey, true);
    await s.handle({ type: 'spec/change', spec: 'Write three small files.' });
    assert.equal(host.memoryMap.get('foreman.lead.spec'), 'Write three small files.', 'the spec draft is remembered');
    await s.handle({ type: 'plan/start' });
    let st = state(s);
    assert.equal(st.phase, 'plan');
    assert.deepEqual(
      st.plan?.tasks.map((t) => t.id),
      ['alpha', 'beta'],
    );
    assert.ok(st.plan?.estimate && st.plan.estimate.input > 0);
    assert.equal(st.plan.estimate.basis, 'prior', 'no finished runs yet: the estimate is assumed');
    assert.ok(st.plan.plannerUsage.output > 0, 'the planner request is counted');
    assert.equal(host.progressTitles.length, 1, 'planning showed progress');
    assert.match(JSON.stringify(requestsFor(server, 'planner')[0].body.messages), /Write three small files/);

    // An invalid edit: shown as errors, the draft kept, the run refused.
    const tasks = st.plan.tasks;
    const gamma: PlanTask = {
      id: 'gamma',
      title: 'Gamma',
      instructions: 'Write gamma.txt.',
      acceptance: ['gamma.txt exists'],
      files: ['gamma.txt'],
      dependsOn: ['nope'],
    };
    await s.handle({ type: 'plan/edit', tasks: [...tasks, gamma] });
    st = state(s);
    assert.equal(st.plan?.estimate, null);
    assert.match(st.plan.errors.join('\n'), /"nope", which is not a task/);
    assert.equal(st.plan.tasks.length, 3);
    await refused(s, { type: 'run/start' }, 'invalid');

    // A valid edit: beta no longer waits for alpha, alpha is retitled, gamma is added.
    const edited = [
      { ...tasks[0], title: 'Alpha, retitled' },
      { ...tasks[1], dependsOn: [] },
      { ...gamma, dependsOn: [] },
    ];
    await s.handle({ type: 'plan/edit', tasks: edited });
    st = state(s);
    assert.deepEqual(st.plan!.errors, []);
    assert.ok(st.plan!.estimate);

    await s.handle({ type: 'run/start' });
    st = state(s);
    assert.equal(st.phase, 'run');
    assert.equal(st.plan, null, 'the plan became the run');
    assert.match(
      JSON.stringify(st.notices),
      /started: 3 task\(s\), up to (\d+) at once, on [^"]+ \(\1 requests at once\)/,
      'the backend gets one request at once per agent, and the notice says so',
    );
    assert.equal(st.run?.tasks[0].title, 'Alpha, retitled');
    const run = await settledRun(s);
    assert.equal(run.status, 'completed', JSON.stringify(state(s).notices));
    assert.deepEqual(
      run.tasks.map((t) => t.status),
      ['merged', 'merged', 'merged'],
    );
    assert.equal(run.integration.verification?.status, 'passed');
    assert.ok(run.usage.output > 0 && run.rate.every((r) => r >= 0));
    assert.match(state(s).notices.at(-1)!.text, /completed: 3 of 3 task\(s\) merged/);
    assert.equal(requestsFor(server, 'agent', 'beta').length, 2);
    await until(s, 'the run in the history', (st) =>
      st.history.some((h) => h.runId === run.runId && h.status === 'completed'),
    );
    assert.deepEqual(run.actions, { stopAll: false, apply: true, resume: false });

    await s.handle({ type: 'run/apply', mode: 'squash' });
    assert.match(
      state(s).notices.at(-1)!.text,
      new RegExp(`Applied run ${run.runId} onto main as one commit [0-9a-f]{10} \\(3 files\\)`),
    );
    assert.equal(repo.read('alpha.txt'), 'alpha\n');
    assert.equal(repo.read('gamma.txt'), 'gamma\n');
    assert.equal(repo.git(['status', '--porcelain']), '', 'the checkout is clean');
    const head = repo.git(['rev-parse', 'HEAD']).trim();
    const onBoard = state(s).run;
    assert.deepEqual(onBoard?.applied, { commit: head, mode: 'squash', branch: 'main' });
    assert.equal(onBoard?.status, 'applied', 'the board says Applied, not Completed');
    assert.match(onBoard?.message ?? '', new RegExp(`applied onto main as one commit ${head.slice(0, 10)}\\.$`));
    assert.doesNotMatch(onBoard?.message ?? '', /ready to apply/);
    assert.equal(onBoard?.actions.apply, false);
    const entry = state(s).history.find((h) => h.runId === run.runId);
    assert.deepEqual([entry?.status, entry?.applied?.commit, entry?.verification], ['applied', head, 'passed']);
    const resumeRefused = await refused(s, { type: 'run/resume', runId: run.runId }, 'refused');
    assert.match(resumeRefused.message, new RegExp(`It is applied onto main as ${head.slice(0, 10)}\\.$`));
    assert.deepEqual(
      state(s).run?.tasks.map((t) => t.actions.requestChanges),
      [false, false, false],
      'the merged tasks of an applied run are not offered for changes',
    );
    await refused(s, { type: 'task/requestChanges', taskId: 'alpha', comments: 'More.' }, 'refused');
    const log = state(s).notices;
    assert.deepEqual(
      log.filter((n) => n.outcome).map((n) => [n.runId, n.kind]),
      [[run.runId, 'info']],
      'one outcome in the log, about this run',
    );

    // The key went to the server and nowhere else.
    assert.ok(server.requests.every((r) => r.headers.authorization === `Bearer ${SECRET}`));
    assert.doesNotMatch(JSON.stringify(state(s)), new RegExp(SECRET));
    assert.doesNotMatch(JSON.stringify(host.logs), new RegExp(SECRET));
    assert.doesNotMatch(readFileSync(journalPath(repo, run.runId), 'utf8'), new RegExp(SECRET));

    await s.handle({ type: 'run/close' });
    assert.equal(state(s).phase, 'compose');

    // The next plan's estimate is learned from the run that finished.
    await s.handle({ type: 'plan/start' });
    const learned = state(s).plan?.estimate;
    assert.equal(learned?.basis, 'history');
    assert.match(learned?.assumptions ?? '', /Learned from 3 finished task\(s\) of 1 earlier run\(s\)/);
    assert.ok(learned && learned.low.tokens < learned.input + learned.output && learned.high.tokens > learned.input);
  } finally {
    await s.dispose();
    await server.close();
    repo.cleanup();
  }
});

test('hold for review: accept one task, send another back with comments, accept it', { timeout: 90_000 }, async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('alpha', { files: ['alpha.txt'] }), rawTask('beta', { files: ['beta.txt'] })])],
    agents: {
      alpha: [write('alpha.txt', 'a\n'), finish('wrote alpha')],
      beta: [
        write('beta.txt', 'first try\n'),
        finish('wrote beta'),
        write('beta.txt', 'second try\n'),
        finish('rewrote beta as asked'),
      ],
    },
  });
  const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }));
  const s = await session(host);
  try {
    await s.handle({ type: 'options/change', options: { holdForReview: true, concurrency: 2 } });
    assert.deepEqual(host.memoryMap.get('foreman.lead.options'), { holdForReview: true, concurrency: 2 });
    await s.handle({ type: 'spec/change', spec: 'Two files.' });
    await s.handle({ type: 'plan/start' });
    await s.handle({ type: 'run/start' });
    let run = await settledRun(s);
    assert.equal(run.status, 'review');
    assert.equal(run.holdForReview, true);
    assert.deepEqual(
      run.tasks.map((t) => [t.status, t.actions.accept]),
      [
        ['verified', true],
        ['verified', true],
      ],
    );
    const waits = state(s).notices.at(-1)!;
    assert.equal(
      waits.text,
      `Tasks alpha, beta wait for your review in run ${run.runId}: accept, reject or request changes.`,
    );
    assert.deepEqual([waits.runId, waits.outcome], [run.runId, true]);

    await s.handle({ type: 'task/accept', taskId: 'alpha' });
    run = await until(s, 'alpha merged', (st) =>
      st.run?.tasks[0].status === 'merged' && !st.run.live ? st.run : null,
    );
    assert.equal(run.status, 'review');
    assert.equal(repo.git(['show', `foreman/${run.runId}/integration:alpha.txt`]), 'a\n');

    assert.equal(run.tasks[1].changes, null, 'no round before a change request');
    const waitsForBeta = `Task beta ("Task beta") waits for your review in run ${run.runId}: accept, reject or request changes.`;
    assert.equal(state(s).notices.at(-1)!.text, waitsForBeta, 'the notice names the task');
    const before = requestsFor(server, 'agent', 'beta').length;
    await s.handle({ type: 'task/requestChanges', taskId: 'beta', comments: 'Please make it the second try.' });
    run = await until(s, 'beta verified again with its round counted', (st) =>
      st.run && !st.run.live && st.run.tasks[1].status === 'verified' && st.run.tasks[1].changes?.diff ? st.run : null,
    );
    assert.deepEqual(
      run.tasks[1].changes,
      {
        requests: 1,
        comments: 'Please make it the second try.',
        diff: { files: ['beta.txt'], added: 1, removed: 1 },
        committed: true,
      },
      "the new round against the previous one, from the task branch's commits",
    );
    assert.equal(
      state(s).notices.filter((n) => n.text === waitsForBeta).length,
      1,
      'the same words twice are one line of the log',
    );
    const asked = requestsFor(server, 'agent', 'beta')[before];
    assert.match(JSON.stringify(asked.body.messages), /Please make it the second try/);
    assert.match(JSON.stringify(asked.body.messages), /wrote beta/, 'the agent continued its own conversation');
    const { events } = await readRun(repo, run.runId);
    const history = statusHistory(events, 'beta').map((h) => h.status);
    assert.deepEqual(history.slice(history.lastIndexOf('verified', history.length - 2)), [
      'verified',
      'queued',
      'setting_up',
      'working',
      'verifying',
      'verified',
    ]);
    assert.equal(repo.git(['show', `foreman/${run.runId}/beta:beta.txt`]), 'second try\n');

    await refused(s, { type: 'task/accept', taskId: 'alpha' }, 'refused');
    await s.handle({ type: 'task/accept', taskId: 'beta' });
    run = await until(s, 'the run to complete', (st) =>
      st.run?.status === 'completed' && !st.run.live ? st.run : null,
    );
    assert.equal(repo.git(['show', `foreman/${run.runId}/integration:beta.txt`]), 'second try\n');
  } finally {
    await s.dispose();
    await server.close();
    repo.cleanup();
  }
});

test(
  'Stop all: processes are killed, work is kept, the run ends stopped; dispose leaves nothing',
  { timeout: 60_000 },
  async () => {
    const repo = makeRepo();
    const scenario: Scenario = {
      planner: [planReply([rawTask('busy'), rawTask('waiting', { dependsOn: ['busy'] })])],
      agents: {
        busy: [
          write('partial.txt', 'work so far\n'),
          toolCall('run_command', { command: 'echo $$ > shell.pid; sleep 41.4159' }),
          finish('never reached'),
        ],
      },
    };
    const server = await startServer(scenario);
    const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }));
    const s = await session(host);
    try {
      await s.handle({ type: 'spec/change', spec: 'Be busy.' });
      await s.handle({ type: 'plan/start' });
      await s.handle({ type: 'run/start' });
      const runId = state(s).run!.runId;
      // The pid is the shell's in its sandbox's own PID namespace: it only says the command started.
      const pidFile = join(repo.worktreeRoot, runId, 'busy', 'shell.pid');
      await waitFor('the long command', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim());
      const live = await until(s, 'busy working with stop offered', (st) =>
        st.run?.tasks[0].actions.stop ? st.run : null,
      );
      assert.equal(live.actions.stopAll, true);
      await refused(s, { type: 'run/apply', mode: 'squash' }, 'busy');
      await refused(s, { type: 'plan/start' }, 'busy');

      await s.handle({ type: 'run/stopAll' });
      const run = await settledRun(s, 10_000);
      assert.equal(run.status, 'stopped');
      assert.equal(run.tasks[0].status, 'stopped');
      assert.equal(run.tasks[1].status, 'stopped');
      assert.equal(run.actions.resume, true);
      assert.deepEqual(
        run.tasks.map((t) => t.actions.requestChanges),
        [true, false],
        'changes can be asked of the stopped task that worked, not of the one that never started',
      );
      await refused(s, { type: 'task/requestChanges', taskId: 'waiting', comments: 'Start.' }, 'refused');
      assert.deepEqual(processesWith('41.4159'), [], 'the shell, the sleep and their sandbox are gone');
      assert.equal(repo.git(['show', `foreman/${runId}/busy:partial.txt`]), 'work so far\n');
      assert.equal(
        existsSync(join(repo.root, '.git', 'foreman', 'runs', runId, 'lock')),
        false,
        'the lock is released',
      );
      await until(s, 'the history to offer Resume', (st) => st.history[0]?.runId === runId && st.history[0].resumable);
    } finally {
      await s.dispose();
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  'while the run is live: accept a held task, stop another; then reject it and the run completes',
  { timeout: 60_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer({
      planner: [planReply([rawTask('quick', { files: ['quick.txt'] }), rawTask('slow', { files: ['slow.txt'] })])],
      agents: {
        quick: [write('quick.txt', 'quick\n'), finish('wrote quick')],
        slow: [
          write('slow.txt', 'partial\n'),
          toolCall('run_command', { command: 'echo $$ > shell.pid; sleep 43.1415' }),
          finish('never reached'),
        ],
      },
    });
    const host = testHost(
      repo.root,
      testSettings(repo, { backends: [serverBackend(server.url)], holdForReview: true }),
    );
    const s = await session(host);
    try {
      await s.handle({ type: 'spec/change', spec: 'Quick and slow.' });
      await s.handle({ type: 'plan/start' });
      await s.handle({ type: 'run/start' });
      const runId = state(s).run!.runId;
      const pidFile = join(repo.worktreeRoot, runId, 'slow', 'shell.pid');
      await waitFor('the slow command', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim());
      await until(s, 'quick verified and held', (st) => st.run?.tasks[0].actions.accept);
      await s.handle({ type: 'task/accept', taskId: 'quick' });
      await until(
        s,
        'quick merged while slow works',
        (st) => st.run?.live && st.run.tasks[0].status === 'merged' && st.run.tasks[1].status === 'working',
      );
      await refused(s, { type: 'task/reject', taskId: 'slow' }, 'refused');
      await s.handle({ type: 'task/stop', taskId: 'slow' });
      let run = await settledRun(s, 10_000);
      assert.equal(run.tasks[1].status, 'stopped');
      assert.deepEqual(processesWith('43.1415'), [], "the stopped task's shell, sleep and sandbox are gone");
      assert.equal(run.status, 'failed', 'a stopped task is not merged');
      assert.equal(repo.git(['show', `foreman/${runId}/slow:slow.txt`]), 'partial\n', 'its work is kept on its branch');
      await refused(s, { type: 'task/stop', taskId: 'slow' }, 'refused');

      await s.handle({ type: 'task/reject', taskId: 'slow' });
      run = await until(s, 'the run to complete without slow', (st) =>
        st.run && !st.run.live && st.run.status === 'completed' ? st.run : null,
      );
      assert.equal(run.tasks[1].status, 'rejected');
      assert.equal(repo.git(['branch', '--list', `foreman/${runId}/slow`]).trim(), '', 'the rejected branch is gone');
    } finally {
      await s.dispose();
      await server.close();
      repo.cleanup();
    }
  },
);
