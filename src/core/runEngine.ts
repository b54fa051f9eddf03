/**
 * The run engine: schedules a plan's tasks over the worktrees, up to a concurrency limit, as soon
 * as their dependencies are merged; books every request in the ledger and the journal; enforces
 * budgets; merges verified work into the integration branch and verifies it again there.
 *
 * Every change of state is an event appended to the journal first; the engine's view of the run
 * (`state`) is that journal folded with `applyEvent`, so a run rebuilt from its journal after a
 * crash is the same run.
 */
import { INTEGRATION_ID, integrationBranch, taskBranch } from './branches';
import { BudgetGuard } from './budget';
import type { BudgetHit, JournalEvent, NewEvent, RequestRole, RunEnd, TaskStatus } from './journal';
import { FINAL_STATUSES } from './journal';
import { costOf, Ledger, priceFor } from './ledger';
import type { ModelError, ModelResponse } from './model';
import type { Plan, TaskSpec } from './plan';
import { changesRequestedPrompt, RESUMED_NOTE } from './prompts';
import type { MergeResult } from './repoPort';
import type { RunConfig, RunDeps } from './runTypes';
import { applyEvent, reduceJournal } from './runState';
import type { RunState } from './runState';
import { mergeEvent, runTaskPipeline } from './taskPipeline';
import type { PipelineHost, TaskProgress } from './taskPipeline';
import { runChecks } from './verify';
import { errorMessage } from './errors';

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

export class RunEngine implements PipelineHost {
  readonly state: RunState;
  readonly ledger: Ledger;
  private readonly guard: BudgetGuard;
  private readonly tasks = new Map<string, TaskRuntime>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(event: JournalEvent, state: RunState) => void>();
  private readonly taskBudgetHits = new Set<string>();
  private mergeChain: Promise<unknown> = Promise.resolve();
  private integrationPath: Promise<string> | null = null;
  private runHit: BudgetHit | null = null;
  private stopping = false;
  private active: Promise<RunState> | null = null;

  private constructor(
    readonly deps: RunDeps,
    readonly config: RunConfig,
    readonly plan: Plan,
    readonly repoView: string,
    readonly base: string,
    history: JournalEvent[],
  ) {
    this.state = reduceJournal(history);
    this.ledger = Ledger.fromEvents(history);
    this.guard = new BudgetGuard(this.ledger, config.budgets);
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
    engine.emit({
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
    engine.emit({ type: 'plan', plan: run.plan, repoView: run.repoView });
    for (const t of run.plan.tasks) engine.emit({ type: 'task_status', taskId: t.id, status: 'queued' });
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
    engine.emit({ type: 'run_resumed' });
    for (const rt of engine.tasks.values()) engine.prepareResume(rt);
    return engine;
  }

  private prepareResume(rt: TaskRuntime): void {
    const t = this.state.tasks.get(rt.spec.id);
    if (!t) return;
    rt.progress.steps = t.step;
    rt.progress.tokens = t.usage.input + t.usage.output;
    if (t.worktree && t.branch && t.from) rt.progress.worktree = { path: t.worktree, branch: t.branch, from: t.from };
    if (['merged', 'failed', 'rejected', 'queued', 'verified'].includes(t.status)) return;
    if (!FINAL_STATUSES.has(t.status)) {
      this.emit({
        type: 'task_status',
        taskId: rt.spec.id,
        status: 'interrupted',
        reason: `was ${t.status} when the run stopped`,
      });
    }
    if (rt.progress.worktree) rt.progress.pendingNote = RESUMED_NOTE;
    this.emit({ type: 'task_status', taskId: rt.spec.id, status: 'queued', reason: 'resumed' });
  }

  /** Listen to every event as it is appended; returns a function that stops listening. */
  onEvent(listener: (event: JournalEvent, state: RunState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Append an event to the journal and fold it into the state. */
  emit(event: NewEvent): void {
    const appended = this.deps.journal.append(event);
    applyEvent(this.state, appended);
    for (const l of this.listeners) l(appended, this.state);
  }

  private status(id: string): TaskStatus {
    return this.state.tasks.get(id)?.status ?? 'queued';
  }

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
    if (this.state.status !== 'running') this.emit({ type: 'run_resumed' });
    this.stopping = false;
    try {
      await this.ensureIntegration();
    } catch (e) {
      this.emit({
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
      if (!this.runHit && !this.stopping) this.launchReady();
      if (this.running.size === 0) break;
      await Promise.race(this.running.values());
    }
    await this.finish();
    await this.deps.journal.flush();
    return this.state;
  }

  /** Stop one task: its model request is cancelled and its processes killed; work is kept. */
  stopTask(taskId: string): void {
    const rt = this.tasks.get(taskId);
    if (!rt) return;
    if (rt.abort) rt.abort.abort();
    else if (this.status(taskId) === 'queued')
      this.emit({ type: 'task_status', taskId, status: 'stopped', reason: 'stopped by the user before it started' });
  }

  /** Stop the whole run. */
  stopAll(): void {
    this.stopping = true;
    for (const id of this.tasks.keys()) this.stopTask(id);
  }

  /** The integration worktree's path, created on first use. */
  private ensureIntegration(): Promise<string> {
    if (!this.integrationPath) {
      const made = this.deps.repo
        .ensureWorktree(this.config.runId, INTEGRATION_ID, this.base, null)
        .then((wt) => wt.path);
      // A failure is reported to this caller; the next one tries again.
      made.catch(() => (this.integrationPath = null));
      this.integrationPath = made;
    }
    return this.integrationPath;
  }

  private launchReady(): void {
    for (const rt of this.tasks.values()) {
      if (this.running.size >= this.config.concurrency) return;
      const id = rt.spec.id;
      if (this.status(id) !== 'queued' || this.running.has(id)) continue;
      if (!rt.spec.dependsOn.every((d) => this.status(d) === 'merged')) continue;
      const abort = new AbortController();
      rt.abort = abort;
      this.track(id, runTaskPipeline(this, rt.spec, rt.progress, abort.signal));
    }
  }

  private track(id: string, work: Promise<void>): void {
    const rt = this.tasks.get(id);
    const done = work
      .catch((e: unknown) => {
        const stopped = rt?.abort?.signal.aborted;
        this.emit({
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
      const dead = rt.spec.dependsOn.find((d) => ['failed', 'blocked', 'stopped', 'rejected'].includes(this.status(d)));
      if (dead === undefined) continue;
      const why = this.state.tasks.get(dead)?.reason;
      this.emit({
        type: 'task_status',
        taskId: rt.spec.id,
        status: 'blocked',
        reason: `depends on ${dead}, which is ${this.status(dead)}${why ? ` (${why})` : ''}`,
      });
    }
  }

  private async mergeVerified(rt: TaskRuntime): Promise<void> {
    const branch = rt.progress.worktree?.branch ?? taskBranch(this.config.runId, rt.spec.id);
    const merge = await this.mergeTask(rt.spec, branch);
    this.emit(mergeEvent(rt.spec.id, merge));
    this.emit({
      type: 'task_status',
      taskId: rt.spec.id,
      status: merge.ok ? 'merged' : 'failed',
      ...(merge.ok ? {} : { reason: merge.message }),
    });
  }

  // --- The developer's decisions -------------------------------------------------------------

  /** Merge a verified task that waits for the developer. Call `run()` afterwards to go on. */
  acceptTask(taskId: string): Decision {
    const rt = this.tasks.get(taskId);
    if (!rt) return refuse(`there is no task ${taskId} in this run`);
    if (this.status(taskId) !== 'verified')
      return refuse(`${taskId} is ${this.status(taskId)}; only a verified task can be accepted`);
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
    const rt = this.tasks.get(taskId);
    const status = this.status(taskId);
    if (!rt) return refuse(`there is no task ${taskId} in this run`);
    if (this.running.has(taskId)) return refuse(`${taskId} is ${status}; stop it before rejecting it`);
    if (status === 'merged')
      return refuse(`${taskId} is already merged into the integration branch; request changes instead`);
    if (status === 'rejected') return { ok: true };
    const t = this.state.tasks.get(taskId);
    const branch = t?.branch ?? taskBranch(this.config.runId, taskId);
    if (t?.worktree) await this.deps.repo.removeWorktree(t.worktree, { deleteBranch: branch });
    rt.progress.worktree = null;
    this.emit({
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
    const rt = this.tasks.get(taskId);
    const status = this.status(taskId);
    if (!rt) return refuse(`there is no task ${taskId} in this run`);
    if (!comments.trim()) return refuse('say what to change');
    if (this.running.has(taskId) || !['verified', 'merged', 'failed', 'stopped'].includes(status)) {
      return refuse(`${taskId} is ${status}; changes can be requested of a verified, merged, failed or stopped task`);
    }
    const t = this.state.tasks.get(taskId);
    if (t?.worktree && t.branch && t.from) rt.progress.worktree = { path: t.worktree, branch: t.branch, from: t.from };
    rt.progress.pendingNote = changesRequestedPrompt('developer', comments);
    this.emit({ type: 'note', taskId, message: `changes requested: ${comments.trim()}` });
    this.emit({ type: 'task_status', taskId, status: 'queued', reason: 'changes requested by the developer' });
    return { ok: true };
  }

  // --- PipelineHost -------------------------------------------------------------------------

  bookResponse(role: RequestRole, taskId: string | null, response: ModelResponse): void {
    const model = role === 'reviewer' && this.deps.reviewer ? this.deps.reviewer : this.deps.model;
    const price = priceFor(this.config.prices, model.model) ?? priceFor(this.config.prices, response.model);
    const cost = costOf(response.usage, price);
    const rec = {
      role,
      taskId,
      model: response.model,
      endpoint: model.endpoint,
      ok: true,
      usage: response.usage,
      timing: response.timing,
      cost,
    };
    this.ledger.record(rec);
    this.emit({ type: 'model_request', ...rec, attempts: response.attempts });
  }

  bookError(role: 'agent' | 'reviewer', taskId: string, error: ModelError): void {
    const model = role === 'reviewer' && this.deps.reviewer ? this.deps.reviewer : this.deps.model;
    const rec = {
      role,
      taskId,
      model: model.model,
      endpoint: model.endpoint,
      ok: false,
      usage: null,
      timing: null,
      cost: null,
    };
    this.ledger.record(rec);
    this.emit({ type: 'model_request', ...rec, error: `${error.reason}: ${error.message}`, attempts: 0 });
  }

  budgetCheck(taskId: string): BudgetHit | null {
    if (this.runHit) return this.runHit;
    const hit = this.guard.check(taskId);
    if (hit) this.budgetHit(hit);
    return hit;
  }

  budgetHit(hit: BudgetHit): void {
    if (hit.scope === 'run') {
      if (this.runHit) return;
      this.runHit = hit;
    } else {
      if (this.taskBudgetHits.has(hit.taskId ?? '')) return;
      this.taskBudgetHits.add(hit.taskId ?? '');
    }
    this.emit({ type: 'budget_stop', hit });
  }

  async integrationHead(): Promise<string> {
    const head = await this.deps.repo.branchHead(integrationBranch(this.config.runId));
    if (head === null) throw new Error('the integration branch is missing');
    return head;
  }

  mergeTask(task: TaskSpec, branch: string): Promise<MergeResult> {
    const message = `Merge foreman task ${task.id}: ${task.title}\n\nForeman-Run: ${this.config.runId}`;
    const merge = this.mergeChain.then(async () =>
      this.deps.repo.merge(await this.ensureIntegration(), branch, message),
    );
    this.mergeChain = merge.catch(() => undefined);
    return merge.then((m) => (m.ok ? m : { ...m, message: conflictAdvice(task, branch, m.files) }));
  }

  // --- The end of a run ---------------------------------------------------------------------

  private async finish(): Promise<void> {
    const ids = [...this.tasks.keys()];
    const waiting = ids.filter((id) => this.status(id) === 'verified');
    // A task queued behind tasks that wait for review stays queued: accepting them lets it start.
    if (this.stopping || this.runHit || waiting.length === 0) {
      const notStarted = this.runHit ? 'not started: the run budget was reached' : 'not started: the run was stopped';
      for (const id of ids) {
        if (this.status(id) === 'queued')
          this.emit({ type: 'task_status', taskId: id, status: 'stopped', reason: notStarted });
      }
    }
    const merged = ids.filter((id) => this.status(id) === 'merged').length;
    let integrationFailed = false;
    if (merged > 0 && waiting.length === 0 && !this.stopping) {
      const cwd = await this.ensureIntegration();
      const runner = await this.deps.openRunner(INTEGRATION_ID, cwd);
      const result = await runChecks(this.config.checks, {
        runner,
        cwd,
        timeoutMs: this.config.checkTimeoutMs,
      }).finally(() => runner.close());
      this.emit({
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
    if (this.runHit)
      return this.end(
        'budget',
        `${counts}; stopped by the run's ${this.runHit.kind} budget (${this.runHit.used} of ${this.runHit.limit}). Raise it and resume the run.`,
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
    this.emit({ type: 'run_finished', status, message });
  }
}

/** The answer to a developer's decision: done, or why not. */
export type Decision = { ok: true } | { ok: false; message: string };

function refuse(message: string): Decision {
  return { ok: false, message };
}

function conflictAdvice(task: TaskSpec, branch: string, files: string[]): string {
  return `merging ${task.id} into the integration branch conflicts in ${files.join(', ')}; nothing was merged. The task's work stays on ${branch}: resolve it by hand (git merge ${branch} in the integration worktree), or make ${task.id} depend on the task it conflicts with and run it again.`;
}
