/**
 * Budgets over a whole `foreman run` (a real child process, the scripted server over HTTP, a real
 * repository). The server reports exact usage, so every total below is known in advance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JournalEvent } from '../../src/core/journal';
import type { Reply } from '../../src/scripted/server';
import { toolCall } from '../../src/scripted/scenario';
import {
  latestRunId,
  makeRepo,
  planReply,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  startServer,
  waitFor,
} from './runHarness';
import type { TempRepo } from './runHarness';

/** Every agent step costs exactly 1000 tokens (900 in, 100 out); the planner 20. */
const STEP_USAGE = { prompt: 900, completion: 100 };
const FLAGS = ['--no-review', '--check', 'ok=node -e 0'];

function step(reply: Reply): Reply {
  return { ...reply, usage: STEP_USAGE };
}

/** An agent that writes `files` one step each, then finishes. */
function writer(files: string[]): Reply[] {
  return [
    ...files.map((f) => step(toolCall('write_file', { path: f, content: `${f}\n` }))),
    step(toolCall('finish', { summary: `wrote ${files.join(', ')}` })),
  ];
}

const planner = (ids: string[]) => [
  { ...planReply(ids.map((id) => rawTask(id, { files: [`${id}1.txt`] }))), usage: { prompt: 10, completion: 10 } },
];

function budgetStop(events: JournalEvent[]) {
  return events.find((e): e is Extract<JournalEvent, { type: 'budget_stop' }> => e.type === 'budget_stop');
}

/** The files of the task branch's latest commit, and its subject. */
function lastCommit(repo: TempRepo, branch: string): { subject: string; files: string[] } {
  const subject = repo.git(['log', '-1', '--format=%s', branch]).trim();
  const files = repo.git(['show', '--name-only', '--format=', branch]).trim().split('\n').sort();
  return { subject, files };
}

test(
  'a run token budget reached mid-run stops new requests, keeps work, and exits 3',
  { timeout: 60_000 },
  async () => {
    const repo = makeRepo();
    // b's first request stays in flight until the budget has been hit, so b is running at the hit.
    const server = await startServer(
      {
        planner: planner(['a', 'b', 'c', 'd']),
        agents: {
          a: writer(['a1.txt', 'a2.txt']),
          b: writer(['b1.txt', 'b2.txt']),
          c: writer(['c1.txt', 'c2.txt']),
          d: writer(['d1.txt']),
        },
      },
      {
        gate: (route) => {
          if (route.task !== 'b' || route.step !== 0) return;
          return waitFor('the budget stop', async () =>
            budgetStop((await readRun(repo, await latestRunId(repo))).events),
          ).then(() => undefined);
        },
      },
    );
    try {
      // One task costs 3000 tokens and the planner 20: a finishes (3020), c's first step goes over.
      const run = await runCli(
        ['run', 'Four small files.', '--concurrency', '2', '--budget-tokens', '3050', ...FLAGS],
        { repo, server },
      );
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stdout + run.stderr, /tokens budget \(4020 of 3050\)/);

      const runId = await latestRunId(repo);
      const { events, state } = await readRun(repo, runId);
      assert.equal(state.status, 'budget');
      const hit = budgetStop(events);
      assert.deepEqual(hit?.hit, { scope: 'run', kind: 'tokens', limit: 3050, used: 4020 });

      // No request started after the hit: planner, a ×3, b ×1 (in flight at the hit), c ×1.
      assert.equal(server.requests.length, 6);
      assert.ok(
        server.requests.every((r) => r.receivedAt <= hit.t),
        'a request arrived after the budget stop',
      );
      assert.deepEqual(
        ['a', 'b', 'c', 'd'].map((id) => requestsFor(server, 'agent', id).length),
        [3, 1, 1, 0],
      );
      assert.equal(events.filter((e) => e.type === 'model_request').length, 6);

      assert.equal(state.tasks.get('a')?.status, 'merged');
      for (const id of ['b', 'c']) {
        const task = state.tasks.get(id)!;
        assert.equal(task.status, 'stopped', id);
        assert.match(task.reason ?? '', /run budget was reached .*Work so far is committed/, id);
        // Stopped at its next step: the first file is committed on the branch, the second never written.
        assert.deepEqual(lastCommit(repo, `foreman/${runId}/${id}`), {
          subject: `foreman(${id}): work in progress (budget)`,
          files: [`${id}1.txt`],
        });
      }
      // d was prepared ahead (its worktree made while a and b worked) but never started.
      const d = state.tasks.get('d')!;
      assert.equal(d.status, 'stopped');
      assert.equal(d.reason, 'not started: the run budget was reached');
      assert.equal(
        repo.git(['rev-list', '--count', `${state.base}..foreman/${runId}/d`]).trim(),
        '0',
        'nothing was committed for d',
      );
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  'a per-task cost budget stops only that task, and the run ends as budget (exit 3)',
  { timeout: 60_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer({
      planner: planner(['x', 'y']),
      agents: { x: writer(['x1.txt', 'x2.txt', 'x3.txt']), y: writer(['y1.txt']) },
    });
    try {
      // 1 per million tokens: each step costs 0.001, so x's fourth step is over 0.0025 and y's two are not.
      const run = await runCli(
        ['run', 'Two tasks.', '--concurrency', '2', '--price', '1,1,1', '--task-budget-cost', '0.0025', ...FLAGS],
        { repo, server },
      );
      assert.equal(run.code, 3, run.stderr);
      const runId = await latestRunId(repo);
      const { events, state } = await readRun(repo, runId);
      assert.equal(state.status, 'budget', 'stopped by its own budget, not failed');
      assert.match(state.message ?? '', /stopped by the per-task cost budget: x \(0\.0030 of 0\.0025 cost\)/);
      assert.match(run.stdout, new RegExp(`foreman run --resume ${runId} --task-budget-cost X`));
      assert.equal(state.tasks.get('y')?.status, 'merged');
      const x = state.tasks.get('x')!;
      assert.equal(x.status, 'stopped');
      assert.match(x.reason ?? '', /the task budget was reached \(cost 0\.0030 of 0\.0025\)/);
      const stops = events.filter((e): e is Extract<JournalEvent, { type: 'budget_stop' }> => e.type === 'budget_stop');
      assert.deepEqual(
        stops.map((e) => ({ ...e.hit, used: Number(e.hit.used.toFixed(6)) })),
        [{ scope: 'task', taskId: 'x', kind: 'cost', limit: 0.0025, used: 0.003 }],
      );
      assert.equal(requestsFor(server, 'agent', 'x').length, 3);
      assert.equal(requestsFor(server, 'agent', 'y').length, 2);
      assert.deepEqual(lastCommit(repo, `foreman/${runId}/x`).files, ['x1.txt', 'x2.txt', 'x3.txt']);
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  'foreman plan warns when the estimate is over the budget, when only its high end is, and only then',
  {
    timeout: 60_000,
  },
  async () => {
    const repo = makeRepo();
    const server = await startServer({ planner: planner(['a', 'b']) });
    try {
      const low = await runCli(['plan', 'Two tasks.', '--budget-tokens', '100'], { repo, server });
      assert.equal(low.code, 0, low.stderr);
      assert.match(low.stderr, /Warning: The estimate \(~[\d,]+ tokens\) is over the run's token budget of 100;/);
      const cost = await runCli(['plan', 'Two tasks.', '--price', '1,0.1,2', '--budget-cost', '0.000001'], {
        repo,
        server,
      });
      assert.match(cost.stderr, /Warning: The estimate \(cost [\d.e-]+\) is over the run's cost budget of 0\.000001;/);
      // A budget between the middle and the high end of the range: "may go over".
      const json = await runCli(['plan', 'Two tasks.', '--json'], { repo, server });
      const { estimate } = JSON.parse(json.stdout) as {
        estimate: Record<'total' | 'low' | 'high', { input: number; output: number }>;
      };
      const tokens = (t: { input: number; output: number }) => t.input + t.output;
      assert.ok(tokens(estimate.low) < tokens(estimate.total) && tokens(estimate.total) < tokens(estimate.high));
      const between = Math.round((tokens(estimate.total) + tokens(estimate.high)) / 2);
      const maybe = await runCli(['plan', 'Two tasks.', '--budget-tokens', String(between)], { repo, server });
      assert.match(
        maybe.stderr,
        /Warning: The high end of the estimate \(~[\d,]+ tokens\) is over the run's token budget/,
      );
      assert.match(maybe.stderr, /the run may reach it/);
      const high = await runCli(['plan', 'Two tasks.', '--budget-tokens', '100000000'], { repo, server });
      assert.equal(high.code, 0, high.stderr);
      assert.doesNotMatch(high.stderr, /Warning/);
      assert.equal(requestsFor(server, 'agent').length, 0, 'plan started agents');
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);

test("the estimate learns from the repository's finished runs", { timeout: 90_000 }, async () => {
  const repo = makeRepo();
  // Agents that take six steps each: five reads of the README, then finish.
  const read = toolCall('read_file', { path: 'README.md' });
  const steps = [read, read, read, read, read, toolCall('finish', { summary: 'done' })];
  const server = await startServer({ planner: planner(['a', 'b']), agents: { a: steps, b: steps } });
  try {
    const before = await runCli(['plan', 'Two tasks.', '--json'], { repo, server });
    const cold = (JSON.parse(before.stdout) as { estimate: { basis: string; perTask: { steps: number }[] } }).estimate;
    assert.equal(cold.basis, 'prior');
    const run = await runCli(['run', 'Two tasks.', ...FLAGS], { repo, server });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /No finished runs in this repository yet, so these are assumptions/);
    const after = await runCli(['plan', 'Two tasks.'], { repo, server });
    assert.match(after.stderr, /Learned from 2 finished task\(s\) of 1 earlier run\(s\) in this repository/);
    const learned = await runCli(['plan', 'Two tasks.', '--json'], { repo, server });
    const est = (JSON.parse(learned.stdout) as { estimate: { basis: string; perTask: { steps: number }[] } }).estimate;
    assert.equal(est.basis, 'history');
    assert.deepEqual(
      est.perTask.map((t) => t.steps),
      [6, 6],
      "the learned steps are the finished run's",
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});
