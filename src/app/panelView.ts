/**
 * The board's projection: a run's state (src/core/runState.ts) as the panel's RunView and
 * TaskRows (src/protocol/panel.ts). Built up to ten times a second for up to a hundred tasks, so
 * the parts of a row that only change with the task's events are cached per task, keyed by the
 * tracker's row key; elapsed time, tokens/s and the allowed actions are computed fresh.
 */
import { integrationBranch } from '../core/branches';
import type { BudgetHit, CheckResult } from '../core/journal';
import type { TokenTotals } from '../core/ledger';
import { runPhase } from '../core/runState';
import type { RunState, RunStatus, TaskState, VerificationState } from '../core/runState';
import { decisionRefusal } from '../core/decisions';
import type { DecisionContext, TaskDecision } from '../core/decisions';
import { ACTIVE_TASK_STATUSES, RESUMABLE_RUN_STATUSES } from '../core/statusSets';
import type { Applied, AskView, RunView, TaskRow, Usage, VerificationView } from '../protocol/panel';
import type { AskGroup } from '../core/approvalDesk';
import { askKey } from '../core/approver';
import type { ChangeRounds } from './changeRounds';
import type { RunTracker } from './runTracker';

/** What the projection needs besides the state. */
export interface BoardContext {
  /** The engine is driving the run in this window. */
  live: boolean;
  /** Another process holds the run's lock (it is being driven elsewhere). */
  elsewhere: boolean;
  now: number;
  tracker: RunTracker;
  /** The asks waiting in this window's approval desk (they carry the deadlines); none when not live. */
  asks?: readonly AskGroup[];
  /** A decision would reopen the run from its journal first (no engine of this window can take it). */
  reopening?: boolean;
  /** The tasks' change rounds; none when the board does not follow them. */
  rounds?: ChangeRounds;
}

/**
 * Run statuses the board offers Resume for: besides a run that left work undone, a failed one,
 * which may hold stopped tasks that a resume queues again.
 */
const BOARD_RESUMABLE: ReadonlySet<RunStatus> = new Set([...RESUMABLE_RUN_STATUSES, 'failed']);

type StaticRow = Omit<TaskRow, 'elapsedMs' | 'tokensPerSecond' | 'actions' | 'ask' | 'changes'>;

/** Projects one run's state; keeps the row cache of that run (make one per run on the board). */
export class BoardProjector {
  private readonly rows = new Map<string, { key: string; row: StaticRow }>();

  /** The RunView of `state` now. */
  project(state: RunState, ctx: BoardContext): RunView {
    const hold = state.settings?.autoMerge === false;
    const tasks: TaskRow[] = [];
    const counts: Record<string, number> = {};
    const integrationFiles = new Set<string>();
    const asking = askingTasks(state);
    for (const task of state.tasks.values()) {
      tasks.push(this.row(task, hold, ctx, state, asking));
      counts[task.status] = (counts[task.status] ?? 0) + 1;
      if (task.status === 'merged') for (const f of task.files) integrationFiles.add(f);
    }
    const live = ctx.live;
    const elsewhere = ctx.elsewhere && !live;
    const status = elsewhere ? 'running' : state.status;
    return {
      runId: state.runId,
      status: elsewhere ? 'running' : runPhase(state),
      message: ctx.elsewhere && !live ? 'Another Foreman process is driving this run.' : state.message,
      live,
      spec: state.plan?.spec ?? '',
      model: state.settings?.model ?? null,
      endpoint: state.settings?.endpoint ?? null,
      base: state.base ? state.base.slice(0, 10) : null,
      baseBranch: state.baseBranch,
      startedAt: state.startedAt,
      finishedAt: state.finishedAt,
      usage: usageOf(state.usage),
      tokensPerSecond: live ? ctx.tracker.meter.runRate(ctx.now) : ctx.tracker.meter.overallRate(),
      rate: ctx.tracker.meter.samples(ctx.now, live),
      budget: budgetOf(state),
      budgetHit: budgetHitOf(state),
      tasks,
      asks: { tasks: [...asking.values()].reduce((n, ids) => n + ids.length, 0), commands: asking.size },
      ...runAsksOf(ctx),
      counts,
      integration: {
        branch: integrationBranch(state.runId),
        verification: verificationOf(state.integration),
        files: [...integrationFiles].sort(),
      },
      holdForReview: hold,
      applied: appliedOf(state),
      actions: runActions(state, status, live, ctx.elsewhere, counts.merged ?? 0),
      telemetry: ctx.tracker.telemetry.view(ctx.now),
    };
  }

  private row(
    task: TaskState,
    hold: boolean,
    ctx: BoardContext,
    state: RunState,
    asking: ReadonlyMap<string, string[]>,
  ): TaskRow {
    const key = ctx.tracker.rowKey(task.id);
    let cached = this.rows.get(task.id);
    if (!cached || cached.key !== key) {
      cached = { key, row: staticRow(task) };
      this.rows.set(task.id, cached);
    }
    const live = ctx.live;
    return {
      ...cached.row,
      elapsedMs: elapsedOf(task, ctx, state),
      tokensPerSecond: live ? ctx.tracker.meter.taskRate(task.id, ctx.now) : ctx.tracker.meter.overallTaskRate(task.id),
      ask: askOf(task, ctx, asking),
      changes: ctx.rounds?.view(task.id) ?? null,
      actions: taskActions(task, hold, live, {
        reopening: ctx.reopening ?? !live,
        applied: state.applied !== null,
      }),
    };
  }
}

/** The tasks waiting on each command (by ask key), in board order. */
function askingTasks(state: RunState): Map<string, string[]> {
  const asking = new Map<string, string[]>();
  for (const task of state.tasks.values()) {
    if (!task.ask) continue;
    const key = askKey(task.ask.policy.rule, task.ask.policy.command);
    asking.set(key, [...(asking.get(key) ?? []), task.id]);
  }
  return asking;
}

/** The asks this window holds that belong to no task (an MCP server's pin), when there are any. */
function runAsksOf(ctx: BoardContext): Pick<RunView, 'runAsks'> {
  if (!ctx.live) return {};
  const runAsks: AskView[] = [];
  for (const group of ctx.asks ?? []) {
    const first = group.asks.find((a) => a.task === null);
    if (!first) continue;
    runAsks.push({
      key: group.key,
      command: group.command,
      line: first.line,
      rule: group.rule.id,
      why: group.rule.why,
      askedAt: first.askedAt,
      expiresAt: first.expiresAt,
      others: [],
      answerable: true,
    });
  }
  return runAsks.length ? { runAsks } : {};
}

/** The ask a task's agent waits on, with the others waiting on the same command. */
function askOf(task: TaskState, ctx: BoardContext, asking: ReadonlyMap<string, string[]>): AskView | null {
  const ask = task.ask;
  if (!ask) return null;
  const key = askKey(ask.policy.rule, ask.policy.command);
  const pending = ctx.live ? ctx.asks?.flatMap((g) => g.asks).find((a) => a.id === ask.askId) : undefined;
  return {
    key,
    command: ask.policy.command,
    line: ask.line,
    rule: ask.policy.rule,
    why: ask.why,
    askedAt: ask.at,
    expiresAt: pending?.expiresAt ?? null,
    others: (asking.get(key) ?? []).filter((id) => id !== task.id),
    answerable: pending !== undefined,
  };
}

/** The parts of a row that change only with the task's own events. */
function staticRow(task: TaskState): StaticRow {
  return {
    id: task.id,
    title: task.spec?.title ?? task.id,
    status: task.status,
    reason: task.reason,
    step: task.step,
    tool: task.tool,
    dependsOn: task.spec?.dependsOn ?? [],
    usage: usageOf(task.usage),
    verification: verificationOf(task.verification),
    review: task.review,
    merge: task.merge ? { ok: task.merge.ok, conflicts: task.merge.conflicts, message: task.merge.message } : null,
    files: task.files,
  };
}

/** Working time: from the first start to the end, to now while it works, else to its last change. */
function elapsedOf(task: TaskState, ctx: BoardContext, state: RunState): number | null {
  if (task.startedAt === null) return null;
  const end =
    task.endedAt ??
    (ctx.live && ACTIVE_TASK_STATUSES.has(task.status)
      ? ctx.now
      : (ctx.tracker.lastStatusAt(task.id) ?? state.finishedAt ?? ctx.now));
  return Math.max(0, end - task.startedAt);
}

/**
 * What the developer may do to a task now. Request changes is offered only where the decision rule
 * (core/decisions.ts) would take it: not of a task that never started, nor of a merged task of an
 * applied run, nor of one the reopening of the run would queue again.
 */
export function taskActions(
  task: TaskState,
  hold: boolean,
  live: boolean,
  run: DecisionContext = { reopening: !live },
): TaskRow['actions'] {
  const running = ACTIVE_TASK_STATUSES.has(task.status);
  const subject = { status: task.status, running: live && running, started: task.startedAt !== null };
  return {
    stop: live && (running || task.status === 'queued'),
    accept: task.status === 'verified' && hold,
    reject: task.status !== 'merged' && task.status !== 'rejected' && !(live && running),
    requestChanges: decisionRefusal(task.id, ANY_CHANGE, subject, run) === null,
    diff: task.branch !== null || task.commit !== null,
    transcript: task.startedAt !== null,
    audit: task.startedAt !== null,
  };
}

/** A change request as the decision rule sees it when only whether one may be made is asked. */
const ANY_CHANGE: TaskDecision = { kind: 'requestChanges', comments: 'any' };

/** What the developer may do to the run now (nothing but watch while another process drives it). */
function runActions(
  state: RunState,
  status: RunStatus,
  live: boolean,
  elsewhere: boolean,
  merged: number,
): RunView['actions'] {
  const appliable = status === 'completed' || (status === 'review' && merged > 0);
  const busy = live || elsewhere;
  return {
    stopAll: live,
    apply: !busy && state.applied === null && appliable,
    resume: !busy && BOARD_RESUMABLE.has(status),
  };
}

/** How the run was applied, as the panel shows it; null when it was not (since it last finished). */
export function appliedOf(state: Pick<RunState, 'applied'>): Applied | null {
  const a = state.applied;
  return a ? { commit: a.commit, mode: a.mode, branch: a.branch } : null;
}

/** Token totals as the panel shows them. */
export function usageOf(t: Readonly<TokenTotals>): Usage {
  return {
    input: t.input,
    cached: t.cached,
    output: t.output,
    cost: t.cost,
    unpriced: t.unpriced > 0,
    estimated: t.estimated,
  };
}

function verificationOf(v: VerificationState): VerificationView | null {
  if (!v.last) return null;
  return { status: v.last.status, round: v.last.round, checks: v.last.checks.map(checkOf) };
}

function checkOf(c: CheckResult): VerificationView['checks'][number] {
  return {
    name: c.name,
    command: c.command,
    status: c.status,
    exitCode: c.exitCode,
    durationMs: c.durationMs,
    reason: c.reason ?? null,
  };
}

function budgetOf(state: RunState): RunView['budget'] {
  const b = state.settings?.budgets;
  return {
    tokens: b?.runTokens != null ? { used: state.usage.input + state.usage.output, limit: b.runTokens } : null,
    cost: b?.runCost != null ? { used: state.usage.cost, unpriced: state.usage.unpriced > 0, limit: b.runCost } : null,
  };
}

/**
 * The budget that stopped the run, with its limit now and the most used against it: the run's
 * total, or for the per-task budget the largest total of a stopped task (each starts again on a
 * resume, so a new limit must be above all of them).
 */
function budgetHitOf(state: RunState): RunView['budgetHit'] {
  const hit = state.budgetHit;
  if (!hit) return null;
  const key = `${hit.scope}${hit.kind === 'tokens' ? 'Tokens' : 'Cost'}` as const;
  const amount = (u: TokenTotals) => (hit.kind === 'tokens' ? u.input + u.output : (u.cost ?? 0));
  let used = hit.scope === 'run' ? amount(state.usage) : hit.used;
  if (hit.scope === 'task')
    for (const task of state.tasks.values()) if (task.status === 'stopped') used = Math.max(used, amount(task.usage));
  return { scope: hit.scope, kind: hit.kind, limit: state.settings?.budgets[key] ?? hit.limit, used };
}

/** A budget hit in words, e.g. "The run's token budget was reached: 12,345 of 10,000 tokens." */
export function budgetWords(hit: BudgetHit): string {
  const whose = hit.scope === 'run' ? "The run's" : `Task ${hit.taskId ?? '?'}'s`;
  if (hit.kind === 'cost') return `${whose} cost budget was reached: ${hit.used.toFixed(4)} of ${hit.limit}.`;
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return `${whose} token budget was reached: ${n(hit.used)} of ${n(hit.limit)} tokens.`;
}
