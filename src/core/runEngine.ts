/**
 * The run engine: schedules a plan's tasks over the worktrees as soon as their dependencies are
 * merged, with up to `concurrency` agents talking to the model at once and as many tasks prepared
 * ahead (a task holds its agent slot only during its agent's rounds, not while it is checked,
 * reviewed or merged: core/slots.ts, core/taskPipeline.ts); carries out the developer's decisions
 * on them; and, when no task can move, ends the run (core/runFinish.ts). Its books (journal, ledger, budgets) and the
 * integration branch are a private RunHost (core/runHost.ts), which each task pipeline is given.
 *
 * Every change of state is an event appended to the journal first; the engine's view of the run
 * (`state`) is that journal folded with `applyEvent`, so a run rebuilt from its journal after a
 * crash is the same run.
 */
import { taskBranch } from './branches';
import { decisionRefusal } from './decisions';
import type { Decision, TaskDecision } from './decisions';
import { errorMessage } from './errors';
import type { JournalEvent, TaskStatus } from './journal';
import type { Ledger } from './ledger';
import type { ModelResponse } from './model';
import type { Plan, TaskSpec } from './plan';
import { changesRequestedPrompt } from './prompts';
import { finishRun } from './runFinish';
import { RunHost } from './runHost';
import type { RunListener } from './runHost';
import { requeueOnResume, resumePoint } from './runResume';
import type { SettingsOverrides } from './runSettings';
import type { RunState } from './runState';
import type { RunConfig, RunDeps } from './runTypes';
import { DEAD_DEPENDENCY_STATUSES } from './statusSets';
import { mergeEvent, runTaskPipeline } from './taskPipeline';
import type { TaskProgress } from './taskPipeline';

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
  /** Aborted by a stop while the run reads its MCP servers (a pin question may be open). */
  private preparing: AbortController | null = null;
  private active: Promise<RunState> | null = null;
  /** Resolved (and replaced) when a task takes an agent slot, so the next can be prepared at once. */
  private wake = deferredWake();

  private constructor(
    deps: RunDeps,
    readonly config: RunConfig,
    plan: Plan,
    repoView: string,
    base: string,
    history: JournalEvent[],
  ) {
    this.host = new RunHost(deps, config, plan, repoView, base, history);
    this.host.onEvent((e) => {
      if (e.type === 'task_status' && e.status === 'working') this.wake = this.wake.fire();
    });
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
        prices: config.prices,
      },
    });
    host.emit({ type: 'plan', plan: run.plan, repoView: run.repoView });
    for (const t of run.plan.tasks) host.emit({ type: 'task_status', taskId: t.id, status: 'queued' });
    return engine;
  }

  /**
   * Resume a run from its journal (core/runResume.ts): merged tasks stay merged, verified ones are
   * merged, tasks that were in flight are marked interrupted and continue in their worktrees with
   * their conversations, and stopped or blocked ones are queued again. Failed tasks stay failed.
   *
   * The run goes on with its own concurrency, budgets and prices from the journal: `config`'s
   * stand in only for what an old journal lacks. `overrides` are the developer's explicit
   * changes; they, and a backend or model other than the recorded one (`deps.model`), are
   * recorded as `settings_changed`.
   */
  static resume(
    deps: RunDeps,
    config: RunConfig,
    history: JournalEvent[],
    fallbackRepoView: string,
    overrides: SettingsOverrides = {},
  ): RunEngine {
    const from = resumePoint(config, history, fallbackRepoView, deps.model, overrides);
    const engine = new RunEngine(deps, from.config, from.plan, from.repoView, from.base, history);
    engine.host.emit({ type: 'run_resumed' });
    if (from.settings) engine.host.emit({ type: 'settings_changed', settings: from.settings, changes: from.changes });
    for (const rt of engine.tasks.values()) requeueOnResume(engine.host, rt.spec.id, rt.progress);
    return engine;
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

  /**
   * Record a sentence from outside the engine about the run (a backend's fallback, a replica taken
   * out or back), for the journal, the CLI and the panel.
   */
  recordNote(taskId: string | null, message: string): void {
    this.host.emit({ type: 'note', taskId, message });
  }

  /** Record that the integration branch was applied onto the developer's `branch` as `commit`. */
  recordApply(commit: string, mode: 'squash' | 'merge', branch: string): void {
    this.host.emit({ type: 'applied', commit, mode, branch });
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
    let integration: string;
    try {
      integration = await this.host.integrationWorktree();
    } catch (e) {
      this.host.emit({
        type: 'run_finished',
        status: 'failed',
        message: `could not create the integration worktree: ${errorMessage(e)}`,
      });
      return this.state;
    }
    this.preparing = new AbortController();
    try {
      await this.host.prepareMcp(integration, this.preparing.signal);
    } catch (e) {
      this.host.emit({
        type: 'run_finished',
        status: 'failed',
        message: `could not read the MCP servers: ${errorMessage(e)}`,
      });
      return this.state;
    } finally {
      this.preparing = null;
    }
    if (this.config.autoMerge !== false) {
      for (const rt of this.tasks.values()) {
        if (this.status(rt.spec.id) === 'verified') this.track(rt.spec.id, this.mergeVerified(rt));
      }
    }
    const watching = this.host.deps.watch?.start((event) => this.host.emit(event));
    while (true) {
      this.blockUnreachable();
      if (!this.host.runBudgetHit && !this.stopping) this.launchReady();
      if (this.running.size === 0) break;
      await Promise.race([...this.running.values(), this.wake.promise]);
    }
    await watching?.stop();
    await finishRun(this.host, this.stopping);
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
    this.preparing?.abort();
    for (const id of this.tasks.keys()) this.stopTask(id);
  }

  /**
   * Start queued tasks whose dependencies are merged, while fewer than `concurrency` started tasks
   * are still setting up or waiting for their first agent slot: that many are prepared ahead of the
   * slots, and a slot that frees goes to a task that is ready. Tasks being checked, reviewed or
   * merged do not count.
   */
  private launchReady(): void {
    let ahead = 0;
    for (const id of this.running.keys()) if (this.status(id) === 'setting_up') ahead++;
    for (const rt of this.tasks.values()) {
      if (ahead >= this.config.concurrency) return;
      const id = rt.spec.id;
      if (this.status(id) !== 'queued' || this.running.has(id)) continue;
      if (!rt.spec.dependsOn.every((d) => this.status(d) === 'merged')) continue;
      const abort = new AbortController();
      rt.abort = abort;
      this.track(id, runTaskPipeline(this.host, rt.spec, rt.progress, abort.signal));
      ahead++;
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
    const started = (this.state.tasks.get(taskId)?.startedAt ?? null) !== null;
    const subject = rt ? { status: this.status(taskId), running: this.running.has(taskId), started } : null;
    const why = decisionRefusal(taskId, decision, subject, { applied: this.state.applied !== null });
    if (why) return { refused: { ok: false, ...why } };
    // The rule refuses a task the run does not have, so `rt` is known here.
    if (!rt) throw new Error(`the decision rule let through ${taskId}, which is not a task of this run`);
    return { rt };
  }
}

/** A one-shot wake-up: `fire` resolves it and returns the next one. */
function deferredWake(): { promise: Promise<void>; fire(): ReturnType<typeof deferredWake> } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return {
    promise,
    fire: () => {
      resolve();
      return deferredWake();
    },
  };
}
