/**
 * The run journal's events. A run appends one event per line as things happen; the run's whole
 * state is rebuilt from these events alone (src/core/runState.ts). Events never hold secrets:
 * no API keys, no request headers, no environment.
 */
import type { BackendReading } from './backendMetrics';
import type { Plan } from './plan';
import type { PriceTable } from './ledger';
import type { RequestTiming, Usage } from './model';
import type { Decision } from './policyCatalog';
import type { NetworkDecision } from './sandbox';

/** The states a task moves through. */
export type TaskStatus =
  | 'queued'
  | 'setting_up'
  | 'working'
  | 'verifying'
  | 'verified'
  | 'merged'
  | 'failed'
  | 'blocked'
  | 'stopped'
  | 'rejected'
  | 'interrupted';

export type RequestRole = 'planner' | 'agent' | 'reviewer';

/**
 * Outcome of a verification round, or of one check in it. `stopped`: the developer stopped the task
 * or the run while it ran, so it says nothing about the work; `skipped`: not run (no checks at
 * all, or an earlier check failed or was stopped).
 */
export type VerificationStatus = 'passed' | 'failed' | 'skipped' | 'stopped';

/** Outcome of one verification command. */
export interface CheckResult {
  name: string;
  command: string;
  status: VerificationStatus;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The relevant tail of the output (bounded). */
  output: string;
  /** Why it was skipped or how it failed, in words. */
  reason?: string;
}

/**
 * How a run ended (until the developer acts again). `review`: verified tasks wait for the
 * developer to accept, reject or send them back.
 */
export type RunEnd = 'completed' | 'failed' | 'stopped' | 'budget' | 'review';

/** Which budget stopped work. */
export interface BudgetHit {
  scope: 'run' | 'task';
  taskId?: string;
  kind: 'tokens' | 'cost';
  limit: number;
  used: number;
}

/**
 * The settings a run was started with, as recorded (never secrets). A resume, an accept or a
 * revise goes on with them; what the developer changes explicitly is recorded as
 * `settings_changed` (core/runSettings.ts).
 */
export interface RunSettings {
  /** The backend's base URL as it may be shown (core `publicEndpoint`: no credentials, no query). */
  endpoint: string;
  model: string;
  concurrency: number;
  budgets: { runTokens: number | null; runCost: number | null; taskTokens: number | null; taskCost: number | null };
  /** False when verified tasks wait for the developer to accept them before they are merged. */
  autoMerge?: boolean;
  /** The prices requests are costed with; absent in journals written before runs kept them. */
  prices?: PriceTable;
}

/** The command policy's verdict on a run_command line, as recorded: the rule and the simple command it judged. */
export interface PolicyRecord {
  decision: Decision;
  /** The rule's id (`rm-recursive`, `user-rule`, `no-rule`, ...). */
  rule: string;
  source: 'builtin' | 'user' | 'workspace';
  command: string;
}

/**
 * Who settled an ask. `user`: a person chose; `timeout`: no one answered in time; `stopped`: the
 * task or the run stopped while it waited; `nobody`: no one could be asked (`--approve never`, no
 * terminal); `rule`: the developer allowed this command for the run earlier; `sandbox`: approved
 * without asking because the command runs in the sandbox (`--approve policy`).
 */
export type ApprovalBy = 'user' | 'timeout' | 'stopped' | 'nobody' | 'rule' | 'sandbox';

/** How one task's processes are confined, as recorded when its runner opens. */
export interface SandboxProfile {
  /** What confines them (`bubblewrap 0.8.0`), or `off` when the user turned the sandbox off. */
  confinement: string;
  /** The network they get (`none`, `host`, or the allowed hosts). */
  network: string;
  /** The folders they may write. */
  writable: string[];
  /** Names of the environment variables they get (never the values). */
  env: string[];
}

/** What a compaction of a task's conversation did, as recorded. */
export interface CompactionRecord {
  step: number;
  atMessage: number;
  tokensBefore: number;
  tokensAfter: number;
  /** Messages shortened. */
  elided: number;
  /** Recent model turns left whole. */
  keptTurns: number;
  /** The window the server named, in tokens; null when its error named none. */
  contextWindow: number | null;
}

/** The git operations Foreman performs for a run (through the RepoPort). */
export type GitOp =
  | 'worktree'
  | 'commit'
  | 'merge'
  | 'remove-worktree'
  | 'apply'
  | 'diff'
  | 'changed-files'
  | 'branch-head'
  | 'read-git-dir';

interface EventBase {
  /** Sequence number, from 1, strictly increasing within a journal. */
  seq: number;
  /** Wall-clock milliseconds. */
  t: number;
}

export type JournalEvent = EventBase &
  (
    | {
        type: 'run_started';
        runId: string;
        repo: string;
        base: string;
        baseSnapshot: boolean;
        baseBranch: string | null;
        settings: RunSettings;
      }
    /** `repoView`: the repository view every agent's prompt holds, kept so a resume sends the same bytes. */
    | { type: 'plan'; plan: Plan; repoView?: string }
    | { type: 'run_resumed' }
    /**
     * The developer changed the run's settings when continuing it (a new budget, price, backend):
     * `settings` is what the run goes on with, `changes` says what changed, in words.
     */
    | { type: 'settings_changed'; settings: RunSettings; changes: string[] }
    | { type: 'task_status'; taskId: string; status: TaskStatus; reason?: string }
    | { type: 'task_worktree'; taskId: string; path: string; branch: string; from: string }
    | { type: 'task_step'; taskId: string; step: number; tool: string | null }
    | {
        type: 'model_request';
        role: RequestRole;
        taskId: string | null;
        model: string;
        endpoint: string;
        ok: boolean;
        error?: string;
        usage: Usage | null;
        timing: RequestTiming | null;
        attempts: number;
        /** Cost in the price table's currency, null when the model has no price. */
        cost: number | null;
      }
    | {
        type: 'tool_call';
        taskId: string;
        step: number;
        tool: string;
        args: string;
        ok: boolean;
        summary: string;
        /** The model's id for the call (absent in journals written before traces were exported). */
        callId?: string;
        /** How long the call ran, clock ms (absent in older journals): the event's `t` is its end. */
        durationMs?: number;
        /** run_command only: the policy's verdict on the line. */
        policy?: PolicyRecord;
      }
    /** The policy asked about a command: the agent waits for an answer (`askId` pairs the two events). */
    | { type: 'approval_asked'; taskId: string; askId: string; line: string; policy: PolicyRecord; why: string }
    /** An ask was settled; `scope` `run` allows the same command under the same rule for the rest of the run. */
    | {
        type: 'approval_answered';
        taskId: string;
        askId: string;
        approved: boolean;
        scope?: 'once' | 'run';
        by: ApprovalBy;
        /** A refusal's reason, as the agent was told it. */
        reason?: string;
      }
    | { type: 'sandbox'; taskId: string; profile: SandboxProfile }
    /** A host a task's sandboxed process asked the allow-list proxy for, and the proxy's answer. */
    | ({ type: 'network'; taskId: string } & NetworkDecision)
    /** A git operation Foreman performed; `taskId` is null for the run's own (the integration branch, apply). */
    | { type: 'git'; taskId: string | null; op: GitOp; detail: string; ok: boolean }
    | { type: 'task_committed'; taskId: string; commit: string; files: string[] }
    | {
        type: 'verification';
        /** The task verified, or INTEGRATION_ID (core/branches.ts) for the integration branch. */
        taskId: string;
        round: number;
        status: VerificationStatus;
        checks: CheckResult[];
      }
    | { type: 'review'; taskId: string; approved: boolean; comments: string }
    | { type: 'merge'; taskId: string; ok: boolean; commit?: string; conflicts?: string[]; message?: string }
    | { type: 'budget_stop'; hit: BudgetHit }
    | { type: 'run_finished'; status: RunEnd; message: string }
    /** The integration branch was applied onto the developer's `branch` (absent in older journals). */
    | { type: 'applied'; commit: string; mode: 'squash' | 'merge'; branch?: string }
    | { type: 'note'; taskId: string | null; message: string }
    /** A backend's load as its `/metrics` said at one poll (core/backendMetrics.ts); `endpoint` as the ledger has it. */
    | { type: 'backend_metrics'; endpoint: string; reading: BackendReading }
    /** Joules the backend's GPUs drew between two readings, per GPU, and where they were read (core/telemetry.ts). */
    | { type: 'energy'; endpoint: string; source: string; fromMs: number; toMs: number; gpus: GpuJoules[] }
    /** A backend's metrics or energy could not be read: said once each time a run is driven. */
    | { type: 'telemetry_unavailable'; endpoint: string; what: 'metrics' | 'energy'; reason: string }
    /**
     * The backend refused a task's request as too long for the model's context window and the
     * agent compacted its conversation (core/compaction.ts) before asking again. Token figures are
     * estimates (about four characters a token); `atMessage` is how many messages the
     * conversation held (compaction removes none, so it is a position in the transcript).
     */
    | ({ type: 'compacted'; taskId: string } & CompactionRecord)
    /**
     * An MCP server's standing in the run (core/mcpTools.ts): its pin matched the approved one,
     * was approved or refused (`by` who), it could not be used, its tools changed, or it went down.
     */
    | {
        type: 'mcp';
        server: string;
        status: McpStatus;
        /** The server's pin (SHA-256 hex) when its tools were read. */
        pin: string | null;
        detail: string;
        taskId?: string;
        by?: ApprovalBy;
      }
  );

/** What an `mcp` journal event says of a server. */
export type McpStatus = 'pinned' | 'approved' | 'refused' | 'unavailable' | 'changed' | 'down';

/** One GPU's joules over an interval: from its energy counter, or power samples integrated. */
export interface GpuJoules {
  gpu: string;
  joules: number;
  method: 'counter' | 'integrated';
}

/** An event before the journal has numbered and stamped it. */
export type NewEvent = JournalEvent extends infer E ? (E extends JournalEvent ? Omit<E, 'seq' | 't'> : never) : never;

/**
 * Append-only storage of one run's events. Contract: `append` returns once the line is written to
 * the file (not merely buffered in memory); events are numbered in the order appended.
 */
export interface JournalStore {
  readonly runId: string;
  append(event: NewEvent): JournalEvent;
  /** Wait until everything appended so far is durable. */
  flush(): Promise<void>;
}

/** What reading a journal found. */
export interface JournalRead {
  events: JournalEvent[];
  /** Set when the last line was torn (a crash mid-write): the line was ignored. */
  tornTail: { line: number; text: string } | null;
}
