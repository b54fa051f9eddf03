/**
 * The Lead session's state and the services its request handlers share: the editor's settings,
 * why the session is blocked (no folder, not a git repository, untrusted), the spec and run
 * options, backends, discovery, the plan under review, the run on the board, history, notices,
 * the change signal, and the one-second ticker that runs while a run is live.
 */
import { sandboxState } from '../core/sandbox';
import type { Sandbox, SandboxState } from '../core/sandbox';
import { createGitRepo } from '../infra/gitRepo';
import { createSystemSandbox } from '../infra/systemSandbox';
import { runGit } from '../infra/gitExec';
import type { ProbeTarget } from '../infra/discovery';
import type { BackendView, DiscoveredServer, HistoryEntry, Notice, PanelState, RunOptions } from '../protocol/panel';
import { availableBackends, backendViews, DemoServer } from './backends';
import type { ResolvedBackend } from './backends';
import { RunHistory } from './history';
import type { Board } from './leadBoard';
import { LeadError } from './leadApi';
import type { BackendSetting, LeadHost, LeadSettings } from './leadHost';
import { defaultOptions, effectiveOptions, MEMORY_KEYS, storedChoices } from './leadOptions';
import { Notices } from './notices';
import type { PlanDraft } from './planDraft';
import type { LaunchInput, WorkspaceInput } from './runLauncher';
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

/** Why the session cannot plan or run here. */
type Blocked = NonNullable<PanelState['blocked']>;

/** What the planner is doing now. */
export interface Planning {
  startedAt: number;
  message: string;
  abort: AbortController;
}

/** The session's state and shared services. Handlers change the state, then call `changed()`. */
export class SessionCore {
  readonly notices: Notices;
  readonly history: RunHistory;
  readonly demo: DemoServer;
  settings: LeadSettings;
  blocked: Blocked | null = null;
  /** How agent processes would run now; null until first looked at. */
  sandbox: SandboxState | null = null;
  repo: { root: string; stateDir: string } | null = null;
  spec: string;
  chosen: Partial<RunOptions>;
  backendList: BackendView[] = [];
  discovery: { scanning: boolean; found: DiscoveredServer[]; scannedAt: number | null } = {
    scanning: false,
    found: [],
    scannedAt: null,
  };
  planning: Planning | null = null;
  draft: PlanDraft | null = null;
  board: Board | null = null;
  historyEntries: HistoryEntry[] = [];
  /** A run is being started (between run/start and the board). */
  starting = false;
  disposed = false;
  private readonly listeners = new Set<() => void>();
  private readonly sandboxImpl: Sandbox;
  private ticker: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly host: LeadHost,
    readonly opts: LeadSessionOptions,
  ) {
    this.sandboxImpl = opts.sandbox ?? createSystemSandbox();
    this.notices = new Notices((level, message) => host.log(level, message));
    this.history = new RunHistory((message) => host.log('warn', message));
    this.demo = new DemoServer(opts.demoPaceMs ?? 40);
    this.settings = host.readSettings();
    const spec = host.memory.get<unknown>(MEMORY_KEYS.spec);
    this.spec = typeof spec === 'string' ? spec : '';
    this.chosen = storedChoices(host.memory.get<unknown>(MEMORY_KEYS.options));
  }

  now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Tell every listener that the state changed. A listener that throws is logged, not propagated. */
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

  /** Add a notice for the developer (logged too) and signal the change. */
  notify(kind: Notice['kind'], text: string): void {
    this.notices.add(kind, text);
    this.changed();
  }

  /** Configured backends and the demo. */
  available(): BackendSetting[] {
    return availableBackends(this.settings, this.demo.url);
  }

  /** The backend of that name, or null. */
  readonly known = (name: string): BackendSetting | null => this.available().find((b) => b.name === name) ?? null;

  /** The run options in effect. */
  options(): RunOptions {
    return effectiveOptions(defaultOptions(this.settings, this.available()), this.chosen, this.known);
  }

  async persistChoices(): Promise<void> {
    await this.host.memory.set(MEMORY_KEYS.options, this.chosen);
  }

  async refreshBackends(): Promise<void> {
    this.backendList = await backendViews(this.host, this.available());
  }

  /** Look at how agent processes would run with the settings as they are (the probe runs once). */
  async checkSandbox(): Promise<void> {
    this.sandbox = sandboxState(this.settings.sandbox.mode, await this.sandboxImpl.probe());
  }

  /** Work out whether (and why not) the session can plan and run in the workspace folder. */
  async checkWorkspace(): Promise<void> {
    const folder = this.host.folder;
    this.repo = null;
    if (!folder) {
      this.blocked = {
        reason: 'noFolder',
        message: 'Open a folder to use Foreman: its agents work on the git repository of the workspace folder.',
      };
      return;
    }
    try {
      const repo = await createGitRepo({ cwd: folder });
      this.repo = { root: repo.root, stateDir: repo.stateDir };
    } catch {
      // createGitRepo says why in git's words; the panel says what to do.
      this.blocked = {
        reason: 'notGit',
        message: `${folder} is not in a git repository. Foreman's agents work in git worktrees: run \`git init\` there and make a first commit, then refresh.`,
      };
      return;
    }
    const head = await runGit(this.repo.root, ['rev-parse', '--verify', '-q', 'HEAD^{commit}']);
    if (head.exitCode !== 0) {
      this.blocked = {
        reason: 'notGit',
        message: `The repository at ${this.repo.root} has no commits yet. Make a first commit (\`git add -A && git commit -m "Initial commit"\`), then refresh.`,
      };
      return;
    }
    this.blocked = this.host.isTrusted() ? null : untrusted();
  }

  /**
   * Refuse (LeadError 'blocked') when the session cannot act here. Trust is asked again each time,
   * so granting it takes effect at once and nothing runs after it is withdrawn.
   */
  ensureAllowed(): void {
    const trusted = this.host.isTrusted();
    if (this.blocked?.reason === 'untrusted' && trusted) this.blocked = null;
    if (!this.blocked && !trusted) {
      this.blocked = untrusted();
      this.changed();
    }
    if (this.blocked) throw new LeadError(this.blocked.message, 'blocked');
  }

  /** The repository, or LeadError 'blocked' when there is none. */
  requireRepo(): { root: string; stateDir: string } {
    if (!this.repo)
      throw new LeadError(this.blocked?.message ?? 'Open a folder that is a git repository first.', 'blocked');
    return this.repo;
  }

  /** Where runs work, with the settings and options as they are now. */
  workspaceInput(): WorkspaceInput {
    return {
      folder: this.requireRepo().root,
      settings: this.settings,
      options: this.options(),
      sandbox: this.sandboxImpl,
      log: (message) => this.host.log('info', message),
    };
  }

  /** What building an engine needs, with the settings and options as they are now. */
  launchInput(backend: ResolvedBackend): LaunchInput {
    return { ...this.workspaceInput(), backend };
  }

  /** Read the history again (the live run's state comes from its engine). */
  async reloadHistory(): Promise<void> {
    if (!this.repo) {
      this.historyEntries = [];
      return;
    }
    const live = new Map(this.board?.live ? [[this.board.runId, this.board.state]] : []);
    this.historyEntries = await this.history.list(this.repo.stateDir, live);
  }

  /** Tick once a second while a run is live: a tokens/s sample and an update (elapsed times). */
  startTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      if (!this.board?.live) {
        this.stopTicker();
        return;
      }
      this.board.sample(this.now());
      this.changed();
    }, this.opts.tickMs ?? 1000);
  }

  stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }
}

function untrusted(): Blocked {
  return {
    reason: 'untrusted',
    message:
      "This workspace is not trusted, so Foreman's agents do not run here (they run commands and change files). Trust the workspace to plan and run; past runs can still be viewed.",
  };
}
