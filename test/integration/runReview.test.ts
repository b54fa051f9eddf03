/**
 * The developer's review from the command line: a run with --hold keeps verified tasks waiting;
 * `foreman accept` merges one, `foreman revise` sends one back to the same agent (which continues
 * in the same worktree and conversation and is verified again), `foreman reject` discards one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { text, toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import {
  latestRunId,
  makeRepo,
  planReply,
  rawTask,
  readRun,
  requestsFor,
  runCli,
  startServer,
  statusHistory,
} from './runHarness';

const TASKS = [
  rawTask('alpha', { files: ['alpha.txt'] }),
  rawTask('beta', { files: ['beta.txt'] }),
  rawTask('gamma', { files: ['gamma.txt'] }),
];

const write = (path: string, content: string) => toolCall('write_file', { path, content });
const finish = (summary: string) => toolCall('finish', { summary });

const SCENARIO: Scenario = {
  planner: [planReply(TASKS)],
  agents: {
    alpha: [write('alpha.txt', 'a\n'), finish('wrote alpha')],
    // After `revise`, the same conversation continues at the next step.
    beta: [
      write('beta.txt', 'first try\n'),
      finish('wrote beta'),
      write('beta.txt', 'second try\n'),
      finish('rewrote beta as asked'),
    ],
    gamma: [write('gamma.txt', 'g\n'), finish('wrote gamma')],
  },
  reviewer: [text(JSON.stringify({ approved: true, comments: 'fine' }))],
};

test('hold, accept, revise and reject, each from the command line', async () => {
  const repo = makeRepo();
  const server = await startServer(SCENARIO);
  const cli = (...args: string[]) => runCli([...args, '--no-checks', '--no-review'], { repo, server });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo.root, encoding: 'utf8' });
  try {
    const first = await cli('run', 'three small files', '--hold');
    assert.equal(first.code, 6, first.stderr);
    const runId = await latestRunId(repo);
    let { state } = await readRun(repo, runId);
    assert.equal(state.status, 'review');
    assert.deepEqual(
      [...state.tasks.values()].map((t) => t.status),
      ['verified', 'verified', 'verified'],
    );
    const integration = `foreman/${runId}/integration`;
    assert.equal(
      git('rev-list', '--merges', '--count', integration).trim(),
      '0',
      'nothing is merged before it is accepted',
    );

    const accepted = await cli('accept', runId, 'alpha');
    assert.equal(accepted.code, 6, accepted.stderr);
    ({ state } = await readRun(repo, runId));
    assert.equal(state.tasks.get('alpha')?.status, 'merged');
    assert.equal(git('show', `${integration}:alpha.txt`), 'a\n');

    const betaRequestsBefore = requestsFor(server, 'agent', 'beta').length;
    const revised = await cli('revise', runId, 'beta', 'Please make it the second try.');
    assert.equal(revised.code, 6, revised.stderr);
    const betaRequests = requestsFor(server, 'agent', 'beta');
    assert.equal(betaRequests.length, betaRequestsBefore + 2);
    const asked = JSON.stringify(betaRequests[betaRequestsBefore].body.messages);
    assert.match(asked, /Please make it the second try/);
    assert.match(asked, /wrote beta/, 'the agent continues its own conversation');
    ({ state } = await readRun(repo, runId));
    assert.equal(state.tasks.get('beta')?.status, 'verified');
    assert.equal(git('show', `foreman/${runId}/beta:beta.txt`), 'second try\n');

    const rejected = await cli('reject', runId, 'gamma');
    assert.equal(rejected.code, 6, rejected.stderr);
    assert.equal(git('branch', '--list', `foreman/${runId}/gamma`).trim(), '', 'the rejected branch is gone');

    const refused = await cli('accept', runId, 'gamma');
    assert.equal(refused.code, 5);
    assert.match(refused.stderr, /gamma is rejected; only a verified task can be accepted/);

    const last = await cli('accept', runId, 'beta');
    assert.equal(last.code, 0, last.stderr);
    const { events, state: final } = await readRun(repo, runId);
    assert.equal(final.status, 'completed');
    assert.match(final.message ?? '', /2 of 3 task\(s\) merged .* \(1 rejected by you\)/);
    assert.equal(git('show', `${integration}:beta.txt`), 'second try\n');
    assert.deepEqual(
      statusHistory(events, 'beta')
        .map((h) => h.status)
        .filter((s) => s === 'verified').length,
      2,
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('a task queued behind held tasks waits for them, and runs once they are accepted', async () => {
  const repo = makeRepo();
  const tasks = [
    rawTask('base-a', { files: ['a.txt'] }),
    rawTask('on-top', { files: ['b.txt'], dependsOn: ['base-a'] }),
  ];
  const server = await startServer({
    planner: [planReply(tasks)],
    agents: {
      'base-a': [write('a.txt', 'a\n'), finish('wrote a')],
      'on-top': [write('b.txt', 'b\n'), finish('wrote b')],
    },
  });
  const cli = (...args: string[]) => runCli([...args, '--no-checks', '--no-review'], { repo, server });
  try {
    assert.equal((await cli('run', 'two files, one after the other', '--hold')).code, 6);
    const runId = await latestRunId(repo);
    let { state } = await readRun(repo, runId);
    assert.equal(state.tasks.get('base-a')?.status, 'verified');
    assert.equal(state.tasks.get('on-top')?.status, 'queued', 'a task waiting on a held task is not stopped');

    const accepted = await cli('accept', runId, 'base-a');
    assert.equal(accepted.code, 6, accepted.stderr);
    ({ state } = await readRun(repo, runId));
    assert.equal(state.tasks.get('on-top')?.status, 'verified', 'it ran once its dependency was merged');

    assert.equal((await cli('accept', runId, 'on-top')).code, 0);
    ({ state } = await readRun(repo, runId));
    assert.equal(state.status, 'completed');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test("the model reviewer sees the task's whole change from the base, as committed in each round", async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('delta', { files: ['delta.txt'] })])],
    agents: {
      delta: [write('delta.txt', 'first\n'), finish('wrote delta'), write('delta.txt', 'second\n'), finish('as asked')],
    },
    // Every review request is a first step: the answer follows the diff it is shown.
    reviewer: [
      (request) =>
        text(
          JSON.stringify(
            JSON.stringify(request.messages).includes('+second')
              ? { approved: true, comments: 'fine' }
              : { approved: false, comments: 'Make it say second.' },
          ),
        ),
    ],
  });
  try {
    const r = await runCli(['run', 'one file', '--no-checks'], { repo, server });
    assert.equal(r.code, 0, r.stderr);
    const reviews = requestsFor(server, 'reviewer').map((q) => JSON.stringify(q.body.messages));
    assert.equal(reviews.length, 2);
    assert.match(reviews[0], /diff --git a\/delta\.txt b\/delta\.txt/);
    assert.match(reviews[0], /\\n\+first\\n/);
    assert.match(reviews[1], /\\n\+second\\n/, "the second review's diff holds the second round's change");
    assert.doesNotMatch(reviews[1], /\\n\+first\\n/, 'and is taken from the base, not from the first round');
    const { state } = await readRun(repo, await latestRunId(repo));
    assert.equal(state.tasks.get('delta')?.status, 'merged');
  } finally {
    await server.close();
    repo.cleanup();
  }
});
