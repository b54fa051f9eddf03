/**
 * The Lead session's state and the services its request handlers share: the editor's settings,
 * why the session is blocked (no folder, not a git repository, untrusted), the spec and run
 * options, backends, discovery, the plan under review, the run on the board, history, notices,
 * the change signal, and the one-second ticker that runs while a run is live.
 *
 * The state is private. Handlers read it through getters and change it only through the methods
 * below, each named for what happened and each signalling the change to the listeners (the host's
 * update throttle, the tests' waits) before it returns, so no change can go unseen by the panel.
 */
import { sandboxState } from '../core/sandbox';
import type { Sandbox, SandboxState } from '../core/sandbox';
import type { ProbeTarget } from '../infra/discovery';
import { createSystemSandbox } from '../infra/systemSandbox';
import type { BackendView, DiscoveredServer, HistoryEntry, Notice, RunOptions } from '../protocol/panel';
import { ApprovalCenter } from './approvalCenter';
import { availableBackends, backendViews, DemoServer } from './backends';
import type { ResolvedBackend } from './backends';
import { CostHistory } from './costHistory';
import { RunHistory } from './history';
import type { Board } from './leadBoard';
import { LeadError } from './leadApi';
import type { BackendSetting, LeadHost, LeadSettings } from './leadHost';
import { defaultOptions, effectiveOptions, MEMORY_KEYS, storedChoices } from './leadOptions';
import { Notices } from './notices';
import type { NoticeSubject } from './notices';
import type { PlanDraft } from './planDraft';
import type { LaunchInput, WorkspaceInput } from './runLauncher';
import { checkWorkspace, untrusted } from './workspaceCheck';
import type { Blocked, SessionRepo } from './workspaceCheck';
import { errorMessage } from '../core/errors';

/** Options of a Lead session, mostly for tests. */
export interface LeadSessionOptions {
  /** The clock (ms); default Date.now. */
  now?: () => number;
  /** Ports discovery probes; default the common servers' ports. */
  discoveryTargets?: readonly (ProbeTarget | number)[];
  /** Pause between the demo server's streamed chunks, so the demo can be watched; default 40 ms. */
  demoPaceMs?: number;
  /** How long dispose() waits for a stopped run to settle; default 10 s. */
  stopTimeoutMs?: number;
  /** The live board's tick (elapsed times, the tokens/s chart); default 1000 ms. */
  tickMs?: number;
  /** What confines agent processes; default the machine's (src/infra/systemSandbox.ts). */
  sandbox?: Sandbox;
}

/** What the planner is doing now; `abort` stops it. */
export interface Planning {
  readonly startedAt: number;
  readonly message: string;
  readonly abort: AbortController;
}

/** Local discovery: whether a scan is going, and what the last one found. */
export interface Discovery {
  readonly scanning: boolean;
  readonly found: readonly DiscoveredServer[];
  readonly scannedAt: number | null;
}

/** The session's state and shared services. */
export class SessionCore {
  readonly history: RunHistory;
  /** What agent steps cost in this repository, for plans' estimates. */
  readonly costHistory = new CostHistory();
  /** Asks of the live run's agents, answered in the panel or in notifications. */
  readonly approvals: ApprovalCenter;
  readonly demo: DemoServer;
  private readonly noticeList: Notices;
  private settings_: LeadSettings;
  private blocked_: Blocked | null = null;
  private sandbox_: SandboxState | null = null;
  private readonly sandboxImpl: Sandbox;
  private repo_: SessionRepo | null = null;
  private spec_: string;
  private chosen_: Partial<RunOptions>;
  private backends_: BackendView[] = [];
  private discovery_: Discovery = { scanning: false, found: [], scannedAt: null };
  private planning_: Planning | null = null;
  private draft_: PlanDraft | null = null;
  private board_: Board | null = null;
  private historyEntries_: HistoryEntry[] = [];
  private starting_ = false;
  private disposed_ = false;
  private readonly listeners = new Set<() => void>();
  private ticker: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly host: LeadHost,
    readonly opts: LeadSessionOptions,
  ) {
    this.sandboxImpl = opts.sandbox ?? createSystemSandbox();
    this.noticeList = new Notices(
      (level, message) => host.log(level, message),
      () => this.now(),
    );
    this.history = new RunHistory((message) => host.log('warn', message));
    this.demo = new DemoServer(opts.demoPaceMs ?? 40, () => ({
      root: this.repo_?.root ?? null,
      sample: this.repo_?.sample ?? false,
    }));
    this.settings_ = host.readSettings();
    this.approvals = new ApprovalCenter(
      host,
      () => this.settings_.approvalTimeoutMs,
      () => this.changed(),
    );
    const spec = host.memory.get<unknown>(MEMORY_KEYS.spec);
    this.spec_ = typeof spec === 'string' ? spec : '';
    this.chosen_ = storedChoices(host.memory.get<unknown>(MEMORY_KEYS.options));
  }

  // --- Reading the state ------------------------------------------------------------------------

  /** The editor's settings, as last read. */
  get settings(): LeadSettings {
    return this.settings_;
  }

  /** How agent processes would run with the settings as last read; null until first looked at. */
  get sandbox(): SandboxState | null {
    return this.sandbox_;
  }

  /** Why the session cannot plan or run here; null when it can. */
  get blocked(): Blocked | null {
    return this.blocked_;
  }

  /** The workspace's repository; null when there is none. */
  get repo(): SessionRepo | null {
    return this.repo_;
  }

  /** The developer's spec draft. */
  get spec(): string {
    return this.spec_;
  }

  /** The run options the developer chose (the rest come from the settings). */
  get chosen(): Readonly<Partial<RunOptions>> {
    return this.chosen_;
  }

  /** The backends as the panel shows them. */
  get backendList(): readonly BackendView[] {
    return this.backends_;
  }

  /** Local discovery: scanning now, and what the last scan found. */
  get discovery(): Discovery {
    return this.discovery_;
  }

  /** The planner at work; null when it is not. */
  get planning(): Planning | null {
    return this.planning_;
  }

  /** The plan under review; null when there is none. */
  get draft(): PlanDraft | null {
    return this.draft_;
  }

  /** The run on the board; null when the board is empty. */
  get board(): Board | null {
    return this.board_;
  }

  /** The repository's past runs (the live one's state from its engine). */
  get historyEntries(): readonly HistoryEntry[] {
    return this.historyEntries_;
  }

  /** A run is being started (between run/start and the board). */
  get starting(): boolean {
    return this.starting_;
  }

  /** The session has been disposed: it starts nothing more. */
  get disposed(): boolean {
    return this.disposed_;
  }

  /** The notices, oldest first (a copy). */
  get notices(): Notice[] {
    return this.noticeList.list();
  }

  /** The id up to which the developer dismissed the line (0 for none). */
  get noticesSeen(): number {
    return this.noticeList.seen;
  }

  now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Configured backends, and the demo where the workspace is the sample. */
  available(): BackendSetting[] {
    return availableBackends(this.settings_, this.demo.url, this.demo.here);
  }

  /** The backend of that name, or null. */
  readonly known = (name: string): BackendSetting | null => this.available().find((b) => b.name === name) ?? null;

  /** The run options in effect. */
  options(): RunOptions {
    return effectiveOptions(defaultOptions(this.settings_, this.available()), this.chosen_, this.known);
  }

  // --- The change signal ------------------------------------------------------------------------

  /**
   * Tell every listener that the state changed. The methods below call it; callers call it for
   * changes the core does not hold itself (the board's run moved on). A listener that throws is
   * logged, not propagated.
   */
  changed(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (e) {
        this.host.log('error', `A Lead panel listener failed: ${errorMessage(e)}`);
      }
    }
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // --- Changing the state (each method signals) -------------------------------------------------

  /** Add a notice for the developer (logged too); `subject` says which run it is about. */
  notify(kind: Notice['kind'], text: string, subject?: NoticeSubject): void {
    this.noticeList.add(kind, text, subject);
    this.changed();
  }

  /** The developer dismissed the line up to notice `id`; nothing changes (or is signalled) when it was already. */
  dismissNotice(id: number): void {
    if (this.noticeList.dismiss(id)) this.changed();
  }

  /** The developer edited the spec: kept, and remembered for the next session. */
  async editSpec(spec: string): Promise<void> {
    this.spec_ = spec;
    this.changed();
    await this.host.memory.set(MEMORY_KEYS.spec, spec);
  }

  /** The developer's run options (already checked): kept, and remembered for the next session. */
  async choose(chosen: Partial<RunOptions>): Promise<void> {
    this.chosen_ = chosen;
    this.changed();
    await this.rememberChoices();
  }

  /**
   * Select `backend` with `model` after the backends changed (one was added to the settings, or the
   * demo started): the settings and the backend list are read again, `notice` (if any) is added,
   * and the choice is remembered.
   */
  async selectBackend(backend: string, model: string, notice?: string): Promise<void> {
    this.settings_ = this.host.readSettings();
    this.chosen_ = { ...this.chosen_, backend, model };
    this.backends_ = await backendViews(this.host, this.available());
    if (notice !== undefined) this.noticeList.add('info', notice);
    this.changed();
    await this.rememberChoices();
  }

  /** Read the backend list again: what the capability probes found shows in it. */
  async refreshBackends(): Promise<void> {
    this.backends_ = await backendViews(this.host, this.available());
    this.changed();
  }

  /** A discovery scan started. */
  discoveryStarted(): void {
    this.discovery_ = { ...this.discovery_, scanning: true };
    this.changed();
  }

  /** The scan ended with what it `found`, or with null when it failed (the last result is kept). */
  discoveryEnded(found: DiscoveredServer[] | null): void {
    this.discovery_ = found
      ? { scanning: false, found, scannedAt: this.now() }
      : { ...this.discovery_, scanning: false };
    this.changed();
  }

  /**
   * The planner starts (`message` says on what; `abort` stops it). A fresh plan closes the board
   * (which must not be live) and drops the plan under review; a revision keeps the plan it revises.
   */
  planningStarted(message: string, abort: AbortController, fresh: boolean): void {
    if (fresh) {
      this.board_?.close();
      this.board_ = null;
      this.draft_ = null;
    }
    this.planning_ = { startedAt: this.now(), message, abort };
    this.changed();
  }

  /**
   * The planner started with `abort` ended, with a new plan under review or with none (cancelled,
   * failed: the plan under review stays). A planner that is no longer the current one changes
   * nothing but the draft.
   */
  planningEnded(abort: AbortController, draft: PlanDraft | null): void {
    if (this.planning_?.abort === abort) this.planning_ = null;
    if (draft) this.draft_ = draft;
    this.changed();
  }

  /** The plan under review becomes `draft` (the developer edited it), or goes (null: discarded). */
  setDraft(draft: PlanDraft | null): void {
    this.draft_ = draft;
    this.changed();
  }

  /**
   * Start a run of the plan: `work` builds it and puts it on the board. Meanwhile `starting` is
   * true, so no other run or plan starts. It is not part of the panel's state, so only the end of
   * the start is signalled (whether `work` succeeded or not).
   */
  async whileStarting(work: () => Promise<void>): Promise<void> {
    this.starting_ = true;
    try {
      await work();
    } finally {
      this.starting_ = false;
      this.changed();
    }
  }

  /**
   * A new run of the plan under review: it takes the board (closing the run there, which must not
   * be live) and the plan's place, is driven from now on, and the board ticks while it is live.
   */
  runStarted(board: Board): void {
    this.replaceBoard(board);
    this.draft_ = null;
    board.drive();
    this.startTicker();
    this.changed();
  }

  /** Put `board` (a run from history) on the board, closing the one there (which must not be live). */
  showBoard(board: Board): void {
    this.replaceBoard(board);
    this.changed();
  }

  /** Leave the board (which must not be live) for a new spec: the board and any plan go. */
  closeBoard(): void {
    this.board_?.close();
    this.board_ = null;
    this.draft_ = null;
    this.changed();
  }

  /** Read the history again (the live run's state comes from its engine). */
  async reloadHistory(): Promise<void> {
    this.historyEntries_ = await this.readHistory();
    this.changed();
  }

  /** Read settings, the workspace (repository, trust), the sandbox, the backends and the history again. */
  async refresh(): Promise<void> {
    this.settings_ = this.host.readSettings();
    const { repo, blocked } = await checkWorkspace(this.host);
    this.repo_ = repo;
    this.blocked_ = blocked;
    // The probe itself runs once per process; the mode follows the settings.
    this.sandbox_ = sandboxState(this.settings_.sandbox.mode, await this.sandboxImpl.probe(), this.settings_.sandbox);
    this.backends_ = await backendViews(this.host, this.available());
    try {
      this.historyEntries_ = await this.readHistory();
    } catch (e) {
      this.host.log('warn', `Could not read the history: ${errorMessage(e)}`);
    }
    this.changed();
  }

  /**
   * Refuse (LeadError 'blocked') when the session cannot act here. Trust is asked again each time,
   * so granting it takes effect at once and nothing runs after it is withdrawn.
   */
  ensureAllowed(): void {
    const trusted = this.host.isTrusted();
    const before = this.blocked_;
    if (this.blocked_?.reason === 'untrusted' && trusted) this.blocked_ = null;
    if (!this.blocked_ && !trusted) this.blocked_ = untrusted();
    if (this.blocked_ !== before) this.changed();
    if (this.blocked_) throw new LeadError(this.blocked_.message, 'blocked');
  }

  /**
   * Let go of everything: the planner is stopped, a live run is stopped and waited for (at most
   * `stopTimeoutMs`), the board emptied, the demo server closed. Idempotent.
   */
  async dispose(): Promise<void> {
    if (this.disposed_) return;
    this.disposed_ = true;
    this.planning_?.abort.abort();
    this.stopTicker();
    this.approvals.close();
    await this.board_?.shutdown(this.opts.stopTimeoutMs ?? 10_000);
    this.board_ = null;
    this.changed();
    await this.demo.close();
    this.stopTicker();
  }

  // --- Services ---------------------------------------------------------------------------------

  /** The repository, or LeadError 'blocked' when there is none. */
  requireRepo(): SessionRepo {
    if (!this.repo_)
      throw new LeadError(this.blocked_?.message ?? 'Open a folder that is a git repository first.', 'blocked');
    return this.repo_;
  }

  /** Where runs work, with the settings and options as they are now. */
  workspaceInput(): WorkspaceInput {
    return {
      folder: this.requireRepo().root,
      settings: this.settings_,
      options: this.options(),
      sandbox: this.sandboxImpl,
      log: (message) => this.host.log('info', message),
      trusted: this.host.isTrusted(),
      mcpInputs: this.host.mcpInputs,
    };
  }

  /** What building an engine needs, with the settings and options as they are now. */
  launchInput(backend: ResolvedBackend): LaunchInput {
    return { ...this.workspaceInput(), backend, approver: this.approvals.approver };
  }

  /** Tick once a second while a run is live: an update (elapsed times, tokens/s and its chart). */
  startTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      if (!this.board_?.live) {
        this.stopTicker();
        return;
      }
      this.changed();
    }, this.opts.tickMs ?? 1000);
  }

  stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  private async rememberChoices(): Promise<void> {
    await this.host.memory.set(MEMORY_KEYS.options, this.chosen_);
  }

  private async readHistory(): Promise<HistoryEntry[]> {
    if (!this.repo_) return [];
    const board = this.board_;
    const live = new Map(board?.live ? [[board.runId, board.state]] : []);
    return this.history.list(this.repo_.stateDir, live);
  }

  /** The board becomes `board`; the one there is closed (it must not be live). */
  private replaceBoard(board: Board): void {
    this.board_?.close();
    this.board_ = board;
  }
}
