/**
 * What the Lead session needs from the editor it runs in. VS Code implements it in src/host/;
 * tests implement it with plain objects. Nothing here may hand a secret to anything but the model
 * client: API keys go from `apiKey` straight into the backend's client.
 */
import type { McpServerEntry } from './mcpSettings';
import type { McpInputPort } from './mcpInputs';
import type { DeskAnswer } from '../core/approvalDesk';
import type { CommandPolicy } from '../core/commandPolicy';
import type { Budgets } from '../core/budget';
import type { SandboxSettings } from '../core/sandbox';
import type { EnergySetting } from '../core/telemetry';
import type { CheckSpec } from '../core/verify';

/** One configured backend (`foreman.backends`). Never holds a key. */
export interface BackendSetting {
  name: string;
  baseUrl: string;
  /** The first is the default. */
  models: string[];
  maxConcurrentRequests?: number;
  requestTimeoutMs?: number;
  /** Per million tokens, by model. */
  prices?: Record<string, { input: number; cachedInput: number; output: number }>;
  /** Extra headers sent with every request (never a key: keys live in secret storage). */
  headers?: Record<string, string>;
  /** A cluster that routes by itself: Foreman sends its session hints instead of routing. */
  router?: 'dynamo' | 'llm-d';
  /** Its Prometheus text (default: `/metrics` at the base URL's host); null: not read. */
  metricsUrl?: string | null;
  /** How its GPUs' energy is read; absent: not measured (and said so). */
  energy?: EnergySetting;
}

/**
 * `foreman.roles`: each role's models, first choice first; `model@backend` pins a backend, a bare
 * model is served by every backend listing it (its replicas). A role not named uses the model
 * chosen in the panel.
 */
export interface RoleSettings {
  planner?: string[];
  agent?: string[];
  reviewer?: string[];
}

/** The editor's settings for Foreman (`foreman.*`), read fresh for every plan and run. */
export interface LeadSettings {
  backends: BackendSetting[];
  /** Name of the backend selected first; null for the first configured. */
  defaultBackend: string | null;
  /** `foreman.roles`; empty: every role uses the model chosen in the panel. */
  roles: RoleSettings;
  concurrency: number;
  holdForReview: boolean;
  budgets: Budgets;
  /** Null: detect from the repository. */
  checks: CheckSpec[] | null;
  review: boolean;
  /** Null: the default place outside the workspace. */
  worktreeRoot: string | null;
  retention: { keepFinishedRuns: number; abandonedAfterDays: number };
  setup: { command: string | null; include: string[] | null };
  /** The command policy, with the workspace's part already limited to tightening. */
  commandPolicy: CommandPolicy;
  /** How long an ask waits for the developer before it is refused (`foreman.approvals.timeoutSeconds`). */
  approvalTimeoutMs: number;
  maxSteps: number;
  /** Most tasks a plan may have (planning and editing). */
  maxTasks: number;
  maxRepairRounds: number;
  dirty: 'refuse' | 'snapshot';
  /** How agent processes are confined (`foreman.sandbox.*`). */
  sandbox: SandboxSettings;
  /** `foreman.mcpServers` per level (src/app/mcpServers.ts): the user's, and the workspace's (which only tightens). */
  mcpServers?: {
    user: Record<string, McpServerEntry> | undefined;
    workspace: Record<string, McpServerEntry> | undefined;
  };
}

/** An ask of the command policy, as a notification shows it. */
export interface ApprovalQuestion {
  /** The tasks whose agents wait on this command. */
  tasks: string[];
  /** The simple command the rule asked about. */
  command: string;
  /** The whole line of the first task that asked. */
  line: string;
  rule: string;
  why: string;
  /** When the first ask times out and is refused (ms). */
  expiresAt: number;
}

/** Small values the panel remembers per workspace (the spec draft, the chosen options). */
export interface LeadMemory {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown): Promise<void>;
}

/** The editor, as the Lead session sees it. */
export interface LeadHost {
  /** The workspace folder the session works in, or null when none is open. */
  readonly folder: string | null;
  /** Whether the workspace is trusted. When false nothing plans, runs, verifies or applies. */
  isTrusted(): boolean;
  readSettings(): LeadSettings;
  /**
   * The API key stored for a backend, or undefined. Called to build that backend's client, and,
   * when `hasApiKey` is not given, to learn whether a key is stored (the key is then dropped at once).
   */
  apiKey(backend: string): Promise<string | undefined>;
  /** Whether a key is stored for a backend, without reading it (optional; shown as BackendView.hasKey). */
  hasApiKey?(backend: string): Promise<boolean>;
  /** Add a backend to the user's settings (replacing one of the same name). */
  addBackend(backend: BackendSetting): Promise<void>;
  memory: LeadMemory;
  /** A line for the log channel. Never given secrets. */
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /**
   * Show progress for a long step (a notification); `work` gets a signal that aborts when the
   * developer cancels it.
   */
  withProgress<T>(title: string, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /**
   * Ask the developer about a command in a notification (optional: without it, asks are answered
   * in the panel only). Resolves with the answer, or undefined when the notification was closed
   * unanswered; an answer after `signal` aborted (the ask was settled elsewhere) is ignored.
   */
  askApproval?(question: ApprovalQuestion, signal: AbortSignal): Promise<DeskAnswer | undefined>;
  /** Tell the developer that `count` more commands wait for approval in the panel (optional). */
  showApprovalSummary?(count: number, signal: AbortSignal): Promise<void>;
  /**
   * Where Foreman's sample repository (samples/demo-shop) ships, to copy for the demo (optional:
   * without it and `openFolder`, the panel cannot open the sample).
   */
  readonly sampleSource?: string;
  /** Open `folder` in a new editor window (optional, see `sampleSource`). */
  openFolder?(folder: string): Promise<void>;
  /**
   * Asks for `.vscode/mcp.json`'s `${input:…}` and keeps the answers as secrets (optional: without
   * it, inputs come from FOREMAN_MCP_INPUT_* in the environment only).
   */
  readonly mcpInputs?: McpInputPort;
}
