/**
 * The Lead panel's one protocol, shared by the extension host and the webview. The host owns all
 * state and sends it whole as `state/didChange` (at most about ten times a second, however many
 * agents stream); the webview renders it and keeps only UI state (what is expanded, what is being
 * typed). The webview asks for everything with a request; the host answers every request with
 * `request/didFinish`, errors included (with their typed reason, never only as text). Both sides
 * validate what they receive with these schemas.
 *
 * Everything here is data: model output, file names and messages are plain strings, to be
 * rendered as text, never as HTML.
 */
import { z } from 'zod';
import { LEAD_ERROR_REASONS } from './constants';

// ---------------------------------------------------------------------------------------------
// The panel's state (host → webview)
// ---------------------------------------------------------------------------------------------

/** A task's state on the board (the engine's task statuses). */
export const TaskStatus = z.enum([
  'queued',
  'setting_up',
  'working',
  'verifying',
  'verified',
  'merged',
  'failed',
  'blocked',
  'stopped',
  'rejected',
  'interrupted',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

/**
 * Where a run stands: the engine's run statuses, and `applied` once its work is on the developer's
 * branch (core/runState.ts `runPhase`).
 */
export const RunStatus = z.enum([
  'running',
  'completed',
  'failed',
  'stopped',
  'budget',
  'review',
  'interrupted',
  'applied',
]);
export type RunStatus = z.infer<typeof RunStatus>;

/**
 * Token counts and cost. `cost` sums the priced requests: null when none had a price. `unpriced`
 * says some requests used tokens without a price, so the cost is missing or only part of it.
 */
export const Usage = z.object({
  input: z.number(),
  cached: z.number(),
  output: z.number(),
  cost: z.number().nullable(),
  unpriced: z.boolean(),
  /** True when some count is a tokenizer estimate (the server reported no usage). */
  estimated: z.boolean(),
});
export type Usage = z.infer<typeof Usage>;

/** One task of a plan, as the developer edits it. Mirrors the engine's TaskSpec. */
export const PlanTask = z.object({
  id: z.string(),
  title: z.string(),
  instructions: z.string(),
  acceptance: z.array(z.string()),
  files: z.array(z.string()),
  dependsOn: z.array(z.string()),
});
export type PlanTask = z.infer<typeof PlanTask>;

/** A plan under review, before it runs. */
export const PlanView = z.object({
  spec: z.string(),
  tasks: z.array(PlanTask),
  /** The planner's warnings (tasks touching the same files), recomputed after every edit. */
  warnings: z.array(z.object({ tasks: z.array(z.string()), files: z.array(z.string()), message: z.string() })),
  /** Problems that stop the plan from running (a cycle, an unknown dependency, a blank title). */
  errors: z.array(z.string()),
  /** The estimate for the plan as it stands; null while it is invalid. */
  estimate: z
    .object({
      input: z.number(),
      cached: z.number(),
      output: z.number(),
      cost: z.number().nullable(),
      /** The low and high ends of the range (tokens = input + output, as budgets count them). */
      low: z.object({ tokens: z.number(), cost: z.number().nullable() }),
      high: z.object({ tokens: z.number(), cost: z.number().nullable() }),
      /** 'history': learned from the repository's finished runs; 'prior': assumed (none yet). */
      basis: z.enum(['history', 'prior']),
      /** The assumptions behind the numbers, for people. */
      assumptions: z.string(),
      /** Set when the estimate is over a budget: which, in words. */
      overBudget: z.string().nullable(),
    })
    .nullable(),
  /** Planner tokens spent so far (planning and re-planning). */
  plannerUsage: Usage,
});
export type PlanView = z.infer<typeof PlanView>;

/**
 * How a verification, or one check, ended: `stopped` when the developer stopped it (it says nothing
 * about the work), `skipped` when it did not run (no checks, or an earlier one failed).
 */
export const VerificationStatus = z.enum(['passed', 'failed', 'skipped', 'stopped']);
export type VerificationStatus = z.infer<typeof VerificationStatus>;

/** One verification command's result. `output` is the bounded tail of its output. */
export const CheckView = z.object({
  name: z.string(),
  command: z.string(),
  status: VerificationStatus,
  exitCode: z.number().nullable(),
  durationMs: z.number(),
  reason: z.string().nullable(),
});
export type CheckView = z.infer<typeof CheckView>;

/** The latest verification of a task or of the integration branch. */
export const VerificationView = z.object({
  status: VerificationStatus,
  round: z.number(),
  checks: z.array(CheckView),
});
export type VerificationView = z.infer<typeof VerificationView>;

/** A command the task's agent waits to have approved (the command policy asked). */
export const AskView = z.object({
  /** The group's key: the answer settles every task waiting on the same command under the same rule. */
  key: z.string(),
  /** The simple command the rule asked about, and the whole line it is part of. */
  command: z.string(),
  line: z.string(),
  rule: z.string(),
  why: z.string(),
  askedAt: z.number(),
  /** When it is refused unanswered; null when this window does not drive the run. */
  expiresAt: z.number().nullable(),
  /** Other tasks waiting on the same command. */
  others: z.array(z.string()),
  /** Whether this window can answer (it drives the run). */
  answerable: z.boolean(),
});
export type AskView = z.infer<typeof AskView>;

/** What the agent changed in one round: files, and lines added and removed (binary files count no lines). */
export const DiffStat = z.object({
  files: z.array(z.string()),
  added: z.number(),
  removed: z.number(),
});
export type DiffStat = z.infer<typeof DiffStat>;

/** A task sent back by the developer: the latest request and what the agent has changed since. */
export const ChangeRound = z.object({
  /** How many times changes were requested of the task (this is the latest). */
  requests: z.number(),
  comments: z.string(),
  /**
   * The task branch's commits since the request against its commit before it; null while the
   * agent has committed nothing new, or while the lines are being counted (`committed` tells).
   */
  diff: DiffStat.nullable(),
  /** The agent committed work after the request. */
  committed: z.boolean(),
});
export type ChangeRound = z.infer<typeof ChangeRound>;

/** One row of the board. */
export const TaskRow = z.object({
  id: z.string(),
  title: z.string(),
  status: TaskStatus,
  /** Why it is in that status (a failure, a block, a stop), when the engine said. */
  reason: z.string().nullable(),
  /** The agent's step number and the tool it is running now (null between tools). */
  step: z.number(),
  tool: z.string().nullable(),
  dependsOn: z.array(z.string()),
  /** Elapsed working time in ms: since it started, to when it ended or to now. Null before it starts. */
  elapsedMs: z.number().nullable(),
  usage: Usage,
  /**
   * Output tokens per second of generation time (src/core/throughput.ts): over the last few
   * seconds while the run is live (0 when idle), over all of the task's requests otherwise; null
   * when none of them was timed.
   */
  tokensPerSecond: z.number().nullable(),
  verification: VerificationView.nullable(),
  review: z.object({ approved: z.boolean(), comments: z.string() }).nullable(),
  merge: z.object({ ok: z.boolean(), conflicts: z.array(z.string()), message: z.string().nullable() }).nullable(),
  /** Files the task has changed so far (from its commits). */
  files: z.array(z.string()),
  ask: AskView.nullable(),
  /** The round the developer's latest change request started; null before any. */
  changes: ChangeRound.nullable(),
  /** What the developer may do to it now. */
  actions: z.object({
    stop: z.boolean(),
    accept: z.boolean(),
    reject: z.boolean(),
    requestChanges: z.boolean(),
    diff: z.boolean(),
    transcript: z.boolean(),
    audit: z.boolean(),
  }),
});
export type TaskRow = z.infer<typeof TaskRow>;

/** An apply of a run onto the developer's branch: the commit it made, how, and onto which branch. */
export const Applied = z.object({
  commit: z.string(),
  mode: z.enum(['squash', 'merge']),
  /** Null for runs applied before Foreman recorded the branch. */
  branch: z.string().nullable(),
});
export type Applied = z.infer<typeof Applied>;

/** Joules and output tokens per joule of a measured span (idle draw counted apart). */
export const EnergyFigures = z.object({
  joules: z.number(),
  idleJoules: z.number(),
  tokens: z.number(),
  /** Tokens per joule of the busy draw, and of all of it; null without joules. */
  tokensPerJoule: z.number().nullable(),
  tokensPerJouleWithIdle: z.number().nullable(),
});

/**
 * One backend's telemetry in the Backends section: its latest `/metrics` reading and the series of
 * readings for the charts (oldest first, one a poll, at most 120; a value the server does not give
 * is left out of its series), and its GPUs' energy or why it is not measured.
 */
export const BackendTelemetryView = z.object({
  endpoint: z.string(),
  /** The server as its metrics named it (`vLLM`, `SGLang`, `llama.cpp`, `Dynamo`); null before a reading. */
  server: z.string().nullable(),
  last: z
    .object({
      atMs: z.number(),
      running: z.number().nullable(),
      waiting: z.number().nullable(),
      /** 0..1. */
      kvCacheUse: z.number().nullable(),
      /** 0..1, over the last poll's interval. */
      prefixHitRate: z.number().nullable(),
      tokensPerSecond: z.number().nullable(),
    })
    .nullable(),
  series: z.object({
    running: z.array(z.number()),
    waiting: z.array(z.number()),
    kvCacheUse: z.array(z.number()),
    prefixHitRate: z.array(z.number()),
    tokensPerSecond: z.array(z.number()),
  }),
  /** Why no reading could be taken; null once one was. */
  metricsNote: z.string().nullable(),
  energy: z.discriminatedUnion('measured', [
    EnergyFigures.extend({
      measured: z.literal(true),
      /** How it was read: "energy counter, dcgm-exporter http://…, 2 GPUs". */
      how: z.string(),
    }),
    z.object({ measured: z.literal(false), reason: z.string() }),
  ]),
});
export type BackendTelemetryView = z.infer<typeof BackendTelemetryView>;

/** The run's backends, and its energy per task (idle draw belongs to no task). */
export const TelemetryView = z.object({
  backends: z.array(BackendTelemetryView),
  run: EnergyFigures.nullable(),
  tasks: z.array(
    z.object({ task: z.string(), joules: z.number(), tokens: z.number(), tokensPerJoule: z.number().nullable() }),
  ),
});
export type TelemetryView = z.infer<typeof TelemetryView>;

/** The run on the board: live, or finished and still open. */
export const RunView = z.object({
  runId: z.string(),
  status: RunStatus,
  /** The run's final message, or the reason it stopped. */
  message: z.string().nullable(),
  /** True while the engine is driving it in this window. */
  live: z.boolean(),
  spec: z.string(),
  model: z.string().nullable(),
  endpoint: z.string().nullable(),
  /** Base commit (short) and branch the run started from. */
  base: z.string().nullable(),
  baseBranch: z.string().nullable(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  usage: Usage,
  /**
   * Output tokens per second of generation time (src/core/throughput.ts): over the last few
   * seconds while live (0 when idle), over the whole run otherwise; null when none was timed.
   */
  tokensPerSecond: z.number().nullable(),
  /**
   * The run's tokens/s each second, oldest first, at most 120 points: up to now while live, else
   * up to the end of its last timed request. Empty when no request was timed.
   */
  rate: z.array(z.number()),
  /**
   * The run budgets with what is used; null where no budget is set. A cost's `used` is null when
   * no request was priced, and `unpriced` says some were not (the cost used is then a lower bound).
   */
  budget: z.object({
    tokens: z.object({ used: z.number(), limit: z.number() }).nullable(),
    cost: z.object({ used: z.number().nullable(), unpriced: z.boolean(), limit: z.number() }).nullable(),
  }),
  /**
   * Set when a budget stopped work: which one (the run's, or the per-task one that each task has),
   * its limit in the run's settings now, and the most used against it: the run's total, or the
   * largest of its stopped tasks' (those a resume starts again). A limit above `used` lets the run
   * go on; the panel offers to raise it with the resume.
   */
  budgetHit: z
    .object({
      scope: z.enum(['run', 'task']),
      kind: z.enum(['tokens', 'cost']),
      limit: z.number(),
      used: z.number(),
    })
    .nullable(),
  tasks: z.array(TaskRow),
  /** Tasks whose agents wait for the developer to approve a command, and how many distinct commands. */
  asks: z.object({ tasks: z.number(), commands: z.number() }),
  /**
   * Asks of the run itself, no task's (a new or changed MCP server's pin, asked as the run starts),
   * answered on the board above the rows; absent when there are none.
   */
  runAsks: z.array(AskView).optional(),
  counts: z.record(z.string(), z.number()),
  integration: z.object({ branch: z.string(), verification: VerificationView.nullable(), files: z.array(z.string()) }),
  /** Verified tasks wait for Accept (true) or merge as soon as verified (false). */
  holdForReview: z.boolean(),
  /** How the run was applied onto the developer's branch (`commit` in full), since it last finished. */
  applied: Applied.nullable(),
  actions: z.object({ stopAll: z.boolean(), apply: z.boolean(), resume: z.boolean() }),
  /** The backends' metrics and energy, as the run recorded them (the Backends section). */
  telemetry: TelemetryView,
});
export type RunView = z.infer<typeof RunView>;

/** A past run of this repository, rebuilt from its journal. */
export const HistoryEntry = z.object({
  runId: z.string(),
  status: RunStatus,
  spec: z.string(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  tasks: z.number(),
  merged: z.number(),
  usage: Usage,
  applied: Applied.nullable(),
  /** The checks on the integration branch (`skipped`: there were none, so nothing was verified); null before they ran. */
  verification: VerificationStatus.nullable(),
  /** Interrupted, stopped or budget-stopped runs can be resumed. */
  resumable: z.boolean(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** A configured backend, as the panel may show it (never its key). */
export const BackendView = z.object({
  name: z.string(),
  baseUrl: z.string(),
  models: z.array(z.string()),
  /** The scripted demo server that ships with Foreman, not a model. */
  demo: z.boolean(),
  /** Whether an API key for it is in SecretStorage. */
  hasKey: z.boolean(),
  /**
   * What the capability probe found for each model of it probed so far in this session (one line:
   * context window, tool calling, json_schema, usage in streams, cached tokens), by model name.
   */
  probed: z.record(z.string(), z.string()).optional(),
});
export type BackendView = z.infer<typeof BackendView>;

/** A server found by local discovery. */
export const DiscoveredServer = z.object({
  /** What it looks like: vLLM, Ollama, LM Studio, llama.cpp, SGLang … or 'OpenAI-compatible'. */
  kind: z.string(),
  baseUrl: z.string(),
  models: z.array(z.string()),
});
export type DiscoveredServer = z.infer<typeof DiscoveredServer>;

/** The run settings at hand next to the spec. */
export const RunOptions = z.object({
  backend: z.string().nullable(),
  model: z.string().nullable(),
  concurrency: z.number().int().min(1).max(256),
  /** Run budgets; null for none. */
  budgetTokens: z.number().positive().nullable(),
  budgetCost: z.number().positive().nullable(),
  /** Hold verified tasks for Accept instead of merging them at once. */
  holdForReview: z.boolean(),
});
export type RunOptions = z.infer<typeof RunOptions>;

/**
 * Something that happened, for the developer: the panel shows the latest one as its one line and
 * the earlier ones on demand. Errors of a request are not notices: they are shown by the control
 * that asked (see RequestError), so each error is said once.
 */
export const Notice = z.object({
  /** Increasing: a later notice has a greater id. */
  id: z.number(),
  kind: z.enum(['info', 'warning', 'error']),
  text: z.string(),
  /** Host clock (ms) when it happened (again, for a repeat of the latest). */
  at: z.number(),
  /** The run it is about, or null. */
  runId: z.string().nullable(),
  /** It says how run `runId` ended: while the line shows it, the board leaves out the run's own message. */
  outcome: z.boolean(),
});
export type Notice = z.infer<typeof Notice>;

/** What the panel is showing. */
export const Phase = z.enum(['compose', 'planning', 'plan', 'run']);
export type Phase = z.infer<typeof Phase>;

/** The whole state of the panel. */
export const PanelState = z.object({
  /** Why Foreman cannot run here (untrusted workspace, no folder, not a git repository); null when it can. */
  blocked: z.object({ reason: z.enum(['untrusted', 'noFolder', 'notGit']), message: z.string() }).nullable(),
  /**
   * How agent commands run: in the sandbox (`on`), unconfined by the user's choice (`off`), or not
   * at all because no sandbox can run here (`unavailable`); `text` says so in one line. Null until
   * the host has looked.
   */
  sandbox: z.object({ kind: z.enum(['on', 'off', 'unavailable']), text: z.string() }).nullable(),
  repo: z.string().nullable(),
  /** Whether the repository is (a copy of) Foreman's sample, samples/demo-shop: the only one the demo backend knows. */
  sample: z.boolean(),
  phase: Phase,
  spec: z.string(),
  options: RunOptions,
  backends: z.array(BackendView),
  discovery: z.object({ scanning: z.boolean(), found: z.array(DiscoveredServer), scannedAt: z.number().nullable() }),
  /** While the planner works: since when, and what it is doing. */
  planning: z.object({ startedAt: z.number(), message: z.string() }).nullable(),
  plan: PlanView.nullable(),
  run: RunView.nullable(),
  history: z.array(HistoryEntry),
  /** The log of notices, oldest first (the last few dozen). */
  notices: z.array(Notice),
  /** The developer dismissed the line up to this notice id: the line shows the latest notice only when it is newer. */
  noticesSeen: z.number(),
  /** Host clock when the state was sent, so elapsed times tick consistently. */
  now: z.number(),
});
export type PanelState = z.infer<typeof PanelState>;

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/**
 * Requests from the webview. Each carries an `id` the host echoes in `request/didFinish`.
 * Names are `area/verb`.
 */
export const Request = z.discriminatedUnion('type', [
  /** The webview is loaded and listening; the host answers with the state. */
  z.object({ type: z.literal('panel/ready') }),
  z.object({ type: z.literal('spec/change'), spec: z.string() }),
  z.object({ type: z.literal('options/change'), options: RunOptions.partial() }),
  /** Plan the spec; the panel moves to `planning`, then `plan`. */
  z.object({ type: z.literal('plan/start') }),
  z.object({ type: z.literal('plan/cancel') }),
  /** Ask the planner again with the developer's comment on the current plan. */
  z.object({ type: z.literal('plan/replan'), comment: z.string() }),
  /** The developer's edited task list replaces the plan's (validated, warnings and estimate recomputed). */
  z.object({ type: z.literal('plan/edit'), tasks: z.array(PlanTask) }),
  /** Drop the plan and go back to the spec. */
  z.object({ type: z.literal('plan/discard') }),
  /** Run the plan as it stands. */
  z.object({ type: z.literal('run/start') }),
  z.object({ type: z.literal('run/stopAll') }),
  /**
   * Resume a run with its own settings (backend, model, budgets, prices). `budgets`, when given,
   * is the developer's explicit change of the run's budgets (`tokens` and `cost` for the run,
   * `taskTokens` and `taskCost` for each task; null removes one); it is recorded in the run's
   * journal.
   */
  z.object({
    type: z.literal('run/resume'),
    runId: z.string(),
    budgets: z
      .object({
        tokens: z.number().positive().nullable().optional(),
        cost: z.number().positive().nullable().optional(),
        taskTokens: z.number().positive().nullable().optional(),
        taskCost: z.number().positive().nullable().optional(),
      })
      .optional(),
  }),
  /** Show a past run on the board. */
  z.object({ type: z.literal('run/open'), runId: z.string() }),
  /** Leave the board and start a new spec. */
  z.object({ type: z.literal('run/close') }),
  z.object({ type: z.literal('run/apply'), mode: z.enum(['squash', 'merge']) }),
  z.object({ type: z.literal('task/stop'), taskId: z.string() }),
  z.object({ type: z.literal('task/accept'), taskId: z.string() }),
  z.object({ type: z.literal('task/reject'), taskId: z.string() }),
  z.object({ type: z.literal('task/requestChanges'), taskId: z.string(), comments: z.string() }),
  /** Open the task's transcript in an editor tab. */
  z.object({ type: z.literal('task/openTranscript'), taskId: z.string() }),
  /** Show the task's changed files (and open the first diff); INTEGRATION_ID for the integration branch. */
  z.object({ type: z.literal('task/openChanges'), taskId: z.string() }),
  /** Open the task's latest verification output in an editor tab. */
  z.object({ type: z.literal('task/openChecks'), taskId: z.string() }),
  /** Open the task's audit trail beside its transcript. */
  z.object({ type: z.literal('task/openAudit'), taskId: z.string() }),
  /** Answer a group of asks (see AskView.key); a refusal's reason goes to the agents. */
  z.object({
    type: z.literal('approval/answer'),
    key: z.string(),
    choice: z.enum(['once', 'run', 'deny']),
    reason: z.string(),
  }),
  z.object({ type: z.literal('backend/discover') }),
  z.object({
    type: z.literal('backend/add'),
    name: z.string(),
    baseUrl: z.string(),
    model: z.string(),
  }),
  z.object({ type: z.literal('backend/useDemo') }),
  /** Copy the sample repository the demo knows into a new temporary folder and open it in a new window. */
  z.object({ type: z.literal('sample/open') }),
  /** Ask for the backend's API key (an input box on the host side; the key never enters the webview). */
  z.object({ type: z.literal('backend/setKey'), name: z.string() }),
  z.object({ type: z.literal('settings/open') }),
  /** Dismiss the line: notices up to `id` are seen (they stay in the log). */
  z.object({ type: z.literal('notice/dismiss'), id: z.number() }),
]);
export type Request = z.infer<typeof Request>;

/** A request with its id, as posted by the webview. */
export const RequestEnvelope = z.object({ id: z.number().int(), request: Request });
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

/**
 * Why a request failed: one of the session's refusals (LEAD_ERROR_REASONS, said in words there), or
 * `unexpected` for anything else (a bug or an environment problem, which the host logs).
 */
export const RequestErrorReason = z.enum([...LEAD_ERROR_REASONS, 'unexpected']);
export type RequestErrorReason = z.infer<typeof RequestErrorReason>;

/** A failed request's error: a message a person can act on, and why, for the panel to tell apart. */
export const RequestError = z.object({ message: z.string(), reason: RequestErrorReason });
export type RequestError = z.infer<typeof RequestError>;

/** Messages from the host. */
export const HostMessage = z.discriminatedUnion('type', [
  /** The whole state; the latest one wins. */
  z.object({ type: z.literal('state/didChange'), state: PanelState }),
  /** The answer to request `id`: ok (and `error` null), or not, with the error. */
  z.object({
    type: z.literal('request/didFinish'),
    id: z.number().int(),
    ok: z.boolean(),
    error: RequestError.nullable(),
  }),
  /** Move keyboard focus to the spec box (the "Foreman: New Spec" command). */
  z.object({ type: z.literal('focus/spec') }),
]);
export type HostMessage = z.infer<typeof HostMessage>;

export { INTEGRATION_ID, LEAD_ERROR_REASONS, MAX_UPDATES_PER_SECOND } from './constants';
export type { LeadErrorReason } from './constants';
