/**
 * The Lead panel's run options (backend and model, concurrency, run budgets, hold for review):
 * defaults from the editor's settings, with the developer's own choices layered on top and
 * remembered per workspace. Also the bridge from the editor's settings and these options to the
 * settings the shared workspace code (src/app/workspace.ts) builds an engine from.
 */
import type { PriceTable } from '../core/ledger';
import { RunOptions } from '../protocol/panel';
import type { BackendSetting, LeadSettings } from './leadHost';
import type { Settings, TelemetrySettings } from './settings';

/** Where the choices and the spec draft are remembered (LeadHost.memory). */
export const MEMORY_KEYS = { options: 'foreman.lead.options', spec: 'foreman.lead.spec' } as const;

/** The wall-time limit of one task's agent, as the CLI has it. */
const TASK_WALL_MS = 30 * 60_000;
/** The time limit of the worktree set-up command, as the CLI has it. */
const SETUP_TIMEOUT_MS = 10 * 60_000;

/**
 * The options the settings give before the developer chooses anything: the default backend (by
 * name, among `available`, which holds the demo too), else the first configured one, else none.
 */
export function defaultOptions(settings: LeadSettings, available: readonly BackendSetting[]): RunOptions {
  const backend = available.find((b) => b.name === settings.defaultBackend) ?? settings.backends[0] ?? null;
  return {
    backend: backend?.name ?? null,
    model: backend?.models[0] ?? null,
    concurrency: clampConcurrency(settings.concurrency),
    budgetTokens: positiveOrNull(settings.budgets.runTokens),
    budgetCost: positiveOrNull(settings.budgets.runCost),
    holdForReview: settings.holdForReview,
  };
}

/**
 * The options in effect: the developer's choices over the defaults. A chosen backend that is no
 * longer configured falls back to the default (and its model with it).
 */
export function effectiveOptions(
  defaults: RunOptions,
  chosen: Partial<RunOptions>,
  known: (name: string) => BackendSetting | null,
): RunOptions {
  const merged: RunOptions = { ...defaults, ...chosen };
  if (merged.backend !== null && known(merged.backend) === null) {
    merged.backend = defaults.backend;
    merged.model = defaults.model;
  }
  if (merged.backend === null) merged.model = null;
  return merged;
}

/** Choices read back from the workspace's memory; anything no longer valid is forgotten. */
export function storedChoices(value: unknown): Partial<RunOptions> {
  const parsed = RunOptions.partial().safeParse(value ?? {});
  return parsed.success ? parsed.data : {};
}

/**
 * Fold a change into the developer's choices. Choosing another backend without a model picks its
 * first model. Returns an error text when the change is not valid.
 */
export function applyChange(
  chosen: Partial<RunOptions>,
  change: unknown,
  known: (name: string) => BackendSetting | null,
): Partial<RunOptions> | string {
  const parsed = RunOptions.partial().safeParse(change);
  if (!parsed.success)
    return `Those run options are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
  const next: Partial<RunOptions> = { ...chosen, ...parsed.data };
  if (parsed.data.backend !== undefined && parsed.data.backend !== null) {
    const backend = known(parsed.data.backend);
    if (!backend)
      return `There is no backend named "${parsed.data.backend}": add it first, or choose one of those listed.`;
    if (parsed.data.model === undefined) next.model = backend.models[0] ?? null;
  }
  return next;
}

/**
 * The shared settings for a run from the editor's settings, the panel's options and the chosen
 * backend's prices. The backend itself is not in it: the model client is built apart, so no key
 * ever sits in a settings object.
 */
export function runSettings(settings: LeadSettings, options: RunOptions, prices: PriceTable): Settings {
  return {
    backend: null,
    backendOptions: null,
    fabric: null,
    prices,
    concurrency: options.concurrency,
    budgets: {
      runTokens: options.budgetTokens,
      runCost: options.budgetCost,
      taskTokens: settings.budgets.taskTokens,
      taskCost: settings.budgets.taskCost,
    },
    checks: settings.checks,
    setup: { command: settings.setup.command, include: settings.setup.include, timeoutMs: SETUP_TIMEOUT_MS },
    commandPolicy: settings.commandPolicy,
    notices: [],
    dirty: settings.dirty,
    worktreeRoot: settings.worktreeRoot,
    retention: settings.retention,
    review: settings.review,
    hold: options.holdForReview,
    limits: { maxSteps: settings.maxSteps, maxTokens: null, maxWallMs: TASK_WALL_MS },
    maxRepairRounds: settings.maxRepairRounds,
    sandbox: settings.sandbox,
    telemetry: telemetryOf(settings.backends.find((b) => b.name === options.backend)),
  };
}

/** What a configured backend says about its telemetry (the demo and unknown names: the defaults). */
function telemetryOf(backend: BackendSetting | undefined): TelemetrySettings {
  return { metricsUrl: backend?.metricsUrl, energy: backend?.energy ?? null };
}

function clampConcurrency(n: number): number {
  return Number.isFinite(n) ? Math.min(256, Math.max(1, Math.round(n))) : 4;
}

function positiveOrNull(n: number | null): number | null {
  return n !== null && n > 0 ? n : null;
}
