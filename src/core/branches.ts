/**
 * Branch names of a run, in one place: `foreman/<run>/<task>` per task and
 * `foreman/<run>/integration` for the merged result (so no task may be called `integration`).
 * This file imports nothing and must stay so: src/protocol re-exports INTEGRATION_ID from it, so
 * it goes wherever the protocol's constants go, the webview included.
 */

/** The id the integration worktree and branch are kept under; no task may use it. */
export const INTEGRATION_ID = 'integration';

/** The branch of one task of a run. */
export function taskBranch(runId: string, taskId: string): string {
  return `foreman/${runId}/${taskId}`;
}

/** The integration branch of a run. */
export function integrationBranch(runId: string): string {
  return taskBranch(runId, INTEGRATION_ID);
}

/** The task (or the integration id) a run's branch belongs to; null for any other branch. */
export function taskOfBranch(branch: string): string | null {
  const parts = branch.split('/');
  return parts.length === 3 && parts[0] === 'foreman' && parts[2] !== '' ? parts[2] : null;
}
