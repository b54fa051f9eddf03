/**
 * What a run needs: its collaborators (ports) and its settings. Shared by the engine and the task
 * pipeline.
 */
import type { Approver } from './approver';
import type { Budgets } from './budget';
import type { CommandPolicy } from './commandPolicy';
import type { JournalStore } from './journal';
import type { McpPort } from './mcpTools';
import type { PriceTable } from './ledger';
import type { ModelClient } from './model';
import type { Clock, TaskRunner, WorktreeFs } from './ports';
import type { RepoPort, WorktreeSetup } from './repoPort';
import type { NetworkDecision } from './sandbox';
import type { ShellParser } from './shellSyntax';
import type { BackendWatch } from './telemetry';
import type { TranscriptStore } from './transcript';
import type { CheckSpec } from './verify';

/** The run's collaborators. */
export interface RunDeps {
  repo: RepoPort;
  /** The model the agents use. */
  model: ModelClient;
  /** The model that reviews verified changes; null to skip the review. */
  reviewer: ModelClient | null;
  /**
   * Opens the process runner of one task (`taskId`, or the integration id for the run's last
   * checks) in its worktree: every command, check and set-up command of the task runs through it,
   * in the sandbox. The caller closes it when the task ends. `onNetwork` is told of every host the
   * task's processes ask the allow-list proxy for (only with an allow-listed network).
   */
  openRunner(taskId: string, worktree: string, onNetwork?: (decision: NetworkDecision) => void): Promise<TaskRunner>;
  /** Reads agents' shell lines for the command policy. */
  shell: ShellParser;
  /** Answers the command policy's asks; absent, no ask is approved. */
  approver?: Approver;
  /**
   * The developer's MCP servers (core/mcpTools.ts): their tools are offered to every agent after
   * Foreman's own. Absent: none.
   */
  mcp?: McpPort;
  /** Opens the sandboxed file access of one worktree. */
  openFs(root: string): Promise<WorktreeFs>;
  journal: JournalStore;
  transcripts: TranscriptStore;
  clock: Clock;
  /** Reads the backends' metrics and GPU energy while the run is driven; absent, nothing is read. */
  watch?: BackendWatch;
}

/** Limits on one task's agent. */
export interface TaskLimits {
  maxSteps: number;
  /** Tokens (input + output) over all of the task's requests; null for none. */
  maxTokens: number | null;
  /** Wall time of the task's agent work, in ms; null for none. */
  maxWallMs: number | null;
}

/** A run's settings. */
export interface RunConfig {
  runId: string;
  /**
   * How many agents talk to the model at once. A task holds one of these slots only during its
   * agent's rounds; as many more tasks are prepared ahead (worktree and set-up), and tasks that are
   * checked, reviewed or waiting for their merge hold none.
   */
  concurrency: number;
  /** How many tasks run their checks at once. Default: `concurrency`. */
  checkConcurrency?: number;
  limits: TaskLimits;
  /** Rounds of repair after failed verification or review. */
  maxRepairRounds: number;
  checks: CheckSpec[];
  checkTimeoutMs: number;
  commandTimeoutMs: number;
  maxOutputBytes: number;
  policy: CommandPolicy;
  setup: WorktreeSetup | null;
  budgets: Budgets;
  prices: PriceTable;
  /** Merge tasks as soon as they are verified (the default), or, when false, hold them for the
   * developer to accept. */
  autoMerge?: boolean;
}

/** Defaults a front end starts from. */
export const DEFAULT_LIMITS: TaskLimits = { maxSteps: 40, maxTokens: null, maxWallMs: 30 * 60_000 };
