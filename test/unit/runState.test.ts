import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, createRunState, READY_TO_APPLY, reduceJournal, runPhase } from '../../src/core/runState';
import type { RunState } from '../../src/core/runState';
import type { JournalEvent, NewEvent } from '../../src/core/journal';
import type { Plan } from '../../src/core/plan';
import type { Usage } from '../../src/core/model';

const plan: Plan = {
  version: 1,
  spec: 'do things',
  warnings: [],
  tasks: ['b', 'a', 'c'].map((id) => ({
    id,
    title: `task ${id}`,
    instructions: '',
    acceptance: [],
    files: [`${id}.ts`],
    dependsOn: [],
  })),
};

function usage(prompt: number, completion: number, cached: number | null = null): Usage {
  return {
    promptTokens: prompt,
    completionTokens: completion,
    cachedTokens: cached,
    reasoningTokens: null,
    estimated: false,
  };
}

/** Number and stamp events the way the journal does (t = 1000 * seq). */
function journal(events: NewEvent[]): JournalEvent[] {
  return events.map((e, i) => ({ ...e, seq: i + 1, t: (i + 1) * 1000 }));
}

function request(taskId: string | null, u: Usage, cost: number | null): NewEvent {
  return {
    type: 'model_request',
    role: taskId ? 'agent' : 'planner',
    taskId,
    model: 'm',
    endpoint: 'http://x/v1',
    ok: true,
    usage: u,
    timing: { ttftMs: 100, durationMs: 600, outputTokensPerSec: null },
    attempts: 1,
    cost,
  };
}

/** A run in which b merges, a fails verification once then is working, c is still queued. */
const middle: NewEvent[] = [
  {
    type: 'run_started',
    runId: 'r20260101-000000-abcd',
    repo: '/repo',
    base: 'c0ffee',
    baseSnapshot: false,
    baseBranch: 'main',
    settings: {
      endpoint: 'http://x/v1',
      model: 'm',
      concurrency: 2,
      budgets: { runTokens: null, runCost: null, taskTokens: null, taskCost: null },
    },
  },
  request(null, usage(1000, 300), 0.01),
  { type: 'plan', plan },
  { type: 'task_status', taskId: 'b', status: 'setting_up' },
  { type: 'task_worktree', taskId: 'b', path: '/wt/b', branch: 'foreman/r/b', from: 'c0ffee' },
  { type: 'task_status', taskId: 'b', status: 'working' },
  { type: 'task_status', taskId: 'a', status: 'setting_up' },
  { type: 'task_status', taskId: 'a', status: 'working' },
  request('b', usage(500, 50, 200), 0.002),
  { type: 'task_step', taskId: 'b', step: 1, tool: 'write_file' },
  { type: 'tool_call', taskId: 'b', step: 1, tool: 'write_file', args: '{}', ok: true, summary: 'wrote b.ts' },
  request('a', usage(400, 40), null),
  { type: 'task_step', taskId: 'a', step: 1, tool: 'run_command' },
  { type: 'task_committed', taskId: 'b', commit: 'bbb', files: ['b.ts'] },
  { type: 'task_status', taskId: 'b', status: 'verifying' },
  { type: 'verification', taskId: 'b', round: 1, status: 'passed', checks: [] },
  { type: 'task_status', taskId: 'b', status: 'verified' },
  { type: 'review', taskId: 'b', approved: true, comments: 'fine' },
  { type: 'merge', taskId: 'b', ok: true, commit: 'mmm' },
  { type: 'task_status', taskId: 'b', status: 'merged' },
  { type: 'task_status', taskId: 'a', status: 'verifying' },
  { type: 'verification', taskId: 'a', round: 1, status: 'failed', checks: [] },
  { type: 'task_status', taskId: 'a', status: 'working', reason: 'repair round 1' },
  request('a', usage(600, 60, 0), null),
];

const ending: NewEvent[] = [
  { type: 'task_status', taskId: 'a', status: 'failed', reason: 'gave up' },
  { type: 'task_status', taskId: 'c', status: 'blocked', reason: 'a failed' },
  { type: 'verification', taskId: 'integration', round: 1, status: 'passed', checks: [] },
  { type: 'run_finished', status: 'failed', message: '1 of 3 merged' },
  { type: 'applied', commit: 'app', mode: 'squash', branch: 'main' },
];

test('reduceJournal rebuilds the run, its tasks in plan order, and usage totals', () => {
  const state = reduceJournal(journal([...middle, ...ending]));
  assert.equal(state.runId, 'r20260101-000000-abcd');
  assert.equal(state.baseBranch, 'main');
  assert.equal(state.status, 'failed');
  assert.equal(state.message, '1 of 3 merged; applied onto main as one commit app.');
  assert.equal(runPhase(state), 'applied');
  assert.equal(state.startedAt, 1000);
  assert.equal(state.finishedAt, 28000);
  assert.deepEqual(state.applied, { commit: 'app', mode: 'squash', at: 29000, branch: 'main' });
  assert.equal(state.lastSeq, 29);
  assert.deepEqual(state.interrupted, []);
  assert.deepEqual([...state.tasks.keys()], ['b', 'a', 'c']);

  const b = state.tasks.get('b')!;
  assert.equal(b.status, 'merged');
  assert.equal(b.spec?.title, 'task b');
  assert.deepEqual([b.worktree, b.branch, b.from, b.commit], ['/wt/b', 'foreman/r/b', 'c0ffee', 'bbb']);
  assert.deepEqual(b.files, ['b.ts']);
  assert.deepEqual([b.step, b.tool, b.toolCalls], [1, null, 1]);
  assert.deepEqual([b.startedAt, b.endedAt], [4000, 20000]);
  assert.equal(b.verification.last?.status, 'passed');
  assert.deepEqual(b.review, { approved: true, comments: 'fine' });
  assert.deepEqual(b.merge, { ok: true, commit: 'mmm', conflicts: [], message: null });
  assert.deepEqual(
    [b.usage.requests, b.usage.input, b.usage.cached, b.usage.output, b.usage.cost],
    [1, 500, 200, 50, 0.002],
  );

  const a = state.tasks.get('a')!;
  assert.deepEqual([a.status, a.reason, a.endedAt], ['failed', 'gave up', 25000]);
  assert.deepEqual([a.verification.rounds, a.verification.last?.status], [1, 'failed']);
  assert.deepEqual([a.usage.requests, a.usage.input, a.usage.output, a.usage.cost], [2, 1000, 100, null]);
  assert.equal(state.tasks.get('c')!.status, 'blocked');
  assert.equal(state.tasks.get('c')!.startedAt, null);

  assert.deepEqual([state.usage.requests, state.usage.input, state.usage.output], [4, 2500, 450]);
  assert.ok(Math.abs((state.usage.cost ?? 0) - 0.012) < 1e-12);
  assert.equal(state.usage.unpriced, 2, "task a's two requests had no price");
  assert.deepEqual([state.integration.rounds, state.integration.last?.status], [1, 'passed']);
});

test('a journal without run_finished is interrupted; mid-work tasks are listed, statuses kept', () => {
  const state = reduceJournal(journal(middle));
  assert.equal(state.status, 'interrupted');
  assert.deepEqual(state.interrupted, ['a'], 'b is merged (final) and c never started');
  assert.equal(state.tasks.get('a')!.status, 'working');
  assert.equal(state.tasks.get('a')!.tool, null, 'a status change clears the current tool');
  assert.equal(state.tasks.get('c')!.status, 'queued');

  assert.equal(reduceJournal([]).status, 'interrupted');
  assert.equal(reduceJournal(journal(middle.slice(0, 1))).status, 'interrupted', 'crashed while planning');
});

test('run_resumed sets the run running again and clears what the stop left', () => {
  const stopped = journal([
    ...middle,
    { type: 'budget_stop', hit: { scope: 'run', kind: 'tokens', limit: 10, used: 11 } },
    { type: 'run_finished', status: 'budget', message: 'out of tokens' },
  ]);
  const before = reduceJournal(stopped);
  assert.equal(before.status, 'budget');
  assert.equal(before.budgetHit?.used, 11);

  const state = reduceJournal(stopped);
  applyEvent(state, { seq: 27, t: 99, type: 'run_resumed' });
  assert.deepEqual(
    [state.status, state.message, state.finishedAt, state.budgetHit, state.resumes],
    ['running', null, null, null, 1],
  );
});

test('applyEvent, one event at a time, gives what reduceJournal gives', () => {
  const events = journal([...middle, ...ending]);
  const live = createRunState();
  for (const e of events) applyEvent(live, e);
  assert.deepEqual(live, reduceJournal(events));

  // Every prefix: a reader that stops anywhere agrees with the live state up to the interruption.
  const incremental = createRunState();
  for (let i = 0; i < middle.length; i++) {
    applyEvent(incremental, events[i]);
    const reduced = reduceJournal(events.slice(0, i + 1));
    assert.equal(reduced.lastSeq, incremental.lastSeq);
    assert.deepEqual(withoutInterruption(reduced), withoutInterruption(incremental), `prefix ${i + 1}`);
  }
});

test('a live state resumed from a reduced journal continues like a reduction of the whole', () => {
  const resumed: NewEvent = { type: 'run_resumed' };
  const whole = journal([...middle, resumed, ...ending]);
  const cut = middle.length;
  const state = reduceJournal(whole.slice(0, cut));
  assert.equal(state.status, 'interrupted');
  for (const e of whole.slice(cut)) applyEvent(state, e);
  assert.deepEqual(state, reduceJournal(whole));
  assert.equal(state.resumes, 1);
});

test('events naming a task before the plan create it, then the plan orders tasks', () => {
  const state = reduceJournal(
    journal([
      { type: 'task_status', taskId: 'x', status: 'working' },
      { type: 'task_status', taskId: 'a', status: 'working' },
      { type: 'plan', plan },
      { type: 'run_finished', status: 'stopped', message: '' },
    ]),
  );
  assert.deepEqual([...state.tasks.keys()], ['b', 'a', 'c', 'x']);
  assert.equal(state.tasks.get('a')!.status, 'working');
  assert.equal(state.tasks.get('a')!.spec?.title, 'task a');
  assert.equal(state.tasks.get('x')!.spec, null);
});

function withoutInterruption(state: RunState): RunState {
  return { ...state, status: state.status === 'interrupted' ? 'running' : state.status, interrupted: [] };
}

test('an applied run reads as applied with its commit, and a resume makes it appliable again', () => {
  const start = middle.slice(0, 2);
  const finished: NewEvent[] = [
    ...start,
    {
      type: 'run_finished',
      status: 'completed',
      message: `1 of 1 task(s) merged into x and verified together${READY_TO_APPLY}`,
    },
  ];
  const before = reduceJournal(journal(finished));
  assert.equal(runPhase(before), 'completed');
  assert.match(before.message ?? '', /ready to apply/);
  const applied = reduceJournal(
    journal([...finished, { type: 'applied', commit: '0123456789abcdef', mode: 'merge', branch: 'dev' }]),
  );
  assert.equal(applied.status, 'completed', 'the engine status stays: rules about the run read it');
  assert.equal(runPhase(applied), 'applied');
  assert.equal(
    applied.message,
    '1 of 1 task(s) merged into x and verified together; applied onto dev as a merge 0123456789.',
  );
  assert.doesNotMatch(applied.message ?? '', /ready to apply/);
  const old = reduceJournal(journal([...finished, { type: 'applied', commit: 'abc', mode: 'squash' }]));
  assert.equal(old.applied?.branch, null);
  assert.match(old.message ?? '', /applied onto your branch as one commit abc\.$/);
  const resumed = reduceJournal(
    journal([...finished, { type: 'applied', commit: 'abc', mode: 'squash' }, { type: 'run_resumed' }]),
  );
  assert.equal(resumed.applied, null);
  assert.equal(runPhase(resumed), 'interrupted');
});

test('a check a stop cut short reads as stopped, in new journals and in old ones that said failed', () => {
  const start = middle.slice(0, 2);
  const check = (status: 'failed' | 'stopped' | 'skipped', reason: string) => ({
    name: 'test',
    command: 'npm test',
    status,
    exitCode: null,
    timedOut: false,
    durationMs: 5,
    output: '',
    reason,
  });
  const old = reduceJournal(
    journal([
      ...start,
      {
        type: 'verification',
        taskId: 'a',
        round: 1,
        status: 'failed',
        checks: [check('failed', 'verification was aborted'), check('skipped', 'verification was aborted')],
      },
    ]),
  );
  const last = old.tasks.get('a')?.verification.last;
  assert.equal(last?.status, 'stopped');
  assert.deepEqual(
    last?.checks.map((c) => c.status),
    ['stopped', 'skipped'],
  );
  const failed = reduceJournal(
    journal([
      ...start,
      {
        type: 'verification',
        taskId: 'a',
        round: 1,
        status: 'failed',
        checks: [check('failed', 'exited with code 1')],
      },
    ]),
  );
  assert.equal(failed.tasks.get('a')?.verification.last?.status, 'failed', 'a real failure stays a failure');
});

test('an older journal\'s "verified there" reads as what happened: verified together, or not verified (no checks)', () => {
  const start = middle.slice(0, 2);
  const legacy = '1 of 1 task(s) merged into x; verified there, ready to apply onto your branch.';
  const ended = (status: 'passed' | 'skipped'): NewEvent[] => [
    ...start,
    { type: 'verification', taskId: 'integration', round: 1, status, checks: [] },
    { type: 'run_finished', status: 'completed', message: legacy },
  ];
  assert.equal(
    reduceJournal(journal(ended('passed'))).message,
    `1 of 1 task(s) merged into x and verified together${READY_TO_APPLY}`,
  );
  assert.equal(
    reduceJournal(journal(ended('skipped'))).message,
    `1 of 1 task(s) merged into x, not verified (no checks)${READY_TO_APPLY}`,
  );
  const applied = reduceJournal(
    journal([...ended('skipped'), { type: 'applied', commit: 'abcdef', mode: 'squash', branch: 'main' }]),
  );
  assert.equal(
    applied.message,
    '1 of 1 task(s) merged into x, not verified (no checks); applied onto main as one commit abcdef.',
  );
});
