/**
 * Continuing a recorded run from the command line (`foreman run --resume`, `accept`, `reject`,
 * `revise`): the run goes on with the backend, model, budgets and prices in its journal
 * (core/runSettings.ts). Only the command line's own flags change them: they are the developer's
 * explicit choice for this run, while the environment and foreman.json are defaults for new runs.
 */
import type { Budgets } from '../core/budget';
import type { RunSettings } from '../core/journal';
import type { SettingsOverrides } from '../core/runSettings';
import { publicEndpoint } from '../infra/openaiClient';
import type { BackendConfig } from '../infra/openaiClient';
import type { SettingFlags, Settings } from './settings';

/** The backend a continued run uses, and a line to show when the defaults name another one. */
export interface ContinuedBackend {
  config: BackendConfig;
  note: string | null;
}

/**
 * The run's recorded backend and model, unless `--base-url` or `--model` names others. The
 * connection options (key, headers, time-outs) are the current ones; where the configured backend
 * is the recorded one, its full URL is used (the record has no query string).
 */
export function continuedBackend(settings: Settings, flags: SettingFlags, recorded: RunSettings): ContinuedBackend {
  const current = settings.backend;
  const same = current !== null && publicEndpoint(current.baseUrl) === recorded.endpoint;
  const baseUrl = flags.baseUrl ?? (same ? current.baseUrl : recorded.endpoint);
  const model = flags.model ?? recorded.model;
  let note: string | null = null;
  if (current && flags.baseUrl === undefined && !same)
    note = `The run keeps its backend ${recorded.endpoint}; your environment or foreman.json names ${publicEndpoint(current.baseUrl)} (pass --base-url to move the run there).`;
  else if (current && flags.model === undefined && current.model !== recorded.model)
    note = `The run keeps its model ${recorded.model}; your environment or foreman.json names ${current.model} (pass --model to switch the run to it).`;
  const options = settings.backendOptions ?? {};
  // One request in flight per agent of the run, unless --max-requests or foreman.json names a limit.
  const maxConcurrentRequests = options.maxConcurrentRequests ?? flags.concurrency ?? recorded.concurrency;
  return { config: { ...options, baseUrl, model, maxConcurrentRequests }, note };
}

const BUDGET_FLAGS: [keyof SettingFlags, keyof Budgets][] = [
  ['budgetTokens', 'runTokens'],
  ['budgetCost', 'runCost'],
  ['taskBudgetTokens', 'taskTokens'],
  ['taskBudgetCost', 'taskCost'],
];

/** The changes the command line's flags ask for; `--price` prices `model`, the model the run goes on with. */
export function explicitOverrides(flags: SettingFlags, model: string): SettingsOverrides {
  const budgets: Partial<Budgets> = {};
  for (const [flag, key] of BUDGET_FLAGS) {
    const value = flags[flag];
    if (typeof value === 'number') budgets[key] = value;
  }
  return {
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(Object.keys(budgets).length ? { budgets } : {}),
    ...(flags.price ? { prices: { [model]: flags.price } } : {}),
  };
}
