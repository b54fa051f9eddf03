/**
 * A run's books and its integration branch, as its task pipelines see them: the journal (every
 * change of state is appended there first, then folded into `state`), the ledger of requests, the
 * budgets, and the integration worktree with its merges, one at a time. The run engine owns one and
 * hands it to each task pipeline as the pipeline's host; it is not part of the engine's public API.
 */
import { integrationBranch, INTEGRATION_ID } from './branches';
import { BudgetGuard } from './budget';
import { auditedRepo } from './repoAudit';
import type { BudgetHit, JournalEvent, NewEvent, RequestRole, TaskStatus } from './journal';
import { costOf, Ledger, priceFor } from './ledger';
import type { ModelClient, ModelError, ModelResponse } from './model';
import type { Plan, TaskSpec } from './plan';
import type { MergeResult } from './repoPort';
import type { RunConfig, RunDeps } from './runTypes';
import { applyEvent, reduceJournal } from './runState';
import type { RunState } from './runState';
import { Slots } from './slots';
import type { PipelineHost } from './taskPipeline';

/** Called with every event as it is appended, and the state it was folded into. */
export type RunListener = (event: JournalEvent, state: RunState) => void;

export class RunHost implements PipelineHost {
  /** The collaborators as given, but with every git operation recorded in the journal. */
  readonly deps: RunDeps;
  readonly state: RunState;
  readonly ledger: Ledger;
  private readonly guard: BudgetGuard;
  private readonly listeners = new Set<RunListener>();
  private readonly taskBudgetHits = new Map<string, BudgetHit>();
  private mergeChain: Promise<unknown> = Promise.resolve();
  private integrationPath: Promise<string> | null = null;
  private runHit: BudgetHit | null = null;
  readonly agentSlots: Slots;
  readonly checkSlots: Slots;

  /** `history` is the run's journal so far (empty for a new run): state and ledger start from it. */
  constructor(
    deps: RunDeps,
    readonly config: RunConfig,
    readonly plan: Plan,
    readonly repoView: string,
    readonly base: string,
    history: JournalEvent[],
  ) {
    this.deps = { ...deps, repo: auditedRepo(deps.repo, (r) => this.emit({ type: 'git', ...r })) };
    this.state = reduceJournal(history);
    this.ledger = Ledger.fromEvents(history);
    this.guard = new BudgetGuard(this.ledger, config.budgets);
    this.agentSlots = new Slots(config.concurrency);
    this.checkSlots = new Slots(config.checkConcurrency ?? config.concurrency);
  }

  /** Listen to every event as it is appended; returns a function that stops listening. */
  onEvent(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Append an event to the journal, fold it into the state, then tell the listeners. */
  emit(event: NewEvent): void {
    const appended = this.deps.journal.append(event);
    applyEvent(this.state, appended);
    this.ledger.recordEvent(appended);
    for (const l of this.listeners) l(appended, this.state);
  }

  /** A task's status; a task the journal has not mentioned yet is queued. */
  status(taskId: string): TaskStatus {
    return this.state.tasks.get(taskId)?.status ?? 'queued';
  }

  /** The run's budget hit, once there is one: no task starts after it. */
  get runBudgetHit(): BudgetHit | null {
    return this.runHit;
  }

  /** The hits of tasks stopped by their own budget that are still stopped, in order of the hits. */
  taskBudgetStops(): BudgetHit[] {
    return [...this.taskBudgetHits].filter(([id]) => this.status(id) === 'stopped').map(([, hit]) => hit);
  }

  // --- Books ------------------------------------------------------------------------------------

  /** Book a whole response in the ledger and the journal; `taskId` is null for the planner's. */
  bookResponse(role: RequestRole, taskId: string | null, response: ModelResponse): void {
    const model = this.modelOf(role);
    const price = priceFor(this.config.prices, model.model) ?? priceFor(this.config.prices, response.model);
    this.emit({
      type: 'model_request',
      role,
      taskId,
      model: response.model,
      endpoint: model.endpoint,
      ok: true,
      usage: response.usage,
      timing: response.timing,
      cost: costOf(response.usage, price),
      attempts: response.attempts,
    });
  }

  bookError(role: 'agent' | 'reviewer', taskId: string, error: ModelError): void {
    const model = this.modelOf(role);
    this.emit({
      type: 'model_request',
      role,
      taskId,
      model: model.model,
      endpoint: model.endpoint,
      ok: false,
      error: `${error.reason}: ${error.message}`,
      usage: null,
      timing: null,
      cost: null,
      attempts: 0,
    });
  }

  private modelOf(role: RequestRole): ModelClient {
    return role === 'reviewer' && this.deps.reviewer ? this.deps.reviewer : this.deps.model;
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
      this.taskBudgetHits.set(hit.taskId ?? '', hit);
    }
    this.emit({ type: 'budget_stop', hit });
  }

  // --- The integration branch -------------------------------------------------------------------

  /** The integration worktree's path, created on first use. */
  integrationWorktree(): Promise<string> {
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

  /**
   * Read, pin and ask about the run's MCP servers once (core/mcpTools.ts), before any agent
   * starts: stdio servers are started for it in the integration worktree's sandbox. Their asks
   * go to the front end's approver; what happened is journaled as `mcp` events.
   */
  async prepareMcp(integrationPath: string, signal: AbortSignal): Promise<void> {
    const mcp = this.deps.mcp;
    if (!mcp) return;
    const runner = await this.deps.openRunner(INTEGRATION_ID, integrationPath);
    try {
      await mcp.prepare({
        runner,
        worktree: integrationPath,
        approver: this.deps.approver,
        emit: (e) => this.emit(e),
        signal,
      });
    } finally {
      await runner.close();
    }
  }

  async integrationHead(): Promise<string> {
    const head = await this.deps.repo.branchHead(integrationBranch(this.config.runId));
    if (head === null) throw new Error('the integration branch is missing');
    return head;
  }

  mergeTask(task: TaskSpec, branch: string): Promise<MergeResult> {
    const message = `Merge foreman task ${task.id}: ${task.title}\n\nForeman-Run: ${this.config.runId}`;
    const merge = this.mergeChain.then(async () =>
      this.deps.repo.merge(await this.integrationWorktree(), branch, message),
    );
    this.mergeChain = merge.catch(() => undefined);
    return merge.then((m) => (m.ok ? m : { ...m, message: conflictAdvice(task, branch, m.files) }));
  }
}

function conflictAdvice(task: TaskSpec, branch: string, files: string[]): string {
  return `merging ${task.id} into the integration branch conflicts in ${files.join(', ')}; nothing was merged. The task's work stays on ${branch}: resolve it by hand (git merge ${branch} in the integration worktree), or make ${task.id} depend on the task it conflicts with and run it again.`;
}
