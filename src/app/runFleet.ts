/**
 * The runs one headless Foreman process drives for callers that are not a person at a terminal
 * (the MCP server, src/cli/mcpServer.ts): plans kept by id until they are run, runs started and
 * driven in the background, the developer's decisions, stops and applies, each run read back from
 * its journal when this process is not driving it. Runs are built as the Lead panel builds them
 * (runLauncher.ts's launchIn / reopenIn) and carried by the same Board, which holds each run's lock
 * while it drives, so a run driven here is never driven by another Foreman at the same time.
 */
import { randomUUID } from 'node:crypto';
import type { Approver } from '../core/approver';
import type { TaskDecision } from '../core/decisions';
import type { RunEstimate } from '../core/estimate';
import { Ledger } from '../core/ledger';
import type { ModelClient } from '../core/model';
import { reduceJournal } from '../core/runState';
import type { RunState } from '../core/runState';
import { isValidRunId, listRunIds } from '../infra/journalFile';
import { createOpenAIClient } from '../infra/openaiClient';
import { continuedBackend } from './continueRun';
import { DriveMcp, NO_PIN_QUESTION, readFleetMcp } from './fleetMcp';
import type { PinQuestion } from './fleetMcp';
import { readStoredRun } from './history';
import { LeadError } from './leadApi';
import { Board } from './leadBoard';
import type { BoardEnv } from './leadBoard';
import { estimateWork, planWork } from './planWork';
import type { EngineSite, PlannedWork } from './runLauncher';
import { launchIn, lockRun, reopenIn } from './runLauncher';
import type { SettingFlags, Settings } from './settings';
import { backendClient, loadRun, openWorkspace, refuseDemoElsewhere, repositoryView, roleClients } from './workspace';
import type { RoleClients } from './workspace';
import type { Workspace } from './workspace';
import type { Sandbox } from '../core/sandbox';
import { errorMessage } from '../core/errors';

/** What a fleet works with. */
export interface FleetOptions {
  /** The repository's folder (any folder inside it). */
  cwd: string;
  settings: Settings;
  /** The flags the process was started with: `--base-url`/`--model` move reopened runs (see continuedBackend). */
  flags: SettingFlags;
  /** Who answers the command policy's asks in every run of the fleet. */
  approver: Approver;
  /** Lines for the process's log (standard error). */
  log(line: string): void;
  /** What confines agent processes; default: the machine's sandbox. */
  sandbox?: Sandbox;
  /** The repository, already opened (else it is opened on first use). */
  workspace?: Workspace;
  /** Most tasks in a plan (`--max-tasks`); default the planner's. */
  maxTasks?: number;
}

/** A plan the fleet keeps until it is run, with its estimate. */
export interface KeptPlan extends PlannedWork {
  planId: string;
  estimate: RunEstimate;
  /** The planner's first answer was invalid and its repair was accepted. */
  repaired: boolean;
  /** What the planner had to leave out to fit its model's context window (the repository view cut). */
  notes: string[];
}

/** A run as the fleet reads it: its folded state and ledger, and whether this process drives it. */
export interface RunReading {
  state: RunState;
  ledger: Ledger;
  /** This process's engine is driving it now. */
  live: boolean;
  /** Why the journal's last line was ignored, when it was torn. */
  torn: string | null;
  /** When the reading was taken (the journal's last event for a run not driven here). */
  at: number;
}

/** What a caller that starts or moves a run may give. */
export interface MoveOptions {
  /**
   * Answers the run's questions about new or changed MCP server pins from now on (default: a
   * refusal saying how to approve the server instead).
   */
  pins?: Approver;
}

/**
 * Called when a run this fleet drives changes: `started` once for a new run (before it moves),
 * `moved` as it goes, `settled` once a drive of it ends.
 */
export type FleetListener = (runId: string, change: FleetChange) => void;

/** What happened to a run (see FleetListener). */
export type FleetChange = 'started' | 'moved' | 'settled';

/** The runs of one repository that this process drives or has read. */
export class RunFleet {
  private wsPromise: Promise<Workspace> | null = null;
  private readonly plans = new Map<string, KeptPlan>();
  private readonly boards = new Map<string, Board>();
  private readonly listeners = new Set<FleetListener>();
  private readonly settledWaiters = new Map<string, (() => void)[]>();
  /** Each run's MCP servers (for the drives of its current engine), and who answers its pin questions. */
  private readonly mcpPorts = new Map<string, DriveMcp>();
  private readonly pinQuestions = new Map<string, PinQuestion>();

  constructor(private readonly opts: FleetOptions) {
    if (opts.workspace) this.wsPromise = Promise.resolve(opts.workspace);
  }

  /** The settings the fleet's new runs start with. */
  get settings(): Settings {
    return this.opts.settings;
  }

  /** The repository, opened once. Rejects with a RepoError when the folder cannot be used. */
  workspace(): Promise<Workspace> {
    this.wsPromise ??= openWorkspace(this.opts.cwd, this.opts.settings, this.opts.sandbox);
    // A failure is not kept: the next call tries again (the developer may have fixed the folder).
    this.wsPromise.catch(() => (this.wsPromise = null));
    return this.wsPromise;
  }

  /** Listen to changes of the runs this fleet drives; returns a function that stops listening. */
  onChange(listener: FleetListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Plan `spec` with the configured backend and keep the plan under a new id for `start`.
   * `signal` cancels the planner's request. A planner that gives no valid plan is a LeadError
   * ('backend' when a request failed, 'invalid' otherwise) listing what was wrong.
   */
  async plan(spec: string, opts: { maxTasks?: number; signal?: AbortSignal } = {}): Promise<KeptPlan> {
    if (!spec.trim()) throw new LeadError('The spec is empty: say what to build.', 'invalid');
    const ws = await this.workspace();
    const models = await this.models(ws);
    const model = models.planner;
    const result = await planWork(spec.trim(), await repositoryView(ws), model, {
      maxTasks: opts.maxTasks ?? this.opts.maxTasks,
      signal: opts.signal,
    });
    if (!result.ok) {
      const errors = result.errors.length ? ` Problems: ${result.errors.join('; ')}.` : '';
      throw new LeadError(
        `Planning failed: ${result.message}.${errors}`,
        result.reason === 'model' ? 'backend' : 'invalid',
      );
    }
    const estimate = await estimateWork(this.opts.settings, result, model.model, ws.repo);
    const kept: KeptPlan = { ...result, planId: randomUUID(), estimate };
    this.plans.set(kept.planId, kept);
    return kept;
  }

  /** A plan kept by `plan`; a LeadError 'notFound' naming the ids there are. */
  keptPlan(planId: string): KeptPlan {
    const kept = this.plans.get(planId);
    if (kept) return kept;
    const ids = [...this.plans.keys()];
    throw new LeadError(
      `There is no plan ${planId} in this Foreman process${ids.length ? ` (its plans: ${ids.join(', ')})` : ''}; plan the spec first.`,
      'notFound',
    );
  }

  /**
   * Start a run of a kept plan and drive it in the background; resolves with its id once the run
   * has started (its journal written, its lock held) and its MCP servers are ready (read, pinned,
   * and each new or changed pin put to `opts.pins`, which answers the run's pin questions until
   * another caller moves the run). The plan is used up.
   */
  async start(planId: string, opts: MoveOptions = {}): Promise<string> {
    const kept = this.keptPlan(planId);
    const ws = await this.workspace();
    const models = await this.models(ws);
    const question: PinQuestion = { approver: opts.pins ?? NO_PIN_QUESTION };
    const servers = await readFleetMcp(ws, this.opts.settings, (line) => this.opts.log(line));
    const mcp = servers && new DriveMcp(servers, ws.repo.stateDir, question);
    const run = await launchIn({ ...this.site(ws, models.agent, mcp), reviewer: models.reviewer }, kept);
    const runId = run.engine.config.runId;
    let release: () => void;
    try {
      release = lockRun(run.ws, runId);
    } catch (e) {
      run.journal.close();
      throw e;
    }
    this.plans.delete(planId);
    this.pinQuestions.set(runId, question);
    if (mcp) this.mcpPorts.set(runId, mcp);
    const board = Board.live(this.boardEnv(), run, release);
    this.boards.set(runId, board);
    this.emit(runId, 'started');
    board.drive();
    const limit = models.requestLimit
      ? `, ${models.requestLimit.requests} request(s) at once (${models.requestLimit.source})`
      : '';
    this.opts.log(
      `Run ${runId} started: ${kept.plan.tasks.length} task(s) on ${models.agent.model} at ${models.agent.endpoint}${limit}.`,
    );
    if (mcp)
      this.opts.log(`Run ${runId} offers its agents the tools of MCP servers ${mcp.names.join(', ')} once pinned.`);
    await this.mcpReady(runId);
    return runId;
  }

  /** Resolves when the drive going on has its MCP servers ready, or has ended, or none is going. */
  private async mcpReady(runId: string): Promise<void> {
    const port = this.mcpPorts.get(runId);
    if (port) await Promise.race([port.whenPrepared(), this.whenSettled(runId)]);
  }

  /** Who answers the run's pin questions from now on, when the caller says. */
  private askPinsOf(runId: string, pins: Approver | undefined): void {
    if (!pins) return;
    const question = this.pinQuestions.get(runId);
    if (question) question.approver = pins;
    else this.pinQuestions.set(runId, { approver: pins });
  }

  /** The ids of the repository's runs, newest first. */
  async runIds(): Promise<string[]> {
    return listRunIds((await this.workspace()).repo.stateDir);
  }

  /** The newest run's id; a LeadError 'notFound' when the repository has none. */
  async latestRunId(): Promise<string> {
    const [latest] = await this.runIds();
    if (!latest)
      throw new LeadError('There are no runs in this repository yet: plan a spec and start a run.', 'notFound');
    return latest;
  }

  /** A run's state and ledger: the live engine's while this process drives it, else its journal's. */
  async read(runId: string): Promise<RunReading> {
    const board = this.boards.get(runId);
    if (board?.live) {
      const { events } = await loadRun(await this.workspace(), runId);
      return { state: board.state, ledger: Ledger.fromEvents(events), live: true, torn: null, at: Date.now() };
    }
    const { events, torn } = await loadRun(await this.workspace(), runId);
    const state = reduceJournal(events);
    return { state, ledger: Ledger.fromEvents(events), live: false, torn, at: events.at(-1)?.t ?? Date.now() };
  }

  /** The live state of a run this process drives (no journal read), else null. */
  liveState(runId: string): RunState | null {
    const board = this.boards.get(runId);
    return board?.live ? board.state : null;
  }

  /** Whether this process is driving the run now. */
  isLive(runId: string): boolean {
    return this.boards.get(runId)?.live ?? false;
  }

  /**
   * Resolves when no drive of the run is going in this process (at once when none is), or when
   * `signal` aborts.
   */
  whenSettled(runId: string, signal?: AbortSignal): Promise<void> {
    if (!this.isLive(runId) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      const waiting = this.settledWaiters.get(runId) ?? [];
      waiting.push(done);
      this.settledWaiters.set(runId, waiting);
    });
  }

  /**
   * Accept, reject or send back a task, then drive the run on in the background (a run not driven
   * here is reopened from its journal under its lock, as `foreman accept` does). Refusals are
   * LeadError 'refused' with the engine's sentence.
   */
  async decide(runId: string, taskId: string, decision: TaskDecision, opts: MoveOptions = {}): Promise<void> {
    const board = await this.boardFor(runId);
    this.askPinsOf(runId, opts.pins);
    await board.decide(taskId, decision);
    await this.mcpReady(runId);
  }

  /** Stop one task, or every task of the run; their work is kept. Nothing driven here: a LeadError 'refused'. */
  async stop(runId: string, taskId?: string): Promise<void> {
    const board = this.boards.get(runId);
    if (!board?.live) {
      await loadRun(await this.workspace(), runId); // an unknown run says so
      throw new LeadError(`Run ${runId} is not running in this Foreman process; there is nothing to stop.`, 'refused');
    }
    if (taskId === undefined) board.stopAll();
    else board.stopTask(taskId);
  }

  /**
   * Reopen a stopped, interrupted or budget-stopped run and drive it on in the background, with its
   * own recorded settings.
   */
  async resume(runId: string, opts: MoveOptions = {}): Promise<void> {
    const board = await this.boardFor(runId);
    this.askPinsOf(runId, opts.pins);
    await board.resume();
    await this.mcpReady(runId);
  }

  /** Bring a run's integration branch onto the developer's branch; resolves with the sentence saying what was done. */
  async apply(runId: string, mode: 'squash' | 'merge'): Promise<string> {
    const board = await this.boardFor(runId);
    return board.apply(mode);
  }

  /** Stop every run this process drives and wait (at most `timeoutMs` each) for them to settle. */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    await Promise.all([...this.boards.values()].map((b) => b.shutdown(timeoutMs)));
    this.boards.clear();
    await Promise.all([...this.mcpPorts.values()].map((port) => port.close()));
    this.mcpPorts.clear();
  }

  // --- Boards --------------------------------------------------------------------------------

  /** The run's board: the live one, else one freshly read from its journal (another process may have moved it). */
  private async boardFor(runId: string): Promise<Board> {
    if (!isValidRunId(runId)) await loadRun(await this.workspace(), runId); // says what a run id looks like
    const current = this.boards.get(runId);
    if (current?.live) return current;
    current?.close();
    const ws = await this.workspace();
    const stored = await readStoredRun(ws.repo.stateDir, runId).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new LeadError(`There is no run ${runId} in this repository.`, 'notFound');
      throw e;
    });
    if (stored.torn) this.opts.log(`Note: ${stored.torn}.`);
    const board = Board.stored(this.boardEnv(), runId, ws.repo.root, ws.repo.stateDir, stored);
    this.boards.set(runId, board);
    return board;
  }

  /**
   * The roles' clients as `foreman run` makes them (roleClients): one backend's for all three, or
   * foreman.json's endpoints with their roles, replicas and probed limits; their lines go to the log.
   */
  private async models(ws: Workspace): Promise<RoleClients> {
    const models = await roleClients(this.opts.settings, ws, (line) => this.opts.log(line));
    for (const line of models.lines) this.opts.log(line.trim());
    return models;
  }

  private site(ws: Workspace, model: ModelClient, mcp: DriveMcp | null): EngineSite {
    return {
      ws,
      settings: this.opts.settings,
      model,
      mcp,
      approver: this.opts.approver,
      log: (line) => this.opts.log(line),
      dirtyAdvice,
    };
  }

  private boardEnv(): BoardEnv {
    return {
      now: () => Date.now(),
      changed: () => {
        for (const [runId, board] of this.boards) if (board.live) this.emit(runId, 'moved');
      },
      notify: (_kind, text) => this.opts.log(text),
      log: (line) => this.opts.log(line),
      reopen: async (runId, overrides) => {
        const ws = await this.workspace();
        // A run over several endpoints goes on over them, unless the process's flags name one backend.
        if (this.opts.settings.fabric && !this.opts.flags.baseUrl && !this.opts.flags.model) {
          const models = await this.models(ws);
          const site = this.site(ws, models.agent, await this.reopenMcp(ws, runId));
          return reopenIn({ ...site, reviewer: models.reviewer }, runId, overrides);
        }
        const recorded = (await readStoredRun(ws.repo.stateDir, runId)).state.settings;
        // The run goes on with its recorded backend and model, unless the process's flags name others.
        const backend = recorded ? continuedBackend(this.opts.settings, this.opts.flags, recorded) : null;
        if (backend?.note) this.opts.log(backend.note);
        const model = backend ? createOpenAIClient(backend.config) : backendClient(this.opts.settings, ws);
        refuseDemoElsewhere(model.model, ws);
        return reopenIn(this.site(ws, model, await this.reopenMcp(ws, runId)), runId, overrides);
      },
      workspace: () => this.workspace(),
      settled: (board, state, error) => {
        if (error) this.opts.log(`Run ${board.runId} stopped on an unexpected error: ${errorMessage(error)}`);
        else this.opts.log(`Run ${board.runId} is ${state.status}.`);
        // The drive's servers end with it; a later drive (a decision, a resume) starts them again.
        this.mcpPorts
          .get(board.runId)
          ?.close()
          .catch((e: unknown) => this.opts.log(`Run ${board.runId}'s MCP servers did not close: ${errorMessage(e)}`));
        this.emit(board.runId, 'settled');
        const waiting = this.settledWaiters.get(board.runId) ?? [];
        this.settledWaiters.delete(board.runId);
        for (const done of waiting) done();
      },
    };
  }

  /** The MCP servers of a reopened run's new engine (the engine before it lets them go). */
  private async reopenMcp(ws: Workspace, runId: string): Promise<DriveMcp | null> {
    await this.mcpPorts.get(runId)?.close();
    this.mcpPorts.delete(runId);
    const servers = await readFleetMcp(ws, this.opts.settings, (line) => this.opts.log(line));
    if (!servers) return null;
    let question = this.pinQuestions.get(runId);
    if (!question) this.pinQuestions.set(runId, (question = { approver: NO_PIN_QUESTION }));
    const port = new DriveMcp(servers, ws.repo.stateDir, question);
    this.mcpPorts.set(runId, port);
    return port;
  }

  private emit(runId: string, change: FleetChange): void {
    for (const listener of this.listeners) {
      try {
        listener(runId, change);
      } catch (e) {
        this.opts.log(`A listener of run ${runId} failed: ${errorMessage(e)}`);
      }
    }
  }
}

/** The refusal of a dirty checkout in the headless server's words. */
function dirtyAdvice(files: readonly string[]): string {
  const shown = files.slice(0, 10).join(', ') + (files.length > 10 ? `, … (${files.length} files in all)` : '');
  return (
    `Your checkout has uncommitted changes (${shown}). Commit or stash them first; or, to run on them as they are, ` +
    'start Foreman\'s MCP server with --dirty snapshot (or set "dirty": "snapshot" in foreman.json): your checkout is not touched.'
  );
}
