/**
 * The run engine: schedules a plan's tasks over the worktrees, up to a concurrency limit, as soon
 * as their dependencies are merged; carries out the developer's decisions on them; and, when no
 * task can move, verifies the integration branch and ends the run. Its books (journal, ledger,
 * budgets) and the integration branch are a private RunHost (core/runHost.ts), which each task
 * pipeline is given.
 *
 * Every change of state is an event appended to the journal first; the engine's view of the run
 * (`state`) is that journal folded with `applyEvent`, so a run rebuilt from its journal after a
 * crash is the same run.
 */
import { INTEGRATION_ID, integrationBranch, taskBranch } from './branches';
import { decisionRefusal } from './decisions';
import type { Decision, TaskDecision } from './decisions';
import { errorMessage } from './errors';
import type { JournalEvent, RunEnd, TaskStatus } from './journal';
import type { Ledger } from './ledger';
import type { ModelResponse } from './model';
import type { Plan, TaskSpec } from './plan';
import { changesRequestedPrompt, RESUMED_NOTE } from './prompts';
import { RunHost } from './runHost';
import type { RunListener } from './runHost';
import type { RunState } from './runState';
import { reduceJournal } from './runState';
import type { RunConfig, RunDeps } from './runTypes';
import { DEAD_DEPENDENCY_STATUSES, FINAL_TASK_STATUSES, KEPT_ON_RESUME_TASK_STATUSES } from './statusSets';
import { mergeEvent, runTaskPipeline } from './taskPipeline';
import type { TaskProgress } from './taskPipeline';
import { runChecks } from './verify';

interface TaskRuntime {
  spec: TaskSpec;
  progress: TaskProgress;
  abort: AbortController | null;
}

/** How a new run starts. */
export interface NewRun {
  plan: Plan;
  repoView: string;
  base: { commit: string; snapshot: boolean; branch: string | null };
}

export class RunEngine {
  private readonly host: RunHost;
  private readonly tasks = new Map<string, TaskRuntime>();
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;
  private active: Promise<RunState> | null = null;

  private constructor(
    deps: RunDeps,
    readonly config: RunConfig,
    plan: Plan,
    repoView: string,
    base: string,
    history: JournalEvent[],
  ) {
    this.host = new RunHost(deps, config, plan, repoView, base, history);
    for (const spec of plan.tasks) {
      this.tasks.set(spec.id, {
        spec,
        abort: null,
        progress: { steps: 0, tokens: 0, worktree: null, pendingNote: null },
      });
    }
  }

  /** Start a new run: records its start and plan in the journal. */
  static create(deps: RunDeps, config: RunConfig, run: NewRun): RunEngine {
    const engine = new RunEngine(deps, config, run.plan, run.repoView, run.base.commit, []);
    const host = engine.host;
    host.emit({
      type: 'run_started',
      runId: config.runId,
      repo: deps.repo.root,
      base: run.base.commit,
      baseSnapshot: run.base.snapshot,
      baseBranch: run.base.branch,
      settings: {
        endpoint: deps.model.endpoint,
        model: deps.model.model,
        concurrency: config.concurrency,
        budgets: config.budgets,
        autoMerge: config.autoMerge !== false,
      },
    });
    host.emit({ type: 'plan', plan: run.plan, repoView: run.repoView });
    for (const t of run.plan.tasks) host.emit({ type: 'task_status', taskId: t.id, status: 'queued' });
    return engine;
  }

  /**
   * Resume a run from its journal: merged tasks stay merged, verified ones are merged, tasks that
   * were in flight are marked interrupted and continue in their worktrees with their conversations,
   * and stopped or blocked ones are queued again. Failed tasks stay failed.
   */
  static resume(deps: RunDeps, config: RunConfig, history: JournalEvent[], fallbackRepoView: string): RunEngine {
    const before = reduceJournal(history);
    let repoView = fallbackRepoView;
    for (const e of history) if (e.type === 'plan' && e.repoView !== undefined) repoView = e.repoView;
    if (!before.plan) throw new Error(`run ${config.runId} has no plan in its journal; it cannot be resumed`);
    if (!before.base) throw new Error(`run ${config.runId} has no base commit in its journal; it cannot be resumed`);
    // A run keeps the merge policy it was started with.
    const kept = { ...config, autoMerge: before.settings?.autoMerge ?? config.autoMerge };
    const engine = new RunEngine(deps, kept, before.plan, repoView, before.base, history);
    engine.host.emit({ type: 'run_resumed' });
    for (const rt of engine.tasks.values()) engine.prepareResume(rt);
    return engine;
  }

  private prepareResume(rt: TaskRuntime): void {
    const t = this.state.tasks.get(rt.spec.id);
    if (!t) return;
    rt.progress.steps = t.step;
    rt.progress.tokens = t.usage.input + t.usage.output;
    if (t.worktree && t.branch && t.from) rt.progress.worktree = { path: t.worktree, branch: t.branch, from: t.from };
    if (KEPT_ON_RESUME_TASK_STATUSES.has(t.status)) return;
    if (!FINAL_TASK_STATUSES.has(t.status)) {
      this.host.emit({
        type: 'task_status',
        taskId: rt.spec.id,
        status: 'interrupted',
        reason: `was ${t.status} when the run stopped`,
      });
    }
    if (rt.progress.worktree) rt.progress.pendingNote = RESUMED_NOTE;
    this.host.emit({ type: 'task_status', taskId: rt.spec.id, status: 'queued', reason: 'resumed' });
  }

  /** The run's state: its journal so far, folded. */
  get state(): RunState {
    return this.host.state;
  }

  /** Every request of the run, booked. */
  get ledger(): Ledger {
    return this.host.ledger;
  }

  /** Listen to every event as it is appended; returns a function that stops listening. */
  onEvent(listener: RunListener): () => void {
    return this.host.onEvent(listener);
  }

  /** Book the planner's requests that produced this run's plan (made before the run existed). */
  recordPlanningResponses(responses: readonly ModelResponse[]): void {
    for (const r of responses) this.host.bookResponse('planner', null, r);
  }

  /** Record that the integration branch was applied onto the developer's branch. */
  recordApply(commit: string, mode: 'squash' | 'merge'): void {
    this.host.emit({ type: 'applied', commit, mode });
  }

  private status(id: string): TaskStatus {
    return this.host.status(id);
  }

  // --- Scheduling ------------------------------------------------------------------------------

  /**
   * Run until no task can move, then verify the integration branch. May be called again after it
   * returns (after the developer accepted a task or sent one back): the run continues. A call while
   * the run is going returns the same promise.
   */
  run(): Promise<RunState> {
    this.active ??= this.runToRest().finally(() => (this.active = null));
    return this.active;
  }

  private async runToRest(): Promise<RunState> {
    if (this.state.status !== 'running') this.host.emit({ type: 'run_resumed' });
    this.stopping = false;
    try {
      await this.host.integrationWorktree();
    } catch (e) {
      this.host.emit({
        type: 'run_finished',
        status: 'failed',
        message: `could not create the integration worktree: ${errorMessage(e)}`,
      });
      return this.state;
    }
    if (this.config.autoMerge !== false) {
      for (const rt of this.tasks.values()) {
        if (this.status(rt.spec.id) === 'verified') this.track(rt.spec.id, this.mergeVerified(rt));
      }
    }
    while (true) {
      this.blockUnreachable();
      if (!this.host.runBudgetHit && !this.stopping) this.launchReady();
      if (this.running.size === 0) break;
      await Promise.race(this.running.values());
    }
    await this.finish();
    await this.host.deps.journal.flush();
    return this.state;
  }

  /** Stop one task: its model request is cancelled and its processes killed; work is kept. */
  stopTask(taskId: string): void {
    const rt = this.tasks.get(taskId);
    if (!rt) return;
    if (rt.abort) rt.abort.abort();
    else if (this.status(taskId) === 'queued')
      this.host.emit({
        type: 'task_status',
        taskId,
        status: 'stopped',
        reason: 'stopped by the user before it started',
      });
  }

  /** Stop the whole run. */
  stopAll(): void {
    this.stopping = true;
    for (const id of this.tasks.keys()) this.stopTask(id);
  }

  private launchReady(): void {
    for (const rt of this.tasks.values()) {
      if (this.running.size >= this.config.concurrency) return;
      const id = rt.spec.id;
      if (this.status(id) !== 'queued' || this.running.has(id)) continue;
      if (!rt.spec.dependsOn.every((d) => this.status(d) === 'merged')) continue;
      const abort = new AbortController();
      rt.abort = abort;
      this.track(id, runTaskPipeline(this.host, rt.spec, rt.progress, abort.signal));
    }
  }

  private track(id: string, work: Promise<void>): void {
    const rt = this.tasks.get(id);
    const done = work
      .catch((e: unknown) => {
        const stopped = rt?.abort?.signal.aborted;
        this.host.emit({
          type: 'task_status',
          taskId: id,
          status: stopped ? 'stopped' : 'failed',
          reason: stopped ? 'stopped by the user' : `unexpected error: ${errorMessage(e)}`,
        });
      })
      .finally(() => {
        if (rt) rt.abort = null;
        this.running.delete(id);
      });
    this.running.set(id, done);
  }

  /** Queued tasks whose dependencies can no longer be merged are blocked, with the reason. */
  private blockUnreachable(): void {
    for (const rt of this.tasks.values()) {
      if (this.status(rt.spec.id) !== 'queued') continue;
      const dead = rt.spec.dependsOn.find((d) => DEAD_DEPENDENCY_STATUSES.has(this.status(d)));
      if (dead === undefined) continue;
      const why = this.state.tasks.get(dead)?.reason;
      this.host.emit({
        type: 'task_status',
        taskId: rt.spec.id,
        status: 'blocked',
        reason: `depends on ${dead}, which is ${this.status(dead)}${why ? ` (${why})` : ''}`,
      });
    }
  }

  private async mergeVerified(rt: TaskRuntime): Promise<void> {
    const branch = rt.progress.worktree?.branch ?? taskBranch(this.config.runId, rt.spec.id);
    const merge = await this.host.mergeTask(rt.spec, branch);
    this.host.emit(mergeEvent(rt.spec.id, merge));
    this.host.emit({
      type: 'task_status',
      taskId: rt.spec.id,
      status: merge.ok ? 'merged' : 'failed',
      ...(merge.ok ? {} : { reason: merge.message }),
    });
  }

  // --- The developer's decisions -------------------------------------------------------------

  /** Merge a verified task that waits for the developer. Call `run()` afterwards to go on. */
  acceptTask(taskId: string): Decision {
    const ruled = this.ruled(taskId, { kind: 'accept' });
    if ('refused' in ruled) return ruled.refused;
    const { rt } = ruled;
    const busy = this.running.get(taskId);
    if (busy) {
      // Just verified: its pipeline is still winding down. Merge once it has, unless it merged meanwhile.
      void busy.then(() => {
        if (this.status(taskId) === 'verified' && !this.running.has(taskId)) this.track(taskId, this.mergeVerified(rt));
      });
      return { ok: true };
    }
    this.track(taskId, this.mergeVerified(rt));
    return { ok: true };
  }

  /** Discard a task that is not merged: its worktree and branch are removed. */
  async rejectTask(taskId: string): Promise<Decision> {
    const ruled = this.ruled(taskId, { kind: 'reject' });
    if ('refused' in ruled) return ruled.refused;
    const { rt } = ruled;
    if (this.status(taskId) === 'rejected') return { ok: true };
    const t = this.state.tasks.get(taskId);
    const branch = t?.branch ?? taskBranch(this.config.runId, taskId);
    if (t?.worktree) await this.host.deps.repo.removeWorktree(t.worktree, { deleteBranch: branch });
    rt.progress.worktree = null;
    this.host.emit({
      type: 'task_status',
      taskId,
      status: 'rejected',
      reason: `rejected by the developer; ${branch} and its worktree were removed`,
    });
    return { ok: true };
  }

  /**
   * Send a task back to its agent with the developer's comments: it continues in the same worktree
   * and conversation, is verified again and, once accepted (or at once with auto-merge), merged
   * again. Call `run()` afterwards to go on.
   */
  requestChanges(taskId: string, comments: string): Decision {
    const ruled = this.ruled(taskId, { kind: 'requestChanges', comments });
    if ('refused' in ruled) return ruled.refused;
    const { rt } = ruled;
    const t = this.state.tasks.get(taskId);
    if (t?.worktree && t.branch && t.from) rt.progress.worktree = { path: t.worktree, branch: t.branch, from: t.from };
    rt.progress.pendingNote = changesRequestedPrompt('developer', comments);
    this.host.emit({ type: 'note', taskId, message: `changes requested: ${comments.trim()}` });
    this.host.emit({ type: 'task_status', taskId, status: 'queued', reason: 'changes requested by the developer' });
    return { ok: true };
  }

  /** The task a decision is about, or the decision's refusal by the shared rule (core/decisions.ts). */
  private ruled(taskId: string, decision: TaskDecision): { rt: TaskRuntime } | { refused: Decision } {
    const rt = this.tasks.get(taskId);
    const subject = rt ? { status: this.status(taskId), running: this.running.has(taskId) } : null;
    const why = decisionRefusal(taskId, decision, subject);
    if (why) return { refused: { ok: false, ...why } };
    // The rule refuses a task the run does not have, so `rt` is known here.
    if (!rt) throw new Error(`the decision rule let through ${taskId}, which is not a task of this run`);
    return { rt };
  }

  // --- The end of a run ---------------------------------------------------------------------

  private async finish(): Promise<void> {
    const ids = [...this.tasks.keys()];
    const waiting = ids.filter((id) => this.status(id) === 'verified');
    // A task queued behind tasks that wait for review stays queued: accepting them lets it start.
    if (this.stopping || this.host.runBudgetHit || waiting.length === 0) {
      const notStarted = this.host.runBudgetHit
        ? 'not started: the run budget was reached'
        : 'not started: the run was stopped';
      for (const id of ids) {
        if (this.status(id) === 'queued')
          this.host.emit({ type: 'task_status', taskId: id, status: 'stopped', reason: notStarted });
      }
    }
    const merged = ids.filter((id) => this.status(id) === 'merged').length;
    let integrationFailed = false;
    if (merged > 0 && waiting.length === 0 && !this.stopping) {
      const cwd = await this.host.integrationWorktree();
      const result = await runChecks(this.config.checks, {
        runner: this.host.deps.runner,
        cwd,
        timeoutMs: this.config.checkTimeoutMs,
      });
      this.host.emit({
        type: 'verification',
        taskId: INTEGRATION_ID,
        round: 1,
        status: result.status,
        checks: result.checks,
      });
      integrationFailed = result.status === 'failed';
    }
    const branch = integrationBranch(this.config.runId);
    const rejected = ids.filter((id) => this.status(id) === 'rejected').length;
    const counts = `${merged} of ${ids.length} task(s) merged into ${branch}${rejected ? ` (${rejected} rejected by you)` : ''}`;
    if (this.stopping) return this.end('stopped', `${counts}; the run was stopped and can be resumed.`);
    if (this.host.runBudgetHit)
      return this.end(
        'budget',
        `${counts}; stopped by the run's ${this.host.runBudgetHit.kind} budget (${this.host.runBudgetHit.used} of ${this.host.runBudgetHit.limit}). Raise it and resume the run.`,
      );
    if (waiting.length > 0) {
      return this.end(
        'review',
        `${counts}; ${waiting.length} verified task(s) wait for you: ${waiting.join(', ')}. Accept, reject or request changes.`,
      );
    }
    if (merged > 0 && merged + rejected === ids.length && !integrationFailed) {
      return this.end('completed', `${counts}; verified there, ready to apply onto your branch.`);
    }
    const why = integrationFailed ? 'the checks failed on the integration branch' : 'some tasks did not merge';
    this.end('failed', `${counts}; ${why}.`);
  }

  private end(status: RunEnd, message: string): void {
    this.host.emit({ type: 'run_finished', status, message });
  }
}
