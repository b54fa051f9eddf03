/**
 * The run on the Lead panel's board: live (an engine this window drives, holding the run's lock
 * while it drives), or opened from history (its journal's state, with no engine until a decision
 * or a resume needs one; then it is reopened from its journal, under the lock, as the CLI does).
 * Carries out the developer's actions on it: stop, accept, reject, request changes, resume, apply.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { integrationBranch } from '../core/branches';
import { decisionRefusal } from '../core/decisions';
import type { DecisionRefusal, TaskDecision } from '../core/decisions';
import type { AskGroup } from '../core/approvalDesk';
import type { RunEngine } from '../core/runEngine';
import type { SettingsOverrides } from '../core/runSettings';
import { applyEvent } from '../core/runState';
import type { RunState } from '../core/runState';
import { diffLineStat } from '../infra/gitShow';
import { openJournal, runJournalPath } from '../infra/journalFile';
import { acquireLock } from '../infra/runLock';
import type { Notice, RunView } from '../protocol/panel';
import { drivenElsewhere } from './history';
import type { StoredRun } from './history';
import type { BoardRun } from './leadApi';
import { LeadError } from './leadApi';
import { BoardProjector } from './panelView';
import type { DrivenRun } from './runLauncher';
import { RunTracker } from './runTracker';
import { ChangeRounds } from './changeRounds';
import type { Workspace } from './workspace';

/** What the board needs from the session. */
export interface BoardEnv {
  now(): number;
  changed(): void;
  notify(kind: Notice['kind'], text: string): void;
  /**
   * Reopen the run from its journal (the board holds the lock when this is called), with its own
   * settings; `overrides` are the developer's explicit changes to them.
   */
  reopen(runId: string, overrides?: SettingsOverrides): Promise<DrivenRun>;
  /** The repository, for an apply when the board has no engine. */
  workspace(): Promise<Workspace>;
  /** Report something worth knowing that is not the developer's concern (to the log). */
  log(message: string): void;
  /** A drive of the run ended (the lock is already released). */
  settled(board: Board, state: RunState, error: unknown): void;
}

/** How often the "driven by another process" check is repeated, at most. */
const ELSEWHERE_RECHECK_MS = 2000;

/** One run on the board. */
export class Board {
  private driven: DrivenRun | null = null;
  private release: (() => void) | null = null;
  private driving: Promise<void> | null = null;
  /** A decision arrived while the engine was driving: drive once more when it comes to rest. */
  private again = false;
  /** The session is going away: no new drive, and the engine is let go when the drive ends. */
  private closing = false;
  /** Size of the journal when this window last stopped writing it (to notice other writers). */
  private journalSize = -1;
  private unsubscribe: (() => void) | null = null;
  private tracker = new RunTracker();
  private readonly rounds: ChangeRounds;
  private projector = new BoardProjector();
  private elsewhere = { pid: null as number | null, at: -Infinity };

  private constructor(
    private readonly env: BoardEnv,
    readonly runId: string,
    readonly repoRoot: string,
    readonly stateDir: string,
    public state: RunState,
  ) {
    this.rounds = new ChangeRounds(
      (from, to) => diffLineStat(repoRoot, from, to),
      () => env.changed(),
      (message) => env.log(message),
    );
  }

  /** A board over an engine about to be driven; `release` frees the lock it already holds. */
  static live(env: BoardEnv, run: DrivenRun, release: () => void): Board {
    const board = new Board(env, run.engine.config.runId, run.ws.repo.root, run.ws.repo.stateDir, run.engine.state);
    board.attach(run);
    board.release = release;
    return board;
  }

  /** A board over a run read from its journal. */
  static stored(env: BoardEnv, runId: string, repoRoot: string, stateDir: string, stored: StoredRun): Board {
    const board = new Board(env, runId, repoRoot, stateDir, stored.state);
    board.tracker.observeAll(stored.events);
    for (const event of stored.events) board.rounds.observe(event);
    return board;
  }

  /** True while this window's engine drives the run. */
  get live(): boolean {
    return this.driving !== null;
  }

  /** The board as the panel shows it; `asks` are the asks waiting in this window's desk. */
  view(now: number, asks: readonly AskGroup[] = []): RunView {
    return this.projector.project(this.state, {
      live: this.live,
      elsewhere: !this.live && this.elsewherePid(now) !== null,
      now,
      tracker: this.tracker,
      asks,
      reopening: !this.live && !this.engineUsable(),
      rounds: this.rounds,
    });
  }

  /** The run for the editor's review features. */
  boardRun(): BoardRun {
    return {
      runId: this.runId,
      repoRoot: this.repoRoot,
      runDir: join(this.stateDir, 'runs', this.runId),
      state: this.state,
    };
  }

  /** Drive the engine (again): a drive already going is shared. Takes the lock. */
  drive(): void {
    const engine = this.driven?.engine;
    if (!engine) throw new Error(`run ${this.runId} has no engine to drive`);
    if (this.driving) return;
    if (this.closing) throw new LeadError('Foreman is shutting down; the run can be resumed later.', 'busy');
    this.takeLock();
    // Live from before the engine's first event (run() emits synchronously), so no observer sees
    // a resumed run that is not live.
    this.driving = Promise.resolve();
    this.driving = engine.run().then(
      (state) => this.ended(state, null),
      (e: unknown) => this.ended(this.state, e),
    );
    this.env.changed();
  }

  /** Stop one task (its request cancelled, its processes killed, its work kept). */
  stopTask(taskId: string): void {
    if (!this.state.tasks.has(taskId))
      throw new LeadError(`There is no task ${taskId} in run ${this.runId}.`, 'notFound');
    if (!this.live || !this.driven) throw new LeadError(`Nothing is running in run ${this.runId}.`, 'refused');
    this.driven.engine.stopTask(taskId);
  }

  /** Stop everything the run is doing; the run then ends `stopped`. Nothing running: nothing to do. */
  stopAll(): void {
    this.again = false;
    if (this.live) this.driven?.engine.stopAll();
  }

  /** Accept, reject or send back a task, then drive the run on. Refusals are LeadError 'refused'. */
  async decide(taskId: string, decision: TaskDecision): Promise<void> {
    const reopening = !this.live && !this.engineUsable();
    if (reopening) {
      // Checked on the journal's state before reopening, by the rule the engine applies after.
      const task = this.state.tasks.get(taskId);
      const subject = task ? { status: task.status, running: false, started: task.startedAt !== null } : null;
      const why = decisionRefusal(taskId, decision, subject, { reopening: true, applied: this.state.applied !== null });
      if (why) throw refusedError(why, this.runId, taskId);
    }
    const engine = await this.ensureEngine();
    const answer =
      decision.kind === 'accept'
        ? engine.acceptTask(taskId)
        : decision.kind === 'reject'
          ? await engine.rejectTask(taskId)
          : engine.requestChanges(taskId, decision.comments);
    // The engine may be finishing when a decision arrives: its merge or rework must not be left
    // behind, so the run is driven once more when this drive comes to rest.
    if (answer.ok && this.live) this.again = true;
    // A reopened run is driven even after a refusal, so its journal ends with the run's outcome.
    if (answer.ok || reopening) this.drive();
    else if (!this.live) this.releaseLock();
    if (!answer.ok) throw refusedError(answer, this.runId, taskId);
  }

  /**
   * Reopen the run from its journal and drive it: interrupted, stopped and blocked work is queued
   * again. It goes on with its own settings, changed only by `overrides`.
   */
  async resume(overrides: SettingsOverrides = {}): Promise<void> {
    if (this.live) throw new LeadError(`Run ${this.runId} is already running.`, 'busy');
    if (this.state.status === 'completed')
      throw new LeadError(
        `Run ${this.runId} already completed; there is nothing to resume. ${
          this.state.applied
            ? `It is applied onto ${this.state.applied.branch ?? 'your branch'} as ${this.state.applied.commit.slice(0, 10)}.`
            : 'Apply it to bring it onto your branch.'
        }`,
        'refused',
      );
    this.dropEngine();
    await this.reopen(overrides);
    this.drive();
  }

  /** Bring the integration branch onto the developer's current branch. Returns the notice text. */
  async apply(mode: 'squash' | 'merge'): Promise<string> {
    if (this.live || this.elsewherePid(this.env.now(), true) !== null)
      throw new LeadError(`Run ${this.runId} is still running; apply it when it has finished.`, 'busy');
    const base = this.state.base;
    const merged = [...this.state.tasks.values()].filter((t) => t.status === 'merged').map((t) => t.id);
    if (!base || merged.length === 0)
      throw new LeadError(
        `Run ${this.runId} has nothing merged into its integration branch; there is nothing to apply.`,
        'refused',
      );
    const ws = this.driven?.ws ?? (await this.env.workspace());
    const title = this.state.plan?.spec.split('\n')[0].slice(0, 72).trim() || this.runId;
    const message = `${title}\n\nApplied from Foreman run ${this.runId}: ${merged.join(', ')}.`;
    const result = await ws.repo.apply(integrationBranch(this.runId), base, mode, message);
    // The refusal's message names the files and says what to do (see RepoPort.apply).
    if (!result.ok) throw new LeadError(result.message, 'refused');
    this.recordApply(result.commit, result.mode, result.branch);
    const how = result.mode === 'squash' ? 'as one commit' : 'as a merge';
    return `Applied run ${this.runId} onto ${result.branch} ${how} ${result.commit.slice(0, 10)} (${result.files.length} file${result.files.length === 1 ? '' : 's'}).`;
  }

  /** Let go of the engine and its journal (the board must not be live). */
  close(): void {
    this.dropEngine();
    this.releaseLock();
  }

  /**
   * Stop a live run and wait (at most `timeoutMs`) for it to settle, then let go of everything.
   * A run still settling after that lets go of its engine and lock itself when it does.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    const driving = this.driving;
    if (driving) {
      this.stopAll();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([driving, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    if (!this.live) this.close();
  }

  // --- Engine, lock and journal ----------------------------------------------------------------

  private attach(run: DrivenRun): void {
    this.unsubscribe?.();
    this.driven = run;
    this.state = run.engine.state;
    // The reopened engine's state is a new object, folded before we listen: rows are rebuilt.
    this.projector = new BoardProjector();
    this.unsubscribe = run.engine.onEvent((event) => {
      this.tracker.observe(event);
      this.rounds.observe(event);
      this.env.changed();
    });
  }

  private ended(state: RunState, error: unknown): void {
    this.driving = null;
    if (this.again && !error && !this.closing) {
      this.again = false;
      this.drive(); // still holding the lock
      return;
    }
    this.again = false;
    this.releaseLock();
    this.journalSize = this.driven ? sizeOf(this.driven.journal.path) : -1;
    if (this.closing) this.dropEngine();
    this.env.settled(this, state, error);
  }

  /** An engine kept from an earlier drive may be used again only if no one else wrote the journal since. */
  private engineUsable(): boolean {
    return this.driven !== null && sizeOf(this.driven.journal.path) === this.journalSize;
  }

  private async ensureEngine(): Promise<RunEngine> {
    if (this.driven && (this.live || this.engineUsable())) {
      this.takeLock();
      return this.driven.engine;
    }
    this.dropEngine();
    return this.reopen();
  }

  private async reopen(overrides?: SettingsOverrides): Promise<RunEngine> {
    this.takeLock();
    try {
      const run = await this.env.reopen(this.runId, overrides);
      this.attach(run);
      return run.engine;
    } catch (e) {
      this.releaseLock();
      throw e;
    }
  }

  private dropEngine(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.driven?.journal.close();
    this.driven = null;
  }

  private takeLock(): void {
    if (this.release) return;
    const lock = acquireLock(join(this.stateDir, 'runs', this.runId, 'lock'));
    if (!lock.ok)
      throw new LeadError(
        `Run ${this.runId} is being driven by another Foreman process (pid ${lock.holder}); stop that one first.`,
        'busy',
      );
    this.release = lock.release;
  }

  private releaseLock(): void {
    this.release?.();
    this.release = null;
  }

  /** Journal the apply: through the engine when it has one, else straight to the run's journal. */
  private recordApply(commit: string, mode: 'squash' | 'merge', branch: string): void {
    if (this.driven && this.engineUsable()) {
      this.driven.engine.recordApply(commit, mode, branch);
      this.journalSize = sizeOf(this.driven.journal.path);
    } else {
      this.dropEngine();
      const journal = openJournal(runJournalPath(this.stateDir, this.runId), this.runId);
      try {
        const appended = journal.append({ type: 'applied', commit, mode, branch });
        applyEvent(this.state, appended);
        this.tracker.observe(appended);
      } finally {
        journal.close();
      }
    }
    this.env.changed();
  }

  private elsewherePid(now: number, fresh = false): number | null {
    if (fresh || now - this.elsewhere.at > ELSEWHERE_RECHECK_MS)
      this.elsewhere = { pid: drivenElsewhere(this.stateDir, this.runId), at: now };
    return this.elsewhere.pid;
  }
}

/** A refused decision as the panel says it: a LeadError 'refused' with a sentence. */
function refusedError(refusal: DecisionRefusal, runId: string, taskId: string): LeadError {
  switch (refusal.reason) {
    case 'unknownTask':
      return new LeadError(`There is no task ${taskId} in run ${runId}.`, 'refused');
    case 'noComments':
      return new LeadError('Say what to change.', 'refused');
    default:
      return new LeadError(`${refusal.message}.`, 'refused');
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    // A journal that vanished cannot be appended to safely: treat it as changed.
    return -2;
  }
}
