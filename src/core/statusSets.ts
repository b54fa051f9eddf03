/**
 * Named sets of task and run statuses, so each rule that depends on "which statuses" says so once,
 * by name, instead of as a list written inline where it is used.
 */
import type { TaskStatus } from './journal';
import type { RunStatus } from './runState';

/** A task in these statuses has work under way: its agent or its checks are running. */
export const ACTIVE_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(['setting_up', 'working', 'verifying']);

/**
 * A task in these statuses will not move again in this run unless the run is resumed or the
 * developer sends it back; its end time is set when it gets there.
 */
export const FINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'merged',
  'failed',
  'blocked',
  'stopped',
  'rejected',
]);

/** A dependency in these statuses can no longer be merged, so the tasks that need it are blocked. */
export const DEAD_DEPENDENCY_STATUSES: ReadonlySet<TaskStatus> = new Set(['failed', 'blocked', 'stopped', 'rejected']);

/** The developer may send a task in these statuses back to its agent with comments. */
export const REVISABLE_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(['verified', 'merged', 'failed', 'stopped']);

/**
 * A resume leaves a task in these statuses as it is: done (merged), given up (failed, rejected),
 * waiting for the developer (verified) or not started yet (queued). Every other task is queued
 * again, in its worktree when it has one.
 */
export const KEPT_ON_RESUME_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'merged',
  'failed',
  'rejected',
  'queued',
  'verified',
]);

/** A run that ended in these statuses left work undone that resuming it takes up again. */
export const RESUMABLE_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['interrupted', 'stopped', 'budget']);
