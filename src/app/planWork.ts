/**
 * Planning a spec for a headless front end (`foreman plan` and `run`, the MCP server): the planner
 * against the repository's view, and the estimate of the plan's run, the same way for each.
 */
import type { RunEstimate } from '../core/estimate';
import { priceFor } from '../core/ledger';
import type { ModelClient, ModelResponse } from '../core/model';
import { planSpec } from '../core/planner';
import type { PlanOutcome } from '../core/planner';
import { CostHistory } from './costHistory';
import { estimatePlan, promptPrefixTokens } from './planDraft';
import type { PlannedWork } from './runLauncher';
import type { Settings } from './settings';

/** What planning gave: the plan, or the planner's failure (PlanOutcome's), with its requests either way. */
export type PlanResult =
  | ({ ok: true; repaired: boolean; notes: string[] } & PlannedWork)
  | (Extract<PlanOutcome, { ok: false }> & { responses: ModelResponse[] });

/** Plan `spec` against `repoView` with `model`; `signal` cancels the planner's request. */
export async function planWork(
  spec: string,
  repoView: string,
  model: ModelClient,
  opts: { maxTasks?: number; signal?: AbortSignal } = {},
): Promise<PlanResult> {
  const responses: ModelResponse[] = [];
  const outcome = await planSpec({
    spec,
    repoView,
    model,
    maxTasks: opts.maxTasks,
    signal: opts.signal,
    onResponse: (r) => responses.push(r),
  });
  if (!outcome.ok) return { ...outcome, responses };
  return { ok: true, repaired: outcome.repaired, notes: outcome.notes, plan: outcome.plan, repoView, responses };
}

/**
 * The run's estimated tokens and cost, from the shared prompt prefix, the price table and what
 * agent steps cost in this repository's finished runs (or, before it has any, its files' size).
 */
export async function estimateWork(
  settings: Settings,
  work: Pick<PlannedWork, 'plan' | 'repoView'>,
  model: string,
  repo: { root: string; stateDir: string },
  history: CostHistory = new CostHistory(),
): Promise<RunEstimate> {
  return estimatePlan(work.plan, promptPrefixTokens(work.plan, work.repoView), {
    price: priceFor(settings.prices, model),
    profile: await history.profile(repo),
    review: settings.review,
  });
}
