/**
 * Budgets: limits on the tokens and money a run, and each of its tasks, may spend. The guard reads
 * a Ledger's live totals, so a check is O(1) and can run before every model request.
 */
import type { BudgetHit } from './journal';
import type { Ledger, TokenTotals } from './ledger';

/**
 * Limits of a run; null means no limit. Tokens are input + output, cached prompt tokens counted as
 * input; cost is in the price table's currency.
 */
export interface Budgets {
  runTokens: number | null;
  runCost: number | null;
  taskTokens: number | null;
  taskCost: number | null;
}

/** No limits at all. */
export const NO_BUDGETS: Readonly<Budgets> = { runTokens: null, runCost: null, taskTokens: null, taskCost: null };

/** The tokens a budget counts in `totals`: input (cached included) plus output. */
export function budgetTokens(totals: Readonly<TokenTotals>): number {
  return totals.input + totals.output;
}

/** True when some limit is set. */
export function hasBudgets(budgets: Readonly<Budgets>): boolean {
  return (
    budgets.runTokens !== null || budgets.runCost !== null || budgets.taskTokens !== null || budgets.taskCost !== null
  );
}

/**
 * The first limit of one scope that `totals` has reached (`used >= limit`): tokens before cost.
 * Unpriced spending (cost null) never reaches a cost limit.
 */
function reached(
  scope: 'run' | 'task',
  taskId: string | undefined,
  tokenLimit: number | null,
  costLimit: number | null,
  totals: Readonly<TokenTotals>,
): BudgetHit | null {
  const tokens = budgetTokens(totals);
  if (tokenLimit !== null && tokens >= tokenLimit) return makeHit(scope, taskId, 'tokens', tokenLimit, tokens);
  if (costLimit !== null && totals.cost !== null && totals.cost >= costLimit)
    return makeHit(scope, taskId, 'cost', costLimit, totals.cost);
  return null;
}

function makeHit(
  scope: 'run' | 'task',
  taskId: string | undefined,
  kind: 'tokens' | 'cost',
  limit: number,
  used: number,
): BudgetHit {
  return taskId === undefined ? { scope, kind, limit, used } : { scope, taskId, kind, limit, used };
}

/**
 * Whether a run estimated at `estimate` (plus what is `alreadyUsed`, for a resumed run) would go
 * over the run budget: the first run limit the projection exceeds (`used > limit`), tokens before
 * cost, else null. An estimate without a cost never exceeds a cost limit.
 */
export function projectedHit(
  budgets: Readonly<Budgets>,
  estimate: Readonly<TokenTotals>,
  alreadyUsed?: Readonly<TokenTotals>,
): BudgetHit | null {
  const tokens = budgetTokens(estimate) + (alreadyUsed ? budgetTokens(alreadyUsed) : 0);
  if (budgets.runTokens !== null && tokens > budgets.runTokens)
    return makeHit('run', undefined, 'tokens', budgets.runTokens, tokens);
  if (budgets.runCost !== null && estimate.cost !== null) {
    const cost = estimate.cost + (alreadyUsed?.cost ?? 0);
    if (cost > budgets.runCost) return makeHit('run', undefined, 'cost', budgets.runCost, cost);
  }
  return null;
}

/**
 * Checks a Ledger against Budgets. The ledger keeps counting as the run goes; the guard holds no
 * state of its own, so it can be built at any time (for a resumed run, over a ledger rebuilt from
 * the journal).
 */
export class BudgetGuard {
  constructor(
    private readonly ledger: Ledger,
    readonly budgets: Readonly<Budgets>,
  ) {}

  /**
   * Call before a new request: the run's budget is checked first, then (when `taskId` is given)
   * the task's. Returns the limit reached, or null when the request may go.
   */
  check(taskId: string | null): BudgetHit | null {
    const b = this.budgets;
    const runHit = reached('run', undefined, b.runTokens, b.runCost, this.ledger.run);
    if (runHit || taskId === null) return runHit;
    return reached('task', taskId, b.taskTokens, b.taskCost, this.ledger.task(taskId));
  }

  /**
   * Every limit reached now, for the scheduler: the run's hit first (if any), then one hit per
   * task over its own budget, in order of the tasks' first requests.
   */
  checkAll(): BudgetHit[] {
    const b = this.budgets;
    const hits: BudgetHit[] = [];
    const runHit = reached('run', undefined, b.runTokens, b.runCost, this.ledger.run);
    if (runHit) hits.push(runHit);
    if (b.taskTokens === null && b.taskCost === null) return hits;
    for (const [taskId, totals] of this.ledger.byTask()) {
      const hit = reached('task', taskId, b.taskTokens, b.taskCost, totals);
      if (hit) hits.push(hit);
    }
    return hits;
  }

  /** {@link projectedHit} of `estimate` on top of what the ledger has already counted. */
  projectedHit(estimate: Readonly<TokenTotals>): BudgetHit | null {
    return projectedHit(this.budgets, estimate, this.ledger.run);
  }
}
