/**
 * A plan under review: the planner's plan as the developer edits it, validated with the core's
 * plan validation after every edit (problems listed, the draft kept so they can be fixed), with
 * its overlap warnings and its estimate. Shared by the Lead panel and the CLI (the estimate).
 */
import { projectedHit } from '../core/budget';
import type { Budgets } from '../core/budget';
import { estimateRun, PRIOR_PROFILE } from '../core/estimate';
import type { RunEstimate, StepProfile } from '../core/estimate';
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
  /** What agent steps cost in this repository (learned from its finished runs), for the estimate. */
  profile: StepProfile;
}

/** What the estimate needs besides the plan. */
export interface EstimateContext {
  price: Price | null;
  /** Learned from the repository's finished runs (app/costHistory.ts); the prior when absent. */
  profile?: StepProfile;
  /** Whether each task gets a model review. */
  review: boolean;
}

/** Tokens of the system prompt every agent of a run of `plan` starts with. */
export function promptPrefixTokens(plan: Plan, repoView: string): number {
  return estimateTokens(agentSystemPrompt(plan, repoView));
}

/** The estimate of a run of `plan` (see core/estimate.ts for the model and its assumptions). */
export function estimatePlan(plan: Plan, prefixTokens: number, context: EstimateContext): RunEstimate {
  return estimateRun(plan, {
    prefixTokens,
    price: context.price ?? undefined,
    profile: context.profile,
    review: context.review,
  });
}

/**
 * A draft of a fresh plan from the planner. `prices` prices the planner's requests; `profile` is
 * what agent steps cost in this repository (the prior when it has no finished runs).
 */
export function newDraft(
  plan: Plan,
  repoView: string,
  responses: ModelResponse[],
  prices: PriceTable,
  earlier?: PlanDraft,
  profile: StepProfile = PRIOR_PROFILE,
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
    profile,
  };
}

/** The draft with the developer's edited task list: validated again, estimate recomputed. */
export function editDraft(draft: PlanDraft, tasks: TaskSpec[], maxTasks: number): PlanDraft {
  const checked = validatePlan({ tasks }, draft.spec, { maxTasks });
  if (!checked.ok) return { ...draft, tasks, plan: null, errors: checked.errors, prefixTokens: null };
  const plan = checked.plan;
  return { ...draft, tasks: plan.tasks, plan, errors: [], prefixTokens: promptPrefixTokens(plan, draft.repoView) };
}

/** The draft as the panel shows it, estimated with the current price, review choice and budgets. */
export function planViewOf(draft: PlanDraft, price: Price | null, budgets: Budgets, review = false): PlanView {
  const plan = draft.plan;
  let estimate: PlanView['estimate'] = null;
  if (plan && draft.prefixTokens !== null) {
    const e = estimatePlan(plan, draft.prefixTokens, { price, profile: draft.profile, review });
    estimate = {
      ...e.total,
      low: rangeEnd(e.low),
      high: rangeEnd(e.high),
      basis: e.basis,
      assumptions: e.assumptions,
      overBudget: overBudgetText(budgets, e),
    };
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

function rangeEnd(t: RunEstimate['low']): { tokens: number; cost: number | null } {
  return { tokens: t.input + t.output, cost: t.cost };
}

/**
 * Which run budget the estimate goes over, in words; null when none. The middle over a budget
 * says "is over"; only the high end over it says "may go over".
 */
export function overBudgetText(budgets: Budgets, estimate: RunEstimate): string | null {
  const hitOf = (t: RunEstimate['total']) =>
    projectedHit(budgets, { ...emptyTotals(), input: t.input, cached: t.cached, output: t.output, cost: t.cost });
  const mid = hitOf(estimate.total);
  const hit = mid ?? hitOf(estimate.high);
  if (!hit) return null;
  const after = 'the run stops when it reaches the budget, keeping the work done';
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const used = hit.kind === 'cost' ? `cost ${Number(hit.used.toPrecision(3))}` : `~${n(hit.used)} tokens`;
  const limit = hit.kind === 'cost' ? `cost budget of ${hit.limit}` : `token budget of ${n(hit.limit)}`;
  if (mid) return `The estimate (${used}) is over the run's ${limit}; ${after}.`;
  return `The high end of the estimate (${used}) is over the run's ${limit}: the run may reach it; ${after}.`;
}

function plannerTotals(responses: ModelResponse[], prices: PriceTable): TokenTotals {
  const totals = emptyTotals();
  for (const r of responses) addUsage(totals, r.usage, costOf(r.usage, priceFor(prices, r.model)), r.timing);
  return totals;
}
