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
import { PanelState } from '../../src/protocol/panel';
import type { RunView } from '../../src/protocol/panel';

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
  assert.ok(live.tokensPerSecond >= 0);

  state.status = 'review';
  const review = projector.project(state, { live: false, elsewhere: false, now: 5000, tracker });
  assert.equal(byStatus(review, 'working').stop, false, 'nothing to stop when not live');
  assert.equal(
    byStatus(review, 'working').reject,
    true,
    'a task left working in a run that is not live can be rejected',
  );
  assert.deepEqual(review.actions, { stopAll: false, apply: true, resume: false });
  assert.equal(review.tokensPerSecond, 0);

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
