/**
 * One task from start to merge: worktree set-up, the agent's rounds, Foreman's commit,
 * verification with repair rounds, review, and the merge into the integration branch.
 * Expected outcomes end in a task status; only the unexpected throws (the engine marks the task
 * failed with the error's message).
 */
import { runAgent } from './agent';
import type { AgentOutcome, ToolExecutor } from './agent';
import { approvalGate, policyRecord } from './approvalGate';
import type { BudgetHit, NewEvent, TaskStatus } from './journal';
import type { ChatMessage, ModelError, ModelResponse } from './model';
import type { Plan, TaskSpec } from './plan';
import type { ProcessRunner, TaskRunner, WorktreeFs } from './ports';
import { changesRequestedPrompt, openingMessages, repairPrompt } from './prompts';
import { gitDirChanges } from './gitDirGuard';
import type { MergeResult, SharedGitState } from './repoPort';
import { reviewChange } from './review';
import type { RunState } from './runState';
import type { RunConfig, RunDeps } from './runTypes';
import type { Slots } from './slots';
import { AGENT_TOOLS, executeTool } from './tools';
import { executeMcpTool, isMcpToolName } from './mcpTools';
import type { McpTaskTools } from './mcpTools';
import { closeOpenToolCalls } from './transcript';
import { formatFailureForAgent, runChecks } from './verify';

/** What the pipeline needs from the engine that runs it. */
export interface PipelineHost {
  readonly deps: RunDeps;
  /** The run's state, folded from its journal. */
  readonly state: RunState;
  readonly config: RunConfig;
  readonly repoView: string;
  readonly base: string;
  readonly plan: Plan;
  /** Append an event to the run's journal (and fold it into the run's state). */
  emit(event: NewEvent): void;
  /** Book a whole model response in the ledger and the journal. */
  bookResponse(role: 'agent' | 'reviewer', taskId: string, response: ModelResponse): void;
  /** Book a request that failed for good (after the client's retries). */
  bookError(role: 'agent' | 'reviewer', taskId: string, error: ModelError): void;
  /** Before a request: the budget this task or the run has reached (recorded once), or null to go on. */
  budgetCheck(taskId: string): BudgetHit | null;
  /** Record a budget hit once, for the whole run. */
  budgetHit(hit: BudgetHit): void;
  /** The commit a task with dependencies starts from: the integration branch's head. */
  integrationHead(): Promise<string>;
  /** Merge a task's branch into the integration branch (serialised by the engine). */
  mergeTask(task: TaskSpec, branch: string): Promise<MergeResult>;
  /** The run's budget hit, once there is one: a task that has not started does not start. */
  readonly runBudgetHit: BudgetHit | null;
  /** The run's agent slots: a task holds one only while its agent talks to the model. */
  readonly agentSlots: Slots;
  /** The run's check slots: a task holds one while its checks run. */
  readonly checkSlots: Slots;
}

/** A task's progress that outlives one round (and, through the journal, a restart). */
export interface TaskProgress {
  steps: number;
  tokens: number;
  /** Set when the task already has a worktree (resume, or sent back for changes). */
  worktree: { path: string; branch: string; from: string } | null;
  /** A message to append before the agent's next round (repair, changes requested, resumed). */
  pendingNote: string | null;
}

/** Run a task to a final status. Resolves when the task is merged, failed or stopped. */
export async function runTaskPipeline(
  host: PipelineHost,
  task: TaskSpec,
  progress: TaskProgress,
  signal: AbortSignal,
): Promise<void> {
  host.emit(statusEvent(task.id, 'setting_up'));
  const from = progress.worktree?.from ?? (task.dependsOn.length ? await host.integrationHead() : host.base);
  // The worktree is made while the agent's first request is out: its opening messages need only
  // the plan and the base commit, and its first tool call waits for the place. A GPU serving a
  // fleet is then busy from the first second instead of waiting for worktrees made one by one.
  const failed = new AbortController();
  const ready = openPlace(host, task, progress, from, signal);
  ready.catch(() => failed.abort());
  let verified: boolean;
  try {
    const either = AbortSignal.any([signal, failed.signal]);
    verified = await workUntilVerified(host, task, progress, from, ready, either, signal);
  } finally {
    const place = await ready.catch(() => null);
    await place?.mcpTools?.close();
    // Closing the runner removes the task's scratch folder.
    await place?.runner.close();
  }
  if (!verified) return;
  const { wt } = await ready;
  if (host.config.autoMerge === false) return host.emit(statusEvent(task.id, 'verified', AWAITING_REVIEW));
  host.emit(statusEvent(task.id, 'verified'));
  const merge = await host.mergeTask(task, wt.branch);
  host.emit(mergeEvent(task.id, merge));
  host.emit(merge.ok ? statusEvent(task.id, 'merged') : statusEvent(task.id, 'failed', merge.message));
}

/** Where a task's agent works: its worktree, the runner its processes go through, and its files. */
interface TaskPlace {
  wt: { path: string; branch: string; from: string };
  runner: TaskRunner;
  fs: WorktreeFs;
  /** The task's own connections to the developer's MCP servers (stdio ones start in its sandbox). */
  mcpTools: McpTaskTools | null;
}

async function openPlace(
  host: PipelineHost,
  task: TaskSpec,
  progress: TaskProgress,
  from: string,
  signal: AbortSignal,
): Promise<TaskPlace> {
  const wt = await prepareWorktree(host, task, progress.worktree, from, signal);
  progress.worktree = wt;
  // Every process of the task runs through this runner.
  const runner = await host.deps.openRunner(task.id, wt.path, (d) =>
    host.emit({ type: 'network', taskId: task.id, ...d }),
  );
  host.emit({ type: 'sandbox', taskId: task.id, profile: runner.profile });
  try {
    const fs = await host.deps.openFs(wt.path);
    return { wt, runner, fs, mcpTools: host.deps.mcp?.openTask(task.id, runner, wt.path) ?? null };
  } catch (e) {
    await runner.close();
    throw e;
  }
}

/**
 * The agent's rounds with their checks and repairs. Resolves true when the work passed
 * verification, false when the task ended otherwise (its final status already emitted).
 * `signal` ends the work (a stop, or a place that could not be made); `stop` is the user's alone.
 */
async function workUntilVerified(
  host: PipelineHost,
  task: TaskSpec,
  progress: TaskProgress,
  from: string,
  ready: Promise<TaskPlace>,
  signal: AbortSignal,
  stop: AbortSignal,
): Promise<boolean> {
  const status = (s: TaskStatus, reason?: string): false => {
    host.emit(statusEvent(task.id, s, reason));
    return false;
  };
  const approver = approvalGate(host, task.id, host.deps.approver);
  const mcp = host.deps.mcp;
  const tools: ToolExecutor = {
    // Foreman's own tools first, then the MCP servers' in their fixed order: the same bytes for every agent.
    schemas: mcp && mcp.schemas.length ? [...AGENT_TOOLS, ...mcp.schemas] : AGENT_TOOLS,
    execute: async (call, sig) => {
      const { fs, runner, mcpTools } = await ready;
      return mcp && mcpTools && isMcpToolName(call.name)
        ? executeMcpTool(call.name, call.arguments, {
            port: mcp,
            tools: mcpTools,
            approver,
            taskId: task.id,
            maxResultChars: host.config.maxOutputBytes,
            signal: sig,
          })
        : executeTool(call, {
            fs,
            runner,
            shell: host.deps.shell,
            approver,
            taskId: task.id,
            policy: host.config.policy,
            commandTimeoutMs: host.config.commandTimeoutMs,
            maxOutputBytes: host.config.maxOutputBytes,
            signal: sig,
          });
    },
  };
  const messages = await loadConversation(host, task, from);
  const gitDir = await host.deps.repo.sharedGitState();
  const deadline = host.config.limits.maxWallMs === null ? null : host.deps.clock.now() + host.config.limits.maxWallMs;

  for (let round = 0; ; round++) {
    if (progress.pendingNote) {
      appendMessage(host, task.id, messages, { role: 'user', content: progress.pendingNote });
      progress.pendingNote = null;
    }
    // The agent slot is held for the agent's round only: not while the task waits for its checks,
    // runs them, is reviewed or waits for its merge. A stop while waiting leaves nothing to commit.
    const release = await host.agentSlots.acquire(signal);
    if (!release) {
      // No slot because the place could not be made (not a stop): fail with that reason. A stop
      // may abort the place's making too; it is still a stop.
      if (!stop.aborted) await ready;
      return status('stopped', 'stopped by the user before its agent started this round');
    }
    if (host.runBudgetHit && progress.steps === 0) {
      // Prepared ahead, but the run's budget was reached while it waited for its first slot.
      release();
      return status('stopped', 'not started: the run budget was reached');
    }
    status('working');
    let outcome: AgentOutcome;
    try {
      outcome = await agentRound(host, task, messages, tools, progress, deadline, signal);
    } finally {
      // The slot goes to the next agent as soon as this one stops talking to the model: Foreman's
      // commit of the work (git, one of a few at a time) is not the model's time.
      release();
    }
    progress.steps = outcome.steps;
    progress.tokens = outcome.tokens;
    // A place that could not be made ends the task here, with git's or the sandbox's reason.
    const { wt, runner } = await ready;
    const committed = await commitWork(host, task, wt.path, outcome);
    // The look at the git directory waits its turn among the run's git calls. With no checks to
    // run, the review (a model request) is asked meanwhile, so the GPU is not kept waiting on
    // git; nothing of the task moves on until the look has answered.
    const noChecks = host.config.checks.length === 0;
    const overlap = outcome.status === 'finished' && noChecks;
    const look = held(gitDirTampered(host, gitDir));
    const tampered = overlap ? null : await look();
    if (tampered !== null) return status('failed', tampered);
    if (outcome.status !== 'finished') {
      endUnfinished(host, task, outcome, committed);
      return false;
    }
    status('verifying');
    const failure = await verifyTask(host, task, runner, wt.path, round + 1, outcome.summary, signal, committed);
    // Checks run in the worktree and could touch the git directory: look again after them.
    const tamperedAfter = overlap ? await look() : noChecks ? null : await gitDirTampered(host, gitDir);
    if (tamperedAfter !== null) return status('failed', tamperedAfter);
    if (signal.aborted) return status('stopped', 'stopped by the user; work so far is committed on the task branch');
    if (failure === null) return true;
    if (round >= host.config.maxRepairRounds) {
      return status('failed', `verification failed after ${round} repair round(s): ${failure.headline}`);
    }
    progress.pendingNote = failure.note(round + 1, host.config.maxRepairRounds);
  }
}

/** `promise`, held: a rejection before anyone waits for it is not unhandled, and waiting still sees it. */
function held<T>(promise: Promise<T>): () => Promise<T> {
  promise.catch(() => undefined);
  return () => promise;
}

/**
 * Why the task must fail when the shared git directory changed, not by Foreman, since `watched`
 * was read (see core/gitDirGuard.ts); null when nothing did.
 */
async function gitDirTampered(host: PipelineHost, watched: SharedGitState): Promise<string | null> {
  const changes = gitDirChanges(watched, await host.deps.repo.sharedGitState());
  if (changes.length === 0) return null;
  return (
    `the repository's git directory changed while this task's agent and checks ran, and not through Foreman: ` +
    `${changes.join('; ')}. Nothing of this task is merged. Look at ${host.deps.repo.root}/.git ` +
    `(git reflog, git config --list --local, .git/hooks) before you go on.`
  );
}

function statusEvent(taskId: string, status: TaskStatus, reason?: string): NewEvent {
  return reason === undefined
    ? { type: 'task_status', taskId, status }
    : { type: 'task_status', taskId, status, reason };
}

/** The journal event of a merge's outcome. */
export function mergeEvent(taskId: string, merge: MergeResult): NewEvent {
  return merge.ok
    ? { type: 'merge', taskId, ok: true, commit: merge.commit }
    : { type: 'merge', taskId, ok: false, conflicts: merge.files, message: merge.message };
}

/** The reason a verified task carries while it waits for the developer. */
export const AWAITING_REVIEW = 'waiting for you to accept it, reject it or request changes';

/**
 * The task's worktree: the one it already has (re-created from its branch if it was removed), or
 * a new one from `from` (the base, or for a task with dependencies the integration branch's head).
 */
async function prepareWorktree(
  host: PipelineHost,
  task: TaskSpec,
  known: TaskProgress['worktree'],
  from: string,
  signal: AbortSignal,
) {
  const wt = await host.deps.repo.ensureWorktree(host.config.runId, task.id, from, host.config.setup, signal);
  if (!known || known.path !== wt.path || wt.created) {
    host.emit({ type: 'task_worktree', taskId: task.id, path: wt.path, branch: wt.branch, from });
  }
  return { path: wt.path, branch: wt.branch, from };
}

/** The task's conversation: continued from its transcript, or opened afresh. */
async function loadConversation(host: PipelineHost, task: TaskSpec, from: string): Promise<ChatMessage[]> {
  const messages = await host.deps.transcripts.load(task.id);
  if (messages.length === 0) {
    const startedFrom = task.dependsOn.length
      ? `the integration branch with ${task.dependsOn.join(', ')} merged (commit ${from.slice(0, 10)})`
      : `the run's base commit ${from.slice(0, 10)}`;
    for (const m of openingMessages(host.plan, host.repoView, task, startedFrom))
      appendMessage(host, task.id, messages, m);
    return messages;
  }
  for (const m of closeOpenToolCalls(messages)) host.deps.transcripts.append(task.id, m);
  return messages;
}

function appendMessage(host: PipelineHost, taskId: string, messages: ChatMessage[], m: ChatMessage): void {
  messages.push(m);
  host.deps.transcripts.append(taskId, m);
}

function agentRound(
  host: PipelineHost,
  task: TaskSpec,
  messages: ChatMessage[],
  tools: ToolExecutor,
  progress: TaskProgress,
  deadline: number | null,
  signal: AbortSignal,
): Promise<AgentOutcome> {
  return runAgent({
    messages,
    model: host.deps.model,
    tools,
    limits: { maxSteps: host.config.limits.maxSteps, maxTokens: host.config.limits.maxTokens, deadline },
    clock: host.deps.clock,
    signal,
    spent: { steps: progress.steps, tokens: progress.tokens },
    affinity: task.id,
    hooks: {
      beforeRequest: () => host.budgetCheck(task.id),
      onResponse: (r) => host.bookResponse('agent', task.id, r),
      onRequestError: (e) => host.bookError('agent', task.id, e),
      onMessage: (m) => host.deps.transcripts.append(task.id, m),
      onStep: (step, tool) => host.emit({ type: 'task_step', taskId: task.id, step, tool }),
      onCompacted: (record) => host.emit({ type: 'compacted', taskId: task.id, ...record }),
      onTool: (step, call, outcome, durationMs) =>
        host.emit({
          type: 'tool_call',
          taskId: task.id,
          step,
          tool: call.name,
          args: clip(call.arguments, 300),
          ok: outcome.ok,
          summary: outcome.summary,
          callId: call.id,
          durationMs,
          ...(outcome.policy ? { policy: policyRecord(outcome.policy) } : {}),
        }),
    },
  });
}

/** Foreman, not the model, commits the agent's work, finished or not, so nothing is lost. */
async function commitWork(
  host: PipelineHost,
  task: TaskSpec,
  path: string,
  outcome: AgentOutcome,
): Promise<string | null> {
  const subject =
    outcome.status === 'finished'
      ? `foreman(${task.id}): ${task.title}`
      : `foreman(${task.id}): work in progress (${outcome.status})`;
  const body = outcome.status === 'finished' ? outcome.summary : describeOutcome(outcome);
  // A finished task is reviewed next: its diff is read with the commit, not by a git call of its own.
  const reviewed = outcome.status === 'finished' && host.deps.reviewer !== null;
  const commit = await host.deps.repo.commitAll(
    path,
    `${subject}\n\n${body}\n\nForeman-Run: ${host.config.runId}\nForeman-Task: ${task.id}`,
    reviewed ? host.base : undefined,
  );
  if (commit !== null) {
    const files = await host.deps.repo.changedFiles(`${commit}~1`, commit);
    host.emit({ type: 'task_committed', taskId: task.id, commit, files });
  }
  return commit;
}

function endUnfinished(host: PipelineHost, task: TaskSpec, outcome: AgentOutcome, commit: string | null): void {
  const kept = commit ? ' Work so far is committed on the task branch.' : '';
  const why = describeOutcome(outcome).replace(/\.+$/, '');
  if (outcome.status === 'budget') {
    host.budgetHit(outcome.hit);
    host.emit(statusEvent(task.id, 'stopped', `${why}.${kept}`));
  } else if (outcome.status === 'stopped') {
    host.emit(statusEvent(task.id, 'stopped', `stopped by the user.${kept}`));
  } else {
    host.emit(statusEvent(task.id, 'failed', `${why}.${kept}`));
  }
}

/** Words for an outcome that is not `finished`. */
export function describeOutcome(outcome: AgentOutcome): string {
  switch (outcome.status) {
    case 'finished':
      return outcome.summary;
    case 'budget': {
      const h = outcome.hit;
      const what = h.kind === 'cost' ? `cost ${h.used.toFixed(4)} of ${h.limit}` : `${h.used} of ${h.limit} tokens`;
      return `the ${h.scope === 'run' ? 'run' : 'task'} budget was reached (${what})`;
    }
    case 'limit':
    case 'error':
      return outcome.message;
    case 'stopped':
      return 'stopped';
  }
}

interface VerifyFailure {
  headline: string;
  note(round: number, max: number): string;
}

/** Checks, then review. Returns null when the task passed both. */
async function verifyTask(
  host: PipelineHost,
  task: TaskSpec,
  runner: ProcessRunner,
  path: string,
  round: number,
  summary: string,
  signal: AbortSignal,
  head: string | null,
): Promise<VerifyFailure | null> {
  const result = await host.checkSlots.with(signal, () =>
    runChecks(host.config.checks, { runner, cwd: path, timeoutMs: host.config.checkTimeoutMs, signal }),
  );
  // Stopped while waiting for a check slot: the caller sees the abort.
  if (result === null) return null;
  host.emit({ type: 'verification', taskId: task.id, round, status: result.status, checks: result.checks });
  if (result.status === 'failed') {
    const failed = result.checks.find((c) => c.status === 'failed');
    const text = failed ? formatFailureForAgent(failed) : 'a check failed';
    return { headline: `${failed?.name ?? 'a check'} failed`, note: (r, max) => repairPrompt(r, max, text) };
  }
  if (!host.deps.reviewer || signal.aborted) return null;
  const review = await reviewChange(host, task, summary, signal, head);
  if (review === null || review.approved) return null;
  return {
    headline: `the reviewer asked for changes: ${clip(review.comments, 200)}`,
    note: () => changesRequestedPrompt('reviewer', review.comments),
  };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
