/**
 * The end of a run, once no task can move: tasks that never started are stopped (unless they wait
 * behind tasks held for the developer's review), the checks run again on the integration branch
 * when everything that could merge has, and the run finishes with its outcome in words.
 */
import { integrationBranch, INTEGRATION_ID } from './branches';
import type { BudgetHit, RunEnd, VerificationStatus } from './journal';
import { READY_TO_APPLY } from './runState';
import type { RunHost } from './runHost';
import { runChecks } from './verify';

/** Bring the run to its end; `stopping` when the developer stopped the whole run. */
export async function finishRun(host: RunHost, stopping: boolean): Promise<void> {
  const ids = host.plan.tasks.map((t) => t.id);
  const waiting = ids.filter((id) => host.status(id) === 'verified');
  const runHit = host.runBudgetHit;
  // A task queued behind tasks that wait for review stays queued: accepting them lets it start.
  if (stopping || runHit || waiting.length === 0) stopNotStarted(host, ids, runHit);
  const merged = ids.filter((id) => host.status(id) === 'merged').length;
  const integration = merged > 0 && waiting.length === 0 && !stopping ? await verifyIntegration(host) : null;
  const rejected = ids.filter((id) => host.status(id) === 'rejected').length;
  const end = runOutcome({
    branch: integrationBranch(host.config.runId),
    total: ids.length,
    merged,
    rejected,
    waiting,
    stopping,
    runHit,
    taskHits: host.taskBudgetStops(),
    integration,
    checked: host.config.checks.length > 0,
  });
  host.emit({ type: 'run_finished', status: end.status, message: end.message });
}

function stopNotStarted(host: RunHost, ids: string[], runHit: BudgetHit | null): void {
  const reason = runHit ? 'not started: the run budget was reached' : 'not started: the run was stopped';
  for (const id of ids) {
    if (host.status(id) === 'queued') host.emit({ type: 'task_status', taskId: id, status: 'stopped', reason });
  }
}

/** Run the checks in the integration worktree and journal the result. */
async function verifyIntegration(host: RunHost): Promise<VerificationStatus> {
  const cwd = await host.integrationWorktree();
  const runner = await host.deps.openRunner(INTEGRATION_ID, cwd, (d) =>
    host.emit({ type: 'network', taskId: INTEGRATION_ID, ...d }),
  );
  host.emit({ type: 'sandbox', taskId: INTEGRATION_ID, profile: runner.profile });
  const result = await runChecks(host.config.checks, {
    runner,
    cwd,
    timeoutMs: host.config.checkTimeoutMs,
  }).finally(() => runner.close());
  host.emit({ type: 'verification', taskId: INTEGRATION_ID, round: 1, status: result.status, checks: result.checks });
  return result.status;
}

/** Where the run stands once no task can move. */
interface AtRest {
  branch: string;
  total: number;
  merged: number;
  rejected: number;
  /** Verified tasks held for the developer's review. */
  waiting: string[];
  stopping: boolean;
  runHit: BudgetHit | null;
  /** Tasks stopped by their own budget (and still stopped). */
  taskHits: BudgetHit[];
  /** The checks on the integration branch; null when they did not run. */
  integration: VerificationStatus | null;
  /** The run has checks to run (without them, a held task waits unverified). */
  checked: boolean;
}

/** How the run ends, and why in words. */
function runOutcome(r: AtRest): { status: RunEnd; message: string } {
  const counts = `${r.merged} of ${r.total} task(s) merged into ${r.branch}${r.rejected ? ` (${r.rejected} rejected by you)` : ''}`;
  if (r.stopping) return { status: 'stopped', message: `${counts}; the run was stopped and can be resumed.` };
  if (r.runHit) {
    const { kind, used, limit } = r.runHit;
    return {
      status: 'budget',
      message: `${counts}; stopped by the run's ${kind} budget (${used} of ${limit}). Raise it and resume the run.`,
    };
  }
  if (r.waiting.length > 0) {
    return {
      status: 'review',
      message: `${counts}; ${r.waiting.length} ${r.checked ? 'verified task(s)' : 'task(s), not verified (no checks),'} wait for you: ${r.waiting.join(', ')}. Accept, reject or request changes.`,
    };
  }
  if (r.taskHits.length > 0) {
    const amount = (h: BudgetHit, n: number) => (h.kind === 'cost' ? n.toFixed(4) : String(n));
    const stops = r.taskHits
      .map(
        (h) =>
          `${h.taskId ?? '?'} (${amount(h, h.used)} of ${amount(h, h.limit)} ${h.kind === 'cost' ? 'cost' : 'tokens'})`,
      )
      .join(', ');
    return {
      status: 'budget',
      message: `${counts}; stopped by the per-task ${r.taskHits[0].kind} budget: ${stops}. Raise it and resume the run.`,
    };
  }
  const integrationFailed = r.integration === 'failed';
  if (r.merged > 0 && r.merged + r.rejected === r.total && !integrationFailed) {
    // Skipped checks (none configured or detected) verified nothing: the message must not say so.
    const verified = r.integration === 'passed' ? ' and verified together' : ', not verified (no checks)';
    return { status: 'completed', message: `${counts}${verified}${READY_TO_APPLY}` };
  }
  const why = integrationFailed ? 'the checks failed on the integration branch' : 'some tasks did not merge';
  return { status: 'failed', message: `${counts}; ${why}.` };
}
