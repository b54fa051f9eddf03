/**
 * The board's projection: a 100-task run's state as a RunView that parses as the protocol's
 * PanelState, cheaply enough to build ten times a second; elapsed times, tokens/s and the actions
 * the developer may take, with a fake clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JournalEvent, NewEvent, TaskStatus } from '../../src/core/journal';
import { createRunState, applyEvent, reduceJournal } from '../../src/core/runState';
import type { RunState } from '../../src/core/runState';
import { BoardProjector, budgetWords } from '../../src/app/panelView';
import { RunTracker } from '../../src/app/runTracker';
import { ChangeRounds } from '../../src/app/changeRounds';
import { outcomeNotice } from '../../src/app/runHandlers';
import { PanelState } from '../../src/protocol/panel';
import type { RunView } from '../../src/protocol/panel';
import type { AskGroup } from '../../src/core/approvalDesk';

/** Builds a journal with increasing seq and the given times. */
class Journal {
  readonly events: JournalEvent[] = [];
  add(t: number, event: NewEvent): JournalEvent {
    const full = { ...event, seq: this.events.length + 1, t };
    this.events.push(full);
    return full;
  }
}

const usage = (prompt: number, completion: number) => ({
  promptTokens: prompt,
  completionTokens: completion,
  cachedTokens: Math.floor(prompt / 2),
  reasoningTokens: null,
  estimated: false,
});

function hundredTaskRun(autoMerge = true): Journal {
  const j = new Journal();
  const ids = Array.from({ length: 100 }, (_, i) => `task-${i}`);
  j.add(1000, {
    type: 'run_started',
    runId: 'r1',
    repo: '/repo',
    base: 'abcdef0123456789',
    baseSnapshot: false,
    baseBranch: 'main',
    settings: {
      endpoint: 'http://x/v1',
      model: 'm',
      concurrency: 8,
      budgets: { runTokens: 1_000_000, runCost: null, taskTokens: null, taskCost: null },
      autoMerge,
    },
  });
  const tasks = ids.map((id, i) => ({
    id,
    title: `Title ${i}`,
    instructions: 'do it',
    acceptance: ['done'],
    files: [`src/${id}.ts`],
    dependsOn: i > 0 && i % 10 === 0 ? [ids[i - 1]] : [],
  }));
  j.add(1000, { type: 'plan', plan: { version: 1, spec: 'A big spec', tasks, warnings: [] } });
  const statuses: TaskStatus[] = [
    'queued',
    'working',
    'verifying',
    'verified',
    'merged',
    'failed',
    'stopped',
    'setting_up',
    'blocked',
    'rejected',
  ];
  ids.forEach((id, i) => {
    const status = statuses[i % statuses.length];
    if (status !== 'queued') j.add(2000, { type: 'task_status', taskId: id, status: 'working' });
    if (status !== 'queued' && status !== 'working')
      j.add(3000 + i, {
        type: 'task_status',
        taskId: id,
        status,
        reason: status === 'failed' ? 'checks failed' : undefined,
      });
    if (status !== 'queued') {
      j.add(2500, { type: 'task_worktree', taskId: id, path: `/wt/${id}`, branch: `foreman/r1/${id}`, from: 'abc' });
      j.add(2600, {
        type: 'model_request',
        role: 'agent',
        taskId: id,
        model: 'm',
        endpoint: 'http://x/v1',
        ok: true,
        usage: usage(1000, 200),
        timing: { ttftMs: 100, durationMs: 2100, outputTokensPerSec: 100 },
        attempts: 1,
        cost: 0.001,
      });
      j.add(2650, { type: 'task_committed', taskId: id, commit: `c0ffee${i}`, files: [`src/${id}.ts`] });
      j.add(2700, {
        type: 'verification',
        taskId: id,
        round: 1,
        status: 'passed',
        checks: [
          {
            name: 'test',
            command: 'npm test',
            status: 'passed',
            exitCode: 0,
            timedOut: false,
            durationMs: 40,
            output: 'ok',
          },
        ],
      });
    }
  });
  return j;
}

function panel(run: RunView): unknown {
  return {
    blocked: null,
    sandbox: { kind: 'on', text: 'Sandbox: bubblewrap 0.8.0: no network.' },
    repo: '/repo',
    sample: false,
    phase: 'run',
    spec: 'A big spec',
    options: { backend: 'b', model: 'm', concurrency: 8, budgetTokens: null, budgetCost: null, holdForReview: false },
    backends: [],
    discovery: { scanning: false, found: [], scannedAt: null },
    planning: null,
    plan: null,
    run,
    history: [],
    notices: [],
    noticesSeen: 0,
    now: 5000,
  };
}

test('a 100-task board parses as PanelState and is cheap to build ten times a second', () => {
  const journal = hundredTaskRun();
  const state = createRunState();
  const tracker = new RunTracker();
  for (const e of journal.events) {
    applyEvent(state, e);
    tracker.observe(e);
  }
  const projector = new BoardProjector();
  const view = projector.project(state, { live: true, elsewhere: false, now: 4000, tracker });
  const parsed = PanelState.parse(panel(view));
  assert.equal(parsed.run?.tasks.length, 100);
  assert.equal(view.counts.merged, 10);
  assert.deepEqual(view.budget.tokens, { used: 90 * 1200, limit: 1_000_000 });
  assert.equal(view.base, 'abcdef0123');
  assert.deepEqual(view.integration.files.length, 10, "the merged tasks' files");
});

test('rows are reused until their task changes; elapsed time ticks only while a task works', () => {
  const journal = hundredTaskRun();
  const state = reduceJournal(journal.events);
  state.status = 'running';
  const tracker = new RunTracker();
  tracker.observeAll(journal.events);
  const projector = new BoardProjector();
  const ctx = (now: number) => ({ live: true, elsewhere: false, now, tracker });
  const first = projector.project(state, ctx(4000));
  const working = first.tasks.find((t) => t.id === 'task-1')!;
  assert.equal(working.status, 'working');
  assert.equal(working.elapsedMs, 2000, 'started at 2000, now 4000');
  assert.equal(projector.project(state, ctx(9000)).tasks[1].elapsedMs, 7000, 'a working task ticks');
  const verified = first.tasks.find((t) => t.id === 'task-3')!;
  assert.equal(verified.elapsedMs, 1003, 'a verified task stopped at its last status change');
  const again = projector.project(state, ctx(4100));
  assert.equal(again.tasks[5].usage, first.tasks[5].usage, 'unchanged rows share their parts');

  const e = journal.add(4200, { type: 'task_step', taskId: 'task-5', step: 3, tool: 'read_file' });
  applyEvent(state, e);
  tracker.observe(e);
  const after = projector.project(state, ctx(4300));
  assert.equal(after.tasks[5].step, 3, 'a changed task is projected again');
  assert.equal(after.tasks[6].usage, first.tasks[6].usage);
});

test('actions follow the task and run status, the hold policy and whether the run is live', () => {
  const held = hundredTaskRun(false);
  const state: RunState = reduceJournal(held.events);
  const tracker = new RunTracker();
  tracker.observeAll(held.events);
  const projector = new BoardProjector();
  const byStatus = (view: RunView, status: string) => view.tasks.find((t) => t.status === status)!.actions;

  state.status = 'running';
  const live = projector.project(state, { live: true, elsewhere: false, now: 5000, tracker });
  assert.deepEqual(byStatus(live, 'working'), {
    stop: true,
    accept: false,
    reject: false,
    requestChanges: false,
    diff: true,
    transcript: true,
    audit: true,
  });
  assert.deepEqual(byStatus(live, 'queued'), {
    stop: true,
    accept: false,
    reject: true,
    requestChanges: false,
    diff: false,
    transcript: false,
    audit: false,
  });
  assert.deepEqual(byStatus(live, 'verified'), {
    stop: false,
    accept: true,
    reject: true,
    requestChanges: true,
    diff: true,
    transcript: true,
    audit: true,
  });
  assert.deepEqual(byStatus(live, 'merged'), {
    stop: false,
    accept: false,
    reject: false,
    requestChanges: true,
    diff: true,
    transcript: true,
    audit: true,
  });
  assert.deepEqual(live.actions, { stopAll: true, apply: false, resume: false });
  assert.equal(live.holdForReview, true);
  assert.ok(live.tokensPerSecond !== null && live.tokensPerSecond >= 0);

  state.status = 'review';
  const review = projector.project(state, { live: false, elsewhere: false, now: 5000, tracker });
  assert.equal(byStatus(review, 'working').stop, false, 'nothing to stop when not live');
  assert.equal(
    byStatus(review, 'working').reject,
    true,
    'a task left working in a run that is not live can be rejected',
  );
  assert.deepEqual(review.actions, { stopAll: false, apply: true, resume: false });
  // Not live: the whole run's figure. Every task's request generated over the same 2 s, so the
  // run's output tokens per second of generation time is all of its output over those 2 s.
  assert.equal(review.tokensPerSecond, (state.usage.output * 1000) / 2000);
  const working = review.tasks.find((t) => t.status === 'working')!;
  assert.equal(working.tokensPerSecond, 100, "a task's own: 200 tokens over 2 s");

  state.status = 'stopped';
  assert.deepEqual(projector.project(state, { live: false, elsewhere: false, now: 5000, tracker }).actions, {
    stopAll: false,
    apply: false,
    resume: true,
  });
  const elsewhere = projector.project(state, { live: false, elsewhere: true, now: 5000, tracker });
  assert.equal(elsewhere.status, 'running');
  assert.deepEqual(elsewhere.actions, { stopAll: false, apply: false, resume: false });
});

test('Request changes is offered only where the decision rule takes it', () => {
  const j = hundredTaskRun(false);
  // task-0 was queued and never started; the run stopped it.
  j.add(5000, { type: 'task_status', taskId: 'task-0', status: 'stopped', reason: 'the run was stopped' });
  const state = reduceJournal(j.events);
  const tracker = new RunTracker();
  tracker.observeAll(j.events);
  const offered = (ctx: { live: boolean; reopening?: boolean }) => {
    const view = new BoardProjector().project(state, { ...ctx, elsewhere: false, now: 6000, tracker });
    return (id: string) => view.tasks.find((t) => t.id === id)!.actions.requestChanges;
  };
  const live = offered({ live: true });
  assert.equal(live('task-0'), false, 'a task that never started has nothing to change');
  assert.equal(live('task-6'), true, 'a stopped task that worked can be sent back');
  assert.equal(live('task-4'), true, 'a merged task of a run not yet applied can be sent back');
  assert.equal(live('task-5'), true, 'a failed task can be sent back');
  assert.equal(live('task-1'), false, 'not while it works');
  const reopened = offered({ live: false });
  assert.equal(reopened('task-6'), false, 'a reopening queues a stopped task again: resume first');
  assert.equal(reopened('task-4'), true);
  assert.equal(offered({ live: false, reopening: false })('task-6'), true, "this window's engine takes it as it is");

  applyEvent(state, j.add(7000, { type: 'applied', commit: 'c0ffee', mode: 'squash' }));
  const applied = offered({ live: false });
  assert.equal(applied('task-4'), false, 'the merged tasks of an applied run are on the branch already');
  assert.equal(applied('task-5'), true, 'a failed task of an applied run was never applied');
});

test("a change round: the request, then the new round's commits counted against the commit before it", async () => {
  const j = new Journal();
  const counted: [string, string][] = [];
  let redraws = 0;
  const rounds = new ChangeRounds(
    async (from, to) => {
      counted.push([from, to]);
      return { files: ['a.ts', 'b.ts'], added: 12, removed: 3 };
    },
    () => redraws++,
    (m) => assert.fail(m),
  );
  const feed = (e: NewEvent) => rounds.observe(j.add(1000, e));
  feed({ type: 'task_worktree', taskId: 'a', path: '/wt/a', branch: 'foreman/r1/a', from: 'base0' });
  feed({ type: 'task_committed', taskId: 'a', commit: 'c1', files: ['a.ts'] });
  assert.equal(rounds.view('a'), null, 'no round before a request');
  feed({ type: 'note', taskId: 'a', message: 'changes requested: Split the parser.' });
  assert.deepEqual(rounds.view('a'), { requests: 1, comments: 'Split the parser.', diff: null, committed: false });
  feed({ type: 'task_committed', taskId: 'a', commit: 'c2', files: ['a.ts', 'b.ts'] });
  assert.equal(rounds.view('a')?.diff, null, 'counted in the background');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(redraws, 1, 'the board is drawn again once the count is known');
  assert.deepEqual(rounds.view('a'), {
    requests: 1,
    comments: 'Split the parser.',
    diff: { files: ['a.ts', 'b.ts'], added: 12, removed: 3 },
    committed: true,
  });
  assert.deepEqual(counted, [['c1', 'c2']], 'once per pair of commits');
  feed({ type: 'note', taskId: 'a', message: 'changes requested: And the lexer.' });
  assert.deepEqual(rounds.view('a'), { requests: 2, comments: 'And the lexer.', diff: null, committed: false });
  feed({ type: 'note', taskId: 'b', message: 'changes requested: Anything.' });
  assert.equal(rounds.view('b')?.diff, null, 'a task with no commit at all has nothing to count against');
});

test('budget hits in words', () => {
  assert.equal(
    budgetWords({ scope: 'run', kind: 'tokens', limit: 10_000, used: 12_345 }),
    "The run's token budget was reached: 12,345 of 10,000 tokens.",
  );
  assert.equal(
    budgetWords({ scope: 'task', taskId: 'a', kind: 'cost', limit: 0.5, used: 0.51234 }),
    "Task a's cost budget was reached: 0.5123 of 0.5.",
  );
});

test('how a run ended, in words that name the tasks', () => {
  const held = hundredTaskRun(false);
  const state = reduceJournal(held.events);
  state.status = 'review';
  const review = outcomeNotice(state);
  assert.equal(review.kind, 'info');
  assert.match(
    review.text,
    /^Tasks task-3, task-13, task-23, task-33, task-43 and 5 more wait for your review in run r1: /,
  );
  for (const t of state.tasks.values()) if (t.status === 'verified' && t.id !== 'task-3') t.status = 'merged';
  assert.equal(
    outcomeNotice(state).text,
    'Task task-3 ("Title 3") waits for your review in run r1: accept, reject or request changes.',
  );
  state.status = 'failed';
  state.message = '50 of 100 task(s) merged into foreman/r1/integration; some tasks did not merge.';
  const failed = outcomeNotice(state);
  assert.equal(failed.kind, 'error');
  assert.match(failed.text, /some tasks did not merge\. Not merged: task-0 \(queued\), task-1 \(working\), /);
  assert.match(failed.text, / and \d+ more\.$/);
});

test("an ask of no task's (an MCP server's pin) is on the board while the run is live; a task's is on its row", () => {
  const journal = hundredTaskRun();
  const state = reduceJournal(journal.events);
  const tracker = new RunTracker();
  const rule = (id: string) => ({ id, why: `because ${id}`, source: 'user' as const, category: null, fixed: true });
  const asks: AskGroup[] = [
    {
      key: 'pin',
      command: 'mcp-server docs 0123456789ab',
      rule: rule('mcp-pin-new'),
      asks: [
        { id: 'a1', task: null, line: 'MCP server "docs" …, 1 tools:\n  search: Search.', askedAt: 10, expiresAt: 99 },
      ],
    },
    {
      key: 'cmd',
      command: 'npx cowsay',
      rule: rule('package-runner'),
      asks: [{ id: 'a2', task: 'task-1', line: 'npx cowsay moo', askedAt: 11, expiresAt: 98 }],
    },
  ];
  const view = new BoardProjector().project(state, { live: true, elsewhere: false, now: 4000, tracker, asks });
  assert.deepEqual(view.runAsks, [
    {
      key: 'pin',
      command: 'mcp-server docs 0123456789ab',
      line: 'MCP server "docs" …, 1 tools:\n  search: Search.',
      rule: 'mcp-pin-new',
      why: 'because mcp-pin-new',
      askedAt: 10,
      expiresAt: 99,
      others: [],
      answerable: true,
    },
  ]);
  assert.equal(PanelState.parse(panel(view)).run?.runAsks?.length, 1);
  const cold = new BoardProjector().project(state, { live: false, elsewhere: false, now: 4000, tracker, asks });
  assert.equal(cold.runAsks, undefined, 'a run this window does not drive has nothing to answer here');
});
