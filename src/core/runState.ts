/**
 * A run's state, rebuilt from its journal alone. `applyEvent` folds one event into the state in
 * O(1) (the live run, the CLI and the panel call it on every event); `reduceJournal` folds a whole
 * journal and then decides whether the run was interrupted (no `run_finished`).
 */
import { INTEGRATION_ID } from './branches';
import { askKey } from './approver';
import type {
  BudgetHit,
  CompactionRecord,
  CheckResult,
  JournalEvent,
  PolicyRecord,
  RunSettings,
  TaskStatus,
  VerificationStatus,
} from './journal';
import { addUsage, emptyTotals } from './ledger';
import type { TokenTotals } from './ledger';
import type { Plan, TaskSpec } from './plan';
import { FINAL_TASK_STATUSES } from './statusSets';
import { ABORTED_REASON, STOPPED_REASON } from './verify';

/** Where a run stands. `interrupted`: its journal ends without `run_finished` (a crash or a kill). */
export type RunStatus = 'running' | 'completed' | 'failed' | 'stopped' | 'budget' | 'review' | 'interrupted';

/**
 * A run's status as people read it: `applied` once its work is on the developer's branch (until a
 * resume), else its status. Rules about what may be done to a run use `status`, not this.
 */
export type RunPhase = RunStatus | 'applied';

/** The phase of a run (see RunPhase). */
export function runPhase(state: Pick<RunState, 'status' | 'applied'>): RunPhase {
  return state.applied !== null && state.status !== 'running' ? 'applied' : state.status;
}

/** The verification rounds of a task, or of the integration branch. */
export interface VerificationState {
  /** The latest round, or null when none ran. */
  last: { round: number; status: VerificationStatus; checks: CheckResult[]; at: number } | null;
  /** How many verification events there were. */
  rounds: number;
}

/** The outcome of merging a task into the integration branch. */
export interface MergeState {
  ok: boolean;
  commit: string | null;
  conflicts: string[];
  message: string | null;
}

/** One task as the journal tells it. `usage.cost` is the task's cost (null when unpriced). */
export interface TaskState {
  id: string;
  /** The task's spec from the plan; null for a task the journal named before (or without) a plan. */
  spec: TaskSpec | null;
  status: TaskStatus;
  /** The reason given with the latest status, if any. */
  reason: string | null;
  worktree: string | null;
  branch: string | null;
  /** The commit the worktree started from. */
  from: string | null;
  /** The task's latest commit. */
  commit: string | null;
  /** Files changed by any of the task's commits, in order of first change. */
  files: string[];
  step: number;
  /** The tool the agent is running now (null between tools and outside `working`). */
  tool: string | null;
  toolCalls: number;
  /** Each time its conversation was compacted to fit the model's context window, in order. */
  compactions: CompactionRecord[];
  /** When it first left `queued` for work; null while it has not. */
  startedAt: number | null;
  /** When it reached a final status; null while it is not in one. */
  endedAt: number | null;
  verification: VerificationState;
  review: { approved: boolean; comments: string } | null;
  merge: MergeState | null;
  usage: TokenTotals;
  /** The command the agent waits to have approved, while it waits. */
  ask: PendingAskState | null;
}

/** An ask of the command policy that waits for an answer. */
export interface PendingAskState {
  askId: string;
  line: string;
  policy: PolicyRecord;
  why: string;
  at: number;
}

/** A run as the journal tells it. Fields the journal has not given yet are null. */
export interface RunState {
  runId: string;
  repo: string | null;
  base: string | null;
  baseSnapshot: boolean;
  baseBranch: string | null;
  /** The settings the run goes on with: as started, with every recorded change applied. */
  settings: RunSettings | null;
  /** The developer's changes to the settings after the start, in words, oldest first. */
  settingsChanges: { at: number; changes: string[] }[];
  plan: Plan | null;
  status: RunStatus;
  /** The message of `run_finished`. */
  message: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** Tasks by id, in plan order (tasks the plan does not name follow, in order of appearance). */
  tasks: Map<string, TaskState>;
  integration: VerificationState;
  /** Every request of the run, planner and reviewer included. */
  usage: TokenTotals;
  /** The budget that stopped the run, if one did (cleared by a resume). */
  budgetHit: BudgetHit | null;
  /**
   * The apply of the run's integration branch onto the developer's branch since the run last
   * finished (a resume clears it: the run may then merge more), with the branch it went onto (null
   * in journals written before the branch was recorded).
   */
  applied: { commit: string; mode: 'squash' | 'merge'; at: number; branch: string | null } | null;
  /** The seq of the last event folded in; 0 before any. */
  lastSeq: number;
  /** Tasks that were mid-work when the run was interrupted, in plan order. Set by `reduceJournal`. */
  interrupted: string[];
  /** How many times the run was resumed. */
  resumes: number;
  /** Commands the developer allowed for the rest of the run (core/approver.ts `askKey`). */
  allowedForRun: Set<string>;
}

/** The state before any event. */
export function createRunState(): RunState {
  return {
    runId: '',
    repo: null,
    base: null,
    baseSnapshot: false,
    baseBranch: null,
    settings: null,
    settingsChanges: [],
    plan: null,
    status: 'running',
    message: null,
    startedAt: null,
    finishedAt: null,
    tasks: new Map(),
    integration: { last: null, rounds: 0 },
    usage: emptyTotals(),
    budgetHit: null,
    applied: null,
    lastSeq: 0,
    interrupted: [],
    resumes: 0,
    allowedForRun: new Set(),
  };
}

/** A task in its first state. */
export function createTaskState(id: string, spec: TaskSpec | null): TaskState {
  return {
    id,
    spec,
    status: 'queued',
    reason: null,
    worktree: null,
    branch: null,
    from: null,
    commit: null,
    files: [],
    step: 0,
    tool: null,
    toolCalls: 0,
    compactions: [],
    startedAt: null,
    endedAt: null,
    verification: { last: null, rounds: 0 },
    review: null,
    merge: null,
    usage: emptyTotals(),
    ask: null,
  };
}

/** Rebuild a run's state from its events, then mark it interrupted when it never finished. */
export function reduceJournal(events: readonly JournalEvent[]): RunState {
  const state = createRunState();
  for (const event of events) applyEvent(state, event);
  markInterrupted(state);
  return state;
}

/**
 * For a state folded from a whole journal: when the run is still `running` (no `run_finished`
 * after the last start or resume), set it `interrupted` and list the tasks that were mid-work
 * (neither queued nor in a final status). Task statuses are left as recorded.
 */
export function markInterrupted(state: RunState): void {
  if (state.status !== 'running') return;
  state.status = 'interrupted';
  state.interrupted = [];
  for (const task of state.tasks.values()) {
    task.ask = null;
    if (task.status !== 'queued' && !FINAL_TASK_STATUSES.has(task.status)) state.interrupted.push(task.id);
  }
}

/** Fold one event into `state` (mutating it). Unknown event types are ignored. */
export function applyEvent(state: RunState, event: JournalEvent): void {
  state.lastSeq = event.seq;
  switch (event.type) {
    case 'run_started':
      applyStart(state, event);
      return;
    case 'plan':
      applyPlan(state, event.plan);
      return;
    case 'run_resumed':
      applyResume(state);
      return;
    case 'run_finished':
      state.status = event.status;
      state.message = finishedMessage(event.message, state.integration);
      state.finishedAt = event.t;
      return;
    case 'budget_stop':
      state.budgetHit = event.hit;
      return;
    case 'settings_changed':
      state.settings = event.settings;
      state.settingsChanges.push({ at: event.t, changes: event.changes });
      return;
    case 'applied':
      state.applied = { commit: event.commit, mode: event.mode, at: event.t, branch: event.branch ?? null };
      state.message = appliedMessage(state.message, state.applied);
      return;
    case 'model_request':
      addUsage(state.usage, event.usage, event.cost, event.timing);
      if (event.taskId !== null) addUsage(taskIn(state, event.taskId).usage, event.usage, event.cost, event.timing);
      return;
    case 'verification': {
      const target = event.taskId === INTEGRATION_ID ? state.integration : taskIn(state, event.taskId).verification;
      target.last = { round: event.round, ...stoppedChecks(event.status, event.checks), at: event.t };
      target.rounds += 1;
      return;
    }
    default:
      applyTaskEvent(state, event);
  }
}

function applyStart(state: RunState, event: Extract<JournalEvent, { type: 'run_started' }>): void {
  state.runId = event.runId;
  state.repo = event.repo;
  state.base = event.base;
  state.baseSnapshot = event.baseSnapshot;
  state.baseBranch = event.baseBranch;
  state.settings = event.settings;
  state.startedAt = event.t;
  state.status = 'running';
}

/**
 * The words the run finishes with when it can be applied; the fold replaces them with how it was
 * applied once it is (src/core/runFinish.ts ends a completed run's message with them).
 */
export const READY_TO_APPLY = '; ready to apply onto your branch.';

/** How journals written before "not verified (no checks)" ended a completed run's message. */
const LEGACY_READY = '; verified there, ready to apply onto your branch.';

/**
 * The message a run finished with, as the state keeps it: an older journal's "verified there" is
 * said as today's words, which tell checks that passed from checks that never ran.
 */
function finishedMessage(message: string, integration: VerificationState): string {
  if (!message.endsWith(LEGACY_READY)) return message;
  const verified = integration.last?.status === 'passed' ? ' and verified together' : ', not verified (no checks)';
  return `${message.slice(0, -LEGACY_READY.length)}${verified}${READY_TO_APPLY}`;
}

/** The run's message once it is applied: what it said when it finished, then where it went. */
function appliedMessage(finished: string | null, applied: NonNullable<RunState['applied']>): string {
  const said = (finished ?? '').endsWith(READY_TO_APPLY)
    ? (finished ?? '').slice(0, -READY_TO_APPLY.length)
    : (finished ?? '').replace(/[.\s]+$/, '');
  const how = applied.mode === 'squash' ? 'as one commit' : 'as a merge';
  const where = `applied onto ${applied.branch ?? 'your branch'} ${how} ${applied.commit.slice(0, 10)}.`;
  return said ? `${said}; ${where}` : `A${where.slice(1)}`;
}

/**
 * A verification as the state keeps it. Journals written before checks could be `stopped` recorded
 * a check cut short by a stop as `failed` with ABORTED_REASON (and the round as `failed`): those
 * read as stopped, so an old run does not claim its checks failed.
 */
function stoppedChecks(
  status: VerificationStatus,
  checks: CheckResult[],
): { status: VerificationStatus; checks: CheckResult[] } {
  const cut = (c: CheckResult) => c.reason === ABORTED_REASON && c.status === 'failed';
  if (status !== 'failed' || !checks.some(cut)) return { status, checks };
  return {
    status: 'stopped',
    checks: checks.map((c) => (cut(c) ? { ...c, status: 'stopped', reason: STOPPED_REASON } : c)),
  };
}

/** A resume: running again; what the last stop left (message, budget hit, interruption, apply) is cleared. */
function applyResume(state: RunState): void {
  state.status = 'running';
  state.message = null;
  state.applied = null;
  state.finishedAt = null;
  state.budgetHit = null;
  state.interrupted = [];
  state.resumes += 1;
}

/** The events that concern one task. */
function applyTaskEvent(state: RunState, event: JournalEvent): void {
  switch (event.type) {
    case 'task_status':
      applyStatus(taskIn(state, event.taskId), event.status, event.reason ?? null, event.t);
      return;
    case 'task_worktree': {
      const task = taskIn(state, event.taskId);
      task.worktree = event.path;
      task.branch = event.branch;
      task.from = event.from;
      return;
    }
    case 'task_step': {
      const task = taskIn(state, event.taskId);
      task.step = event.step;
      task.tool = event.tool;
      return;
    }
    case 'tool_call':
      taskIn(state, event.taskId).toolCalls += 1;
      return;
    case 'compacted': {
      const { step, atMessage, tokensBefore, tokensAfter, elided, keptTurns, contextWindow } = event;
      taskIn(state, event.taskId).compactions.push({
        step,
        atMessage,
        tokensBefore,
        tokensAfter,
        elided,
        keptTurns,
        contextWindow,
      });
      return;
    }
    case 'approval_asked':
      taskIn(state, event.taskId).ask = {
        askId: event.askId,
        line: event.line,
        policy: event.policy,
        why: event.why,
        at: event.t,
      };
      return;
    case 'approval_answered': {
      const task = taskIn(state, event.taskId);
      if (task.ask?.askId !== event.askId) return;
      if (event.approved && event.scope === 'run')
        state.allowedForRun.add(askKey(task.ask.policy.rule, task.ask.policy.command));
      task.ask = null;
      return;
    }
    case 'task_committed': {
      const task = taskIn(state, event.taskId);
      task.commit = event.commit;
      // Every commit's files, not only the latest's: a repair round touches a subset of them.
      for (const f of event.files) if (!task.files.includes(f)) task.files.push(f);
      return;
    }
    case 'review':
      taskIn(state, event.taskId).review = { approved: event.approved, comments: event.comments };
      return;
    case 'merge':
      taskIn(state, event.taskId).merge = {
        ok: event.ok,
        commit: event.commit ?? null,
        conflicts: event.conflicts ?? [],
        message: event.message ?? null,
      };
      return;
    default:
      // Run-level events are handled by applyEvent; notes and unknown types change no state.
      return;
  }
}

/** A new status for a task, with its start and end times. */
function applyStatus(task: TaskState, status: TaskStatus, reason: string | null, t: number): void {
  task.status = status;
  task.reason = reason;
  // An ask belongs to the agent's work; a new status (a resume's included) ends it.
  task.ask = null;
  if (status !== 'working') task.tool = null;
  if (task.startedAt === null && (status === 'setting_up' || status === 'working')) task.startedAt = t;
  task.endedAt = FINAL_TASK_STATUSES.has(status) ? t : null;
}

/** Install the plan: tasks in plan order, keeping the state of tasks already known. */
function applyPlan(state: RunState, plan: Plan): void {
  state.plan = plan;
  const tasks = new Map<string, TaskState>();
  for (const spec of plan.tasks) {
    const known = state.tasks.get(spec.id);
    if (known) known.spec = spec;
    tasks.set(spec.id, known ?? createTaskState(spec.id, spec));
  }
  for (const [id, task] of state.tasks) {
    if (!tasks.has(id)) tasks.set(id, task);
  }
  state.tasks = tasks;
}

/** The task named `id`, created (after the plan's tasks) when the journal names it first. */
function taskIn(state: RunState, id: string): TaskState {
  let task = state.tasks.get(id);
  if (!task) {
    task = createTaskState(id, null);
    state.tasks.set(id, task);
  }
  return task;
}
