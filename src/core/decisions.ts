/**
 * The developer's decisions on a task (accept, reject, request changes) and the one rule that says
 * whether a decision may be taken. Pure: the engine asks it before acting on its live run, and the
 * Lead board asks it of a run read from its journal before reopening the run for the decision.
 */
import type { TaskStatus } from './journal';
import { KEPT_ON_RESUME_TASK_STATUSES, REVISABLE_TASK_STATUSES } from './statusSets';

/** A decision of the developer on one task. */
export type TaskDecision = { kind: 'accept' } | { kind: 'reject' } | { kind: 'requestChanges'; comments: string };

/**
 * Why a decision is refused:
 * - `unknownTask`: the run has no task of that id;
 * - `notVerified`: only a verified task can be accepted;
 * - `running`: the task's pipeline is still going (it can be accepted once verified, nothing else);
 * - `alreadyMerged`: a merged task cannot be rejected, only sent back;
 * - `noComments`: changes were requested without saying what to change;
 * - `notRevisable`: changes can be requested only of a task in REVISABLE_TASK_STATUSES;
 * - `requeuedOnResume`: the run is to be reopened first, and the resume queues the task again, so
 *   it is no longer revisable once reopened;
 * - `neverStarted`: changes were requested of a task whose agent never started (there is nothing
 *   to change; resuming the run starts it);
 * - `alreadyApplied`: changes were requested of a merged task of a run already applied onto the
 *   developer's branch (its work is there; a new round could never be applied).
 */
export type DecisionRefusalReason =
  | 'unknownTask'
  | 'notVerified'
  | 'running'
  | 'alreadyMerged'
  | 'noComments'
  | 'notRevisable'
  | 'requeuedOnResume'
  | 'neverStarted'
  | 'alreadyApplied';

/** A refused decision: the typed reason, and a message a person can act on (no final period). */
export interface DecisionRefusal {
  reason: DecisionRefusalReason;
  message: string;
}

/** The answer to a developer's decision: done, or why not. */
export type Decision = { ok: true } | ({ ok: false } & DecisionRefusal);

/** What the rule needs to know of the task. */
export interface DecisionSubject {
  status: TaskStatus;
  /** Its pipeline is running (or, just verified, still winding down) in a live engine. */
  running: boolean;
  /** Its agent started at some point (a task stopped or blocked before it began has not). */
  started: boolean;
}

/** The circumstances of a decision. */
export interface DecisionContext {
  /**
   * The run will be reopened from its journal before the decision is carried out; the resume
   * queues again every task whose status is not in KEPT_ON_RESUME_TASK_STATUSES.
   */
  reopening?: boolean;
  /** The run's integration branch has been applied onto the developer's branch. */
  applied?: boolean;
}

/**
 * Why `decision` on task `taskId` must be refused, or null when it may be taken. `task` is null
 * when the run has no such task. Rejecting a task that is already rejected is allowed (it does
 * nothing).
 */
export function decisionRefusal(
  taskId: string,
  decision: TaskDecision,
  task: DecisionSubject | null,
  context: DecisionContext = {},
): DecisionRefusal | null {
  if (task === null) return refusal('unknownTask', `there is no task ${taskId} in this run`);
  const { status, running } = task;
  switch (decision.kind) {
    case 'accept':
      return status === 'verified'
        ? null
        : refusal('notVerified', `${taskId} is ${status}; only a verified task can be accepted`);
    case 'reject':
      if (running) return refusal('running', `${taskId} is ${status}; stop it before rejecting it`);
      if (status === 'merged')
        return refusal(
          'alreadyMerged',
          `${taskId} is already merged into the integration branch; request changes instead`,
        );
      return null;
    case 'requestChanges':
      return changesRefusal(taskId, decision.comments, task, context);
  }
}

function changesRefusal(
  taskId: string,
  comments: string,
  { status, running, started }: DecisionSubject,
  context: DecisionContext,
): DecisionRefusal | null {
  if (!comments.trim()) return refusal('noComments', 'say what to change');
  const allowed = `${taskId} is ${status}; changes can be requested of a verified, merged, failed or stopped task`;
  if (running) return refusal('running', allowed);
  if (!REVISABLE_TASK_STATUSES.has(status)) return refusal('notRevisable', allowed);
  if (!started)
    return refusal(
      'neverStarted',
      `${taskId} never started, so there is nothing to change; resume the run to start it`,
    );
  if (status === 'merged' && context.applied)
    return refusal(
      'alreadyApplied',
      `${taskId} is merged and the run is already applied onto your branch; change it there, or plan a new run`,
    );
  if (context.reopening && !KEPT_ON_RESUME_TASK_STATUSES.has(status))
    return refusal('requeuedOnResume', `${taskId} was ${status}; resume the run first, then request changes`);
  return null;
}

function refusal(reason: DecisionRefusalReason, message: string): DecisionRefusal {
  return { reason, message };
}
