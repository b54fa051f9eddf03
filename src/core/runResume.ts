/**
 * Resuming a run from its journal: what it starts from (plan, repository view, base, and the merge
 * policy it was started with), and which of its tasks go again. Merged tasks stay merged, verified
 * ones stay verified (the engine merges them, unless the run holds them for review), tasks that
 * were in flight are marked interrupted and continue in their worktrees with their conversations,
 * and stopped or blocked ones are queued again. Failed and rejected tasks stay as they are.
 */
import type { JournalEvent, RunSettings } from './journal';
import type { Plan } from './plan';
import { RESUMED_NOTE } from './prompts';
import type { RunHost } from './runHost';
import { reduceJournal } from './runState';
import { continuedSettings } from './runSettings';
import type { SettingsOverrides } from './runSettings';
import type { RunConfig } from './runTypes';
import { FINAL_TASK_STATUSES, KEPT_ON_RESUME_TASK_STATUSES } from './statusSets';
import type { TaskProgress } from './taskPipeline';

/** What a resumed run starts from, read from its journal. */
export interface ResumePoint {
  /**
   * The caller's settings, with the run's own concurrency, budgets, prices and merge policy from
   * its journal (and the developer's explicit overrides applied to them).
   */
  config: RunConfig;
  /** The developer's changes to the run's recorded settings, in words; empty when there are none. */
  changes: string[];
  /** What the run goes on with, when any change was made. */
  settings: RunSettings | null;
  plan: Plan;
  repoView: string;
  base: string;
}

/**
 * Read where a run resumes from. Throws when the journal has no plan or no base commit (the run
 * never really started); the repository view falls back to `fallbackRepoView` for journals that
 * did not record one. The run goes on with its recorded concurrency, budgets and prices (the
 * caller's `config` stands in only where the journal has none), changed only by `overrides`
 * and by the backend it is continued on (`backend`).
 */
export function resumePoint(
  config: RunConfig,
  history: JournalEvent[],
  fallbackRepoView: string,
  backend: { endpoint: string; model: string },
  overrides: SettingsOverrides = {},
): ResumePoint {
  const before = reduceJournal(history);
  let repoView = fallbackRepoView;
  for (const e of history) if (e.type === 'plan' && e.repoView !== undefined) repoView = e.repoView;
  if (!before.plan) throw new Error(`run ${config.runId} has no plan in its journal; it cannot be resumed`);
  if (!before.base) throw new Error(`run ${config.runId} has no base commit in its journal; it cannot be resumed`);
  // A run keeps the merge policy it was started with.
  const kept = { ...config, autoMerge: before.settings?.autoMerge ?? config.autoMerge };
  if (!before.settings)
    return { config: kept, plan: before.plan, repoView, base: before.base, changes: [], settings: null };
  const next = continuedSettings(before.settings, backend, overrides, config.prices);
  const { concurrency, budgets, prices } = next.settings;
  return {
    config: { ...kept, concurrency, budgets, prices: prices ?? config.prices },
    plan: before.plan,
    repoView,
    base: before.base,
    changes: next.changes,
    settings: next.changes.length ? next.settings : null,
  };
}

/**
 * Restore one task's progress from the journal's state and, unless a resume leaves it as it is,
 * queue it again: in flight, it is first marked interrupted; with a worktree, it continues there
 * with a note saying the run was resumed.
 */
export function requeueOnResume(host: RunHost, taskId: string, progress: TaskProgress): void {
  const t = host.state.tasks.get(taskId);
  if (!t) return;
  progress.steps = t.step;
  progress.tokens = t.usage.input + t.usage.output;
  if (t.worktree && t.branch && t.from) progress.worktree = { path: t.worktree, branch: t.branch, from: t.from };
  if (KEPT_ON_RESUME_TASK_STATUSES.has(t.status)) return;
  if (!FINAL_TASK_STATUSES.has(t.status)) {
    host.emit({ type: 'task_status', taskId, status: 'interrupted', reason: `was ${t.status} when the run stopped` });
  }
  if (progress.worktree) progress.pendingNote = RESUMED_NOTE;
  host.emit({ type: 'task_status', taskId, status: 'queued', reason: 'resumed' });
}
