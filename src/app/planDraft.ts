/**
 * A plan under review: the planner's plan as the developer edits it, validated with the core's
 * plan validation after every edit (problems listed, the draft kept so they can be fixed), with
 * its overlap warnings and its estimate. Shared by the Lead panel and the CLI (the estimate).
 */
import { projectedHit } from '../core/budget';
import type { Budgets } from '../core/budget';
import { estimateRun } from '../core/estimate';
import type { RunEstimate } from '../core/estimate';
import { addUsage, costOf, emptyTotals, priceFor } from '../core/ledger';
import type { Price, PriceTable, TokenTotals } from '../core/ledger';
import type { ModelResponse } from '../core/model';
import type { Plan, TaskSpec } from '../core/plan';
import { validatePlan } from '../core/planGraph';
import { agentSystemPrompt } from '../core/prompts';
import { estimateTokens } from '../infra/tokenEstimate';
import type { PlanView } from '../protocol/panel';
import { usageOf } from './panelView';

/** A plan being reviewed. Replaced (never mutated) on every change. */
export interface PlanDraft {
  spec: string;
  /** The tasks as the developer has them now (normalised when valid). */
  tasks: TaskSpec[];
  /** The validated plan; null while `errors` is not empty. */
  plan: Plan | null;
  errors: string[];
  /** The repository view the planner saw; every agent's prompt holds it. */
  repoView: string;
  /** Tokens of the prompt prefix every agent shares, for the estimate; null while invalid. */
  prefixTokens: number | null;
  /** Every planner response so far (planning and re-planning), booked in the run's ledger. */
  responses: ModelResponse[];
  plannerUsage: TokenTotals;
}

/** Tokens of the system prompt every agent of a run of `plan` starts with. */
export function promptPrefixTokens(plan: Plan, repoView: string): number {
  return estimateTokens(agentSystemPrompt(plan, repoView));
}

/** The estimate of a run of `plan` (see core/estimate.ts for the assumptions). */
export function estimatePlan(plan: Plan, prefixTokens: number, price: Price | null): RunEstimate {
  return estimateRun(plan, { prefixTokens, price: price ?? undefined });
}

/** A draft of a fresh plan from the planner. `prices` prices the planner's requests. */
export function newDraft(
  plan: Plan,
  repoView: string,
  responses: ModelResponse[],
  prices: PriceTable,
  earlier?: PlanDraft,
): PlanDraft {
  const all = [...(earlier?.responses ?? []), ...responses];
  return {
    spec: plan.spec,
    tasks: plan.tasks,
    plan,
    errors: [],
    repoView,
    prefixTokens: promptPrefixTokens(plan, repoView),
    responses: all,
    plannerUsage: plannerTotals(all, prices),
  };
}

/** The draft with the developer's edited task list: validated again, estimate recomputed. */
export function editDraft(draft: PlanDraft, tasks: TaskSpec[], maxTasks: number): PlanDraft {
  const checked = validatePlan({ tasks }, draft.spec, { maxTasks });
  if (!checked.ok) return { ...draft, tasks, plan: null, errors: checked.errors, prefixTokens: null };
  const plan = checked.plan;
  return { ...draft, tasks: plan.tasks, plan, errors: [], prefixTokens: promptPrefixTokens(plan, draft.repoView) };
}

/** The draft as the panel shows it, estimated with the current price and budgets. */
export function planViewOf(draft: PlanDraft, price: Price | null, budgets: Budgets): PlanView {
  const plan = draft.plan;
  let estimate: PlanView['estimate'] = null;
  if (plan && draft.prefixTokens !== null) {
    const e = estimatePlan(plan, draft.prefixTokens, price);
    estimate = { ...e.total, assumptions: e.assumptions, overBudget: overBudgetText(budgets, e) };
  }
  return {
    spec: draft.spec,
    tasks: draft.tasks,
    warnings: (plan?.warnings ?? []).map((w) => ({ tasks: w.tasks, files: w.files, message: w.message })),
    errors: draft.errors,
    estimate,
    plannerUsage: usageOf(draft.plannerUsage),
  };
}

/** Which run budget the estimate goes over, in words; null when none. */
export function overBudgetText(budgets: Budgets, estimate: RunEstimate): string | null {
  const t = estimate.total;
  const hit = projectedHit(budgets, {
    ...emptyTotals(),
    input: t.input,
    cached: t.cached,
    output: t.output,
    cost: t.cost,
  });
  if (!hit) return null;
  const after = 'the run stops when it reaches the budget, keeping the work done';
  if (hit.kind === 'cost')
    return `The estimated cost (${hit.used.toFixed(4)}) is over the run's cost budget of ${hit.limit}; ${after}.`;
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return `The estimate (~${n(hit.used)} tokens) is over the run's token budget of ${n(hit.limit)}; ${after}.`;
}

function plannerTotals(responses: ModelResponse[], prices: PriceTable): TokenTotals {
  const totals = emptyTotals();
  for (const r of responses) addUsage(totals, r.usage, costOf(r.usage, priceFor(prices, r.model)), r.timing);
  return totals;
}
