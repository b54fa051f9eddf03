/**
 * Approvals in the core: the desk that waits for a person (grouping, answers, time-outs, stops),
 * the run's gate in front of it (journal events, "allow for this run" remembered across tasks and
 * resumes), and the audit trail printed from those events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApprovalDesk } from '../../src/core/approvalDesk';
import { approvalGate } from '../../src/core/approvalGate';
import type { ApprovalAnswer, ApprovalRequest, Approver } from '../../src/core/approver';
import { NEVER_APPROVER, sandboxTrustApprover } from '../../src/core/approver';
import { auditTrail, formatAudit } from '../../src/core/audit';
import type { PolicyVerdict } from '../../src/core/commandPolicy';
import type { JournalEvent, NewEvent } from '../../src/core/journal';
import { applyEvent, createRunState, reduceJournal } from '../../src/core/runState';

function verdict(command: string, rule = 'inline-code'): PolicyVerdict {
  return {
    decision: 'ask',
    command,
    rule: { id: rule, why: 'It runs code given on its command line.', source: 'builtin', category: null, fixed: true },
  };
}

function request(task: string, command: string, rule?: string): ApprovalRequest {
  return { task, line: `${command} && echo done`, verdict: verdict(command, rule) };
}

/** A journal in memory folded into a run state, as the run host keeps them. */
function memoryRun(history: JournalEvent[] = []) {
  const events: JournalEvent[] = [...history];
  const state = reduceJournal(history);
  return {
    state,
    events,
    emit(e: NewEvent) {
      const appended = { ...e, seq: events.length + 1, t: 1_000 + events.length };
      events.push(appended);
      applyEvent(state, appended);
    },
  };
}

test('the desk groups asks about the same command and one answer settles the group', async () => {
  const desk = new ApprovalDesk({ timeoutMs: 60_000 });
  let changes = 0;
  desk.onChange(() => changes++);
  const a = desk.approve(request('t1', 'node -e 1'));
  const b = desk.approve(request('t2', 'node -e 1'));
  const c = desk.approve(request('t3', 'python -c 1'));
  assert.equal(desk.size, 3);
  const groups = desk.groups();
  assert.deepEqual(
    groups.map((g) => [g.command, g.asks.map((x) => x.task)]),
    [
      ['node -e 1', ['t1', 't2']],
      ['python -c 1', ['t3']],
    ],
  );
  assert.ok(desk.answer(groups[0].key, { choice: 'run' }));
  assert.deepEqual(await a, { approved: true, scope: 'run', by: 'user' });
  assert.deepEqual(await b, { approved: true, scope: 'run', by: 'user' });
  assert.equal(desk.answer(groups[0].key, { choice: 'once' }), false, 'a settled group cannot be answered again');
  assert.ok(desk.answer(groups[1].key, { choice: 'deny', reason: '  use the project script  ' }));
  assert.deepEqual(await c, { approved: false, by: 'user', reason: 'use the project script' });
  assert.equal(desk.size, 0);
  assert.ok(changes >= 6, 'every ask and every settlement is signalled');
});

test('a refusal without a reason still tells the agent something', async () => {
  const desk = new ApprovalDesk({ timeoutMs: 60_000 });
  const p = desk.approve(request('t1', 'npx x', 'package-runner'));
  desk.answer(desk.groups()[0].key, { choice: 'deny', reason: ' ' });
  const answer = await p;
  assert.equal(answer.approved, false);
  assert.ok(!answer.approved && answer.reason.length > 10);
});

test('an unanswered ask times out as a refusal; a stopped task and a closed desk refuse too', async () => {
  const desk = new ApprovalDesk({ timeoutMs: 30 });
  const timedOut = await desk.approve(request('t1', 'node -e 1'));
  assert.equal(timedOut.approved, false);
  assert.equal(timedOut.by, 'timeout');
  assert.match(!timedOut.approved ? timedOut.reason : '', /No one answered within 0 s/);
  assert.equal(desk.size, 0, 'the timed-out ask is gone');

  const slow = new ApprovalDesk({ timeoutMs: 60_000 });
  const stop = new AbortController();
  const stopped = slow.approve(request('t1', 'node -e 1'), stop.signal);
  stop.abort();
  assert.equal((await stopped).by, 'stopped');
  const left = slow.approve(request('t2', 'node -e 2'));
  slow.close('The run ended.');
  assert.deepEqual(await left, { approved: false, by: 'stopped', reason: 'The run ended.' });
  assert.equal((await slow.approve(request('t3', 'node -e 3'))).by, 'stopped', 'a closed desk refuses at once');
  assert.equal(slow.size, 0);
});

test('the headless approvers: never refuses, policy trusts the sandbox only when it is on', async () => {
  assert.equal((await NEVER_APPROVER.approve(request('t1', 'x'))).approved, false);
  assert.deepEqual(await sandboxTrustApprover(true).approve(request('t1', 'x')), {
    approved: true,
    scope: 'once',
    by: 'sandbox',
  });
  const off = await sandboxTrustApprover(false).approve(request('t1', 'x'));
  assert.equal(off.approved, false);
});

test('the gate journals asks and answers, and "allow for this run" holds for other tasks and after a resume', async () => {
  const run = memoryRun();
  const answers: ApprovalAnswer[] = [{ approved: true, scope: 'run', by: 'user' }];
  const asked: ApprovalRequest[] = [];
  const person: Approver = {
    approve: (r) => {
      asked.push(r);
      return Promise.resolve(answers.shift() ?? { approved: false, by: 'user', reason: 'no more' });
    },
  };
  const first = await approvalGate(run, 't1', person).approve(request('t1', 'node -e 1'));
  assert.deepEqual(first, { approved: true, scope: 'run', by: 'user' });
  assert.equal(asked.length, 1);
  assert.equal(asked[0].id, 't1#1', 'the person is asked with the id the journal pairs');
  const again = await approvalGate(run, 't2', person).approve(request('t2', 'node -e 1'));
  assert.deepEqual(again, { approved: true, scope: 'run', by: 'rule' });
  assert.equal(asked.length, 1, 'the same command under the same rule is not asked again');
  const other = await approvalGate(run, 't2', person).approve(request('t2', 'node -e 2'));
  assert.equal(other.approved, false, 'another command is asked about');
  assert.equal(asked.length, 2);
  assert.deepEqual(
    run.events.map((e) => e.type),
    [
      'approval_asked',
      'approval_answered',
      'approval_asked',
      'approval_answered',
      'approval_asked',
      'approval_answered',
    ],
  );
  const refusal = run.events.at(-1);
  assert.ok(refusal?.type === 'approval_answered' && refusal.reason === 'no more' && refusal.by === 'user');
  assert.equal(run.state.tasks.get('t2')?.ask, null, 'no ask waits once answered');

  const resumed = memoryRun(run.events);
  const afterResume = await approvalGate(resumed, 't3', person).approve(request('t3', 'node -e 1'));
  assert.equal(afterResume.by, 'rule', 'the journal remembers the allowance');
});

test('a waiting ask is on the task in the run state until answered; an interrupted run has none', () => {
  const state = createRunState();
  let seq = 0;
  const fold = (e: NewEvent) => applyEvent(state, { ...e, seq: ++seq, t: 5_000 });
  fold({
    type: 'approval_asked',
    taskId: 't1',
    askId: 't1#1',
    line: 'npx x',
    policy: { decision: 'ask', rule: 'package-runner', source: 'builtin', command: 'npx x' },
    why: 'It downloads and runs a package.',
  });
  assert.equal(state.tasks.get('t1')?.ask?.line, 'npx x');
  const events: JournalEvent[] = [
    {
      seq: 1,
      t: 1,
      type: 'approval_asked',
      taskId: 't1',
      askId: 't1#1',
      line: 'npx x',
      policy: { decision: 'ask', rule: 'package-runner', source: 'builtin', command: 'npx x' },
      why: 'w',
    },
  ];
  assert.equal(reduceJournal(events).tasks.get('t1')?.ask, null);
});

test('the audit trail names the rule, who answered, the sandbox profile and git operations', () => {
  const e = (n: number, rest: NewEvent): JournalEvent => ({ ...rest, seq: n, t: Date.UTC(2026, 11, 4, 10, 0, n) });
  const events: JournalEvent[] = [
    e(1, {
      type: 'sandbox',
      taskId: 't1',
      profile: { confinement: 'bubblewrap 0.8.0', network: 'none', writable: ['/wt'], env: ['HOME', 'PATH'] },
    }),
    e(2, { type: 'git', taskId: 't1', op: 'worktree', detail: 'worktree for t1: made /wt', ok: true }),
    e(3, {
      type: 'tool_call',
      taskId: 't1',
      step: 1,
      tool: 'run_command',
      args: '{}',
      ok: false,
      summary: 'run_command refused (git-push): git push',
      policy: { decision: 'deny', rule: 'git-push', source: 'builtin', command: 'git push' },
    }),
    e(4, {
      type: 'approval_asked',
      taskId: 't1',
      askId: 't1#4',
      line: 'npx x\u0000',
      policy: { decision: 'ask', rule: 'package-runner', source: 'builtin', command: 'npx x' },
      why: 'It downloads and runs a package.',
    }),
    e(5, { type: 'approval_answered', taskId: 't1', askId: 't1#4', approved: false, by: 'timeout', reason: 'late' }),
    e(6, { type: 'model_request' } as unknown as NewEvent),
    e(7, { type: 'git', taskId: 't2', op: 'commit', detail: 'commit', ok: true }),
    e(8, {
      type: 'network',
      taskId: 't1',
      host: 'evil.example',
      port: 443,
      allowed: false,
      via: 'connect',
      reason: 'not in foreman.sandbox.allowedHosts',
    }),
  ];
  const trail = auditTrail(events, 't1');
  assert.deepEqual(
    trail.map((x) => [x.kind, x.flagged]),
    [
      ['sandbox', false],
      ['git', false],
      ['tool', true],
      ['approval', false],
      ['approval', true],
      ['network', true],
    ],
  );
  const lines = formatAudit(trail, (t) => new Date(t).toISOString().slice(11, 19));
  assert.match(lines[0], /^10:00:01 {3}t1 {4}sandbox +processes confined by bubblewrap 0\.8\.0; network none/);
  assert.match(lines[2], /^10:00:03 ! t1 .*policy deny by rule git-push/);
  assert.match(lines[3], /asked to run npx x\u2400 \(package-runner: It downloads/);
  assert.match(lines[4], /refused by time-out: late/);
  assert.match(lines[5], /! t1 +network +refused evil\.example:443 \(connect\): not in/);
  assert.equal(auditTrail(events).length, 7, 'the whole run: model requests are not part of the trail');
});
