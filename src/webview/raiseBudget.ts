/**
 * Raising the budget that stopped a run, as the board offers it beside Resume: which budget it is,
 * what the field starts with, and the `run/resume` request a new limit makes. No DOM, so it is
 * unit-tested in Node; raiseBudgetView.ts draws it.
 */
import type { Request, RunView } from '../protocol/panel';
import { parseCostBudget, parseTokenBudget } from './options';
import type { Parsed } from './options';

type Hit = NonNullable<RunView['budgetHit']>;
type ResumeBudgets = NonNullable<Extract<Request, { type: 'run/resume' }>['budgets']>;

/** The control for one budget-stopped run. */
export interface RaiseBudgetModel {
  runId: string;
  hit: Hit;
  /** The field's label: "Run token budget", "Per-task cost budget" …. */
  label: string;
  /** What the field starts with: the budget's limit now. */
  prefill: string;
  /** What is used against it, in words: "3,050 tokens used", "a stopped task used $0.0021". */
  usedText: string;
}

/** The control for `run`, or null unless a budget stopped it and it can be resumed. */
export function raiseBudgetModel(run: RunView): RaiseBudgetModel | null {
  const hit = run.budgetHit;
  if (run.status !== 'budget' || !run.actions.resume || !hit) return null;
  const amount = amountText(hit, hit.used);
  return {
    runId: run.runId,
    hit,
    label: `${hit.scope === 'run' ? 'Run' : 'Per-task'} ${hit.kind === 'tokens' ? 'token' : 'cost'} budget`,
    prefill: String(hit.limit),
    usedText: hit.scope === 'run' ? `${amount} used` : `a stopped task used ${amount}`,
  };
}

/**
 * The new limit typed in the field: a positive number above what is used (at or below it the run
 * would stop again at once), or why not, in words.
 */
export function parseRaisedBudget(hit: Hit, text: string): Parsed<number> {
  const parsed = hit.kind === 'tokens' ? parseTokenBudget(text) : parseCostBudget(text);
  const what = `${hit.scope === 'run' ? 'run' : 'per-task'} ${hit.kind === 'tokens' ? 'token' : 'cost'} budget`;
  const example = hit.kind === 'tokens' ? 'such as 200000 or 200k' : 'such as 2.50';
  if (!parsed.ok || parsed.value === null) return { ok: false, error: `Give a ${what} as a number, ${example}.` };
  if (parsed.value <= hit.used) {
    const who = hit.scope === 'run' ? 'The run has' : 'A stopped task has';
    const spent = hit.kind === 'tokens' ? 'used' : 'cost';
    return {
      ok: false,
      error: `${who} ${spent} ${amountText(hit, hit.used)}: give a ${what} above that, or it stops again at once.`,
    };
  }
  return { ok: true, value: parsed.value };
}

/** The resume that goes on with `limit` for the budget that stopped the run; the others stay. */
export function raisedResume(model: Pick<RaiseBudgetModel, 'runId' | 'hit'>, limit: number): Request {
  const field = RESUME_FIELD[model.hit.scope][model.hit.kind];
  return { type: 'run/resume', runId: model.runId, budgets: { [field]: limit } };
}

/** Which field of `run/resume`'s budgets sets each budget. */
const RESUME_FIELD: Record<Hit['scope'], Record<Hit['kind'], keyof ResumeBudgets>> = {
  run: { tokens: 'tokens', cost: 'cost' },
  task: { tokens: 'taskTokens', cost: 'taskCost' },
};

/** Tokens exactly ("3,050 tokens"), or a cost to six significant digits ("$0.00602"). */
function amountText(hit: Hit, n: number): string {
  if (hit.kind === 'tokens') return `${Math.round(n).toLocaleString('en-US')} tokens`;
  return `$${Number(n.toPrecision(6))}`;
}
