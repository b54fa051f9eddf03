import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionRefusal } from '../../src/core/decisions';
import type { DecisionRefusalReason, TaskDecision } from '../../src/core/decisions';
import type { TaskStatus } from '../../src/core/journal';
import { TaskStatus as ProtocolTaskStatus } from '../../src/protocol/panel';

const STATUSES: readonly TaskStatus[] = ProtocolTaskStatus.options;
const ACCEPT: TaskDecision = { kind: 'accept' };
const REJECT: TaskDecision = { kind: 'reject' };
const REVISE: TaskDecision = { kind: 'requestChanges', comments: 'use the helper' };

function reason(
  decision: TaskDecision,
  status: TaskStatus,
  running = false,
  reopening = false,
): DecisionRefusalReason | null {
  return decisionRefusal('t1', decision, { status, running, started: true }, { reopening })?.reason ?? null;
}

test('every status is covered', () => {
  assert.equal(STATUSES.length, 11);
});

test('accept: only a verified task, running (winding down) or not', () => {
  for (const s of STATUSES) {
    const want = s === 'verified' ? null : 'notVerified';
    assert.equal(reason(ACCEPT, s), want, s);
    assert.equal(reason(ACCEPT, s, true), want, `${s}, running`);
    assert.equal(reason(ACCEPT, s, false, true), want, `${s}, reopening`);
  }
  assert.deepEqual(decisionRefusal('t1', ACCEPT, { status: 'failed', running: false, started: true }), {
    reason: 'notVerified',
    message: 't1 is failed; only a verified task can be accepted',
  });
});

test('reject: anything not merged and not running; a rejected task again is allowed', () => {
  for (const s of STATUSES) {
    const want = s === 'merged' ? 'alreadyMerged' : null;
    assert.equal(reason(REJECT, s), want, s);
    assert.equal(reason(REJECT, s, false, true), want, `${s}, reopening`);
    assert.equal(reason(REJECT, s, true), 'running', `${s}, running`);
  }
  assert.equal(
    decisionRefusal('t1', REJECT, { status: 'working', running: true, started: true })?.message,
    't1 is working; stop it before rejecting it',
  );
});

test('request changes: verified, merged, failed or stopped, and not running', () => {
  const revisable = new Set<TaskStatus>(['verified', 'merged', 'failed', 'stopped']);
  for (const s of STATUSES) {
    assert.equal(reason(REVISE, s), revisable.has(s) ? null : 'notRevisable', s);
    assert.equal(reason(REVISE, s, true), 'running', `${s}, running`);
    assert.equal(reason({ kind: 'requestChanges', comments: ' \n' }, s), 'noComments', `${s}, no comments`);
  }
  assert.equal(
    decisionRefusal('t1', REVISE, { status: 'queued', running: false, started: true })?.message,
    't1 is queued; changes can be requested of a verified, merged, failed or stopped task',
  );
});

test('request changes before a reopen: a stopped task would be queued again by the resume', () => {
  for (const s of STATUSES) {
    const want: DecisionRefusalReason | null = s === 'stopped' ? 'requeuedOnResume' : reason(REVISE, s);
    assert.equal(reason(REVISE, s, false, true), want, s);
  }
  assert.equal(
    decisionRefusal('t1', REVISE, { status: 'stopped', running: false, started: true }, { reopening: true })?.message,
    't1 was stopped; resume the run first, then request changes',
  );
});

test('a task the run does not have is refused for every decision', () => {
  for (const d of [ACCEPT, REJECT, REVISE]) {
    assert.deepEqual(decisionRefusal('nope', d, null), {
      reason: 'unknownTask',
      message: 'there is no task nope in this run',
    });
  }
});

test('changes are not requested of a task that never started, nor of a merged task of an applied run', () => {
  const never = decisionRefusal('t1', REVISE, { status: 'stopped', running: false, started: false });
  assert.deepEqual(never, {
    reason: 'neverStarted',
    message: 't1 never started, so there is nothing to change; resume the run to start it',
  });
  const applied = { applied: true };
  assert.equal(
    decisionRefusal('t1', REVISE, { status: 'merged', running: false, started: true }, applied)?.reason,
    'alreadyApplied',
  );
  assert.equal(
    decisionRefusal('t1', REVISE, { status: 'failed', running: false, started: true }, applied),
    null,
    'a failed task of an applied run can still be sent back (its work was never applied)',
  );
  assert.equal(decisionRefusal('t1', REVISE, { status: 'merged', running: false, started: true }), null);
});
