/**
 * Which worktrees to remove, from what git lists and what the runs' journals say. Branches are
 * never removed here: a task's committed work outlives its worktree, and a resumed run re-creates
 * the worktree from the branch.
 */
import type { ForemanWorktree } from './repoPort';
import type { RunStatus } from './runState';

export interface RetentionPolicy {
  /** Finished runs (completed or failed) whose worktrees are kept, newest first. */
  keepFinishedRuns: number;
  /** Interrupted, stopped or budget-stopped runs untouched this long are abandoned. */
  abandonedAfterDays: number;
}

/** What is known of a run that owns worktrees. `null` when it has no journal. */
export interface RunFacts {
  status: RunStatus;
  /** Time of the journal's last event. */
  lastEventAt: number;
  /** A live process holds the run's lock. */
  live: boolean;
}

export interface Removal {
  worktree: ForemanWorktree;
  reason: string;
}

const DAY_MS = 86_400_000;

/** The worktrees to remove now, each with the reason. */
export function worktreesToRemove(
  worktrees: ForemanWorktree[],
  runs: ReadonlyMap<string, RunFacts | null>,
  policy: RetentionPolicy,
  now: number,
): Removal[] {
  const finished = [...runs.entries()]
    .filter(
      (e): e is [string, RunFacts] =>
        e[1] !== null && (e[1].status === 'completed' || e[1].status === 'failed') && !e[1].live,
    )
    .sort((a, b) => b[1].lastEventAt - a[1].lastEventAt)
    .map(([id]) => id);
  const keep = new Set(finished.slice(0, policy.keepFinishedRuns));
  const out: Removal[] = [];
  for (const wt of worktrees) {
    const facts = runs.get(wt.runId) ?? null;
    const reason = removalReason(wt.runId, facts, keep, policy, now);
    if (reason) out.push({ worktree: wt, reason });
  }
  return out;
}

function removalReason(
  runId: string,
  facts: RunFacts | null,
  keep: Set<string>,
  policy: RetentionPolicy,
  now: number,
): string | null {
  if (facts === null) return 'its run has no journal (abandoned)';
  if (facts.live || facts.status === 'running') return null;
  if (facts.status === 'completed' || facts.status === 'failed') {
    return keep.has(runId)
      ? null
      : `its run is ${facts.status} and older than the ${policy.keepFinishedRuns} newest finished runs`;
  }
  const ageDays = (now - facts.lastEventAt) / DAY_MS;
  return ageDays > policy.abandonedAfterDays
    ? `its run was ${facts.status} and untouched for ${Math.floor(ageDays)} days (abandoned)`
    : null;
}
