import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIVE_TASK_STATUSES,
  DEAD_DEPENDENCY_STATUSES,
  FINAL_TASK_STATUSES,
  KEPT_ON_RESUME_TASK_STATUSES,
  RESUMABLE_RUN_STATUSES,
  REVISABLE_TASK_STATUSES,
} from '../../src/core/statusSets';
import { RunStatus, TaskStatus } from '../../src/protocol/panel';
import { isTicking } from '../../src/webview/status';

const sorted = (set: ReadonlySet<string>): string[] => [...set].sort();

test('the named status sets hold what their names say', () => {
  assert.deepEqual(sorted(ACTIVE_TASK_STATUSES), ['setting_up', 'verifying', 'working']);
  assert.deepEqual(sorted(FINAL_TASK_STATUSES), ['blocked', 'failed', 'merged', 'rejected', 'stopped']);
  assert.deepEqual(sorted(DEAD_DEPENDENCY_STATUSES), ['blocked', 'failed', 'rejected', 'stopped']);
  assert.deepEqual(sorted(REVISABLE_TASK_STATUSES), ['failed', 'merged', 'stopped', 'verified']);
  assert.deepEqual(sorted(KEPT_ON_RESUME_TASK_STATUSES), ['failed', 'merged', 'queued', 'rejected', 'verified']);
  assert.deepEqual(sorted(RESUMABLE_RUN_STATUSES), ['budget', 'interrupted', 'stopped']);
});

test('the sets hold only statuses the protocol knows', () => {
  const tasks = new Set<string>(TaskStatus.options);
  for (const set of [
    ACTIVE_TASK_STATUSES,
    FINAL_TASK_STATUSES,
    DEAD_DEPENDENCY_STATUSES,
    REVISABLE_TASK_STATUSES,
    KEPT_ON_RESUME_TASK_STATUSES,
  ]) {
    for (const s of set) assert.ok(tasks.has(s), s);
  }
  for (const s of RESUMABLE_RUN_STATUSES) assert.ok(RunStatus.options.includes(s), s);
});

test("the webview's ticking statuses are core's active ones", () => {
  for (const s of TaskStatus.options) assert.equal(isTicking(s), ACTIVE_TASK_STATUSES.has(s), s);
});
