/**
 * A run's own settings when it goes on: a resume, an accept or a revise continues with the
 * backend, model, concurrency, budgets and prices the run has in its journal, not with whatever
 * the front end would give a new run. Only what the developer asks for explicitly (a new budget
 * on the command line, another backend) changes them; the engine records such a change in the
 * journal (`settings_changed`) with the change in words, and the front ends show those words.
 */
import type { Budgets } from './budget';
import type { RunSettings } from './journal';
import { priceFor } from './ledger';
import type { Price, PriceTable } from './ledger';

/** What the developer explicitly changes when continuing a run; absent fields keep the run's own. */
export interface SettingsOverrides {
  concurrency?: number;
  /** Budgets to replace (null removes that limit). */
  budgets?: Partial<Budgets>;
  /** Prices to add or replace, by model name (`"*"` for every model not named). */
  prices?: PriceTable;
}

/** The settings a run goes on with, and each change from the recorded ones in words. */
export interface ContinuedSettings {
  settings: RunSettings;
  changes: string[];
}

const BUDGET_NAMES: Record<keyof Budgets, string> = {
  runTokens: 'run token budget',
  runCost: 'run cost budget',
  taskTokens: 'per-task token budget',
  taskCost: 'per-task cost budget',
};

/**
 * The run's recorded settings with `overrides` and the backend it is continued on (`backend`:
 * the model client's endpoint and model) applied. `fallbackPrices` stands in for prices a journal
 * written before runs kept them does not have.
 */
export function continuedSettings(
  recorded: RunSettings,
  backend: { endpoint: string; model: string },
  overrides: SettingsOverrides,
  fallbackPrices: PriceTable,
): ContinuedSettings {
  const changes: string[] = [];
  const prices = { ...(recorded.prices ?? fallbackPrices) };
  for (const [model, price] of Object.entries(overrides.prices ?? {})) {
    const before = Object.prototype.hasOwnProperty.call(prices, model) ? prices[model] : null;
    if (before && samePrice(before, price)) continue;
    changes.push(
      `price of ${model === '*' ? 'every other model' : model}: ${priceWords(before)} → ${priceWords(price)}`,
    );
    prices[model] = price;
  }
  const budgets = { ...recorded.budgets };
  for (const key of Object.keys(BUDGET_NAMES) as (keyof Budgets)[]) {
    const next = overrides.budgets?.[key];
    if (next === undefined || next === budgets[key]) continue;
    changes.push(`${BUDGET_NAMES[key]}: ${limitWords(budgets[key])} → ${limitWords(next)}`);
    budgets[key] = next;
  }
  const concurrency = overrides.concurrency ?? recorded.concurrency;
  if (concurrency !== recorded.concurrency) changes.push(`concurrency: ${recorded.concurrency} → ${concurrency}`);
  if (backend.endpoint !== recorded.endpoint) changes.push(`backend: ${recorded.endpoint} → ${backend.endpoint}`);
  if (backend.model !== recorded.model) changes.push(`model: ${recorded.model} → ${backend.model}`);
  return {
    settings: { ...recorded, endpoint: backend.endpoint, model: backend.model, concurrency, budgets, prices },
    changes,
  };
}

/** A recorded run's settings in one line, for a front end to show when it continues the run. */
export function describeSettings(settings: RunSettings): string {
  const b = settings.budgets;
  const limits = (Object.keys(BUDGET_NAMES) as (keyof Budgets)[])
    .filter((k) => b[k] !== null)
    .map((k) => `${BUDGET_NAMES[k]} ${limitWords(b[k])}`);
  const price = settings.prices ? priceFor(settings.prices, settings.model) : undefined;
  const priced =
    price === undefined ? 'prices not recorded' : price === null ? 'no price' : `priced ${priceWords(price)}`;
  return `model ${settings.model} at ${settings.endpoint}, ${priced}, ${limits.length ? limits.join(', ') : 'no budget'}`;
}

function samePrice(a: Price, b: Price): boolean {
  return a.input === b.input && a.cachedInput === b.cachedInput && a.output === b.output;
}

function priceWords(p: Price | null): string {
  return p ? `${p.input} in, ${p.cachedInput} cached, ${p.output} out per million tokens` : 'none';
}

function limitWords(n: number | null): string {
  return n === null ? 'none' : String(n);
}
