/**
 * Engines for the Lead panel and the MCP server's fleet (runFleet.ts), built the way `foreman run`
 * builds them (src/cli/commands/run.ts):
 * a new run (retention of old worktrees, the base commit, checks, the engine, the planner's
 * requests booked), or an existing run reopened from its journal for a resume or a decision. The
 * caller drives the engine and holds the run's lock while it does.
 */
import type { McpPort } from '../core/mcpTools';
import type { McpInputPort } from './mcpInputs';
import { openMcpServers } from './mcpServers';
import { join } from 'node:path';
import type { Approver } from '../core/approver';
import type { PriceTable } from '../core/ledger';
import { describeSandboxState } from '../core/sandbox';
import type { Sandbox } from '../core/sandbox';
import type { ModelClient, ModelResponse } from '../core/model';
import type { Plan } from '../core/plan';
import { RunEngine } from '../core/runEngine';
import type { SettingsOverrides } from '../core/runSettings';
import type { JournalFile } from '../infra/journalFile';
import { newRunId } from '../infra/journalFile';
import { acquireLock } from '../infra/runLock';
import type { RunOptions } from '../protocol/panel';
import type { ResolvedBackend } from './backends';
import type { NoticeRelay } from './fabric';
import { readStoredRun } from './history';
import { LeadError } from './leadApi';
import { SettingsError } from './settings';
import type { LeadSettings } from './leadHost';
import { runSettings } from './leadOptions';
import type { Settings } from './settings';
import type { Workspace } from './workspace';
import {
  engineConfig,
  engineDeps,
  openWorkspace,
  reapLeftovers,
  repositoryView,
  resolveChecks,
  runDir,
} from './workspace';
import { reconcileWorktrees } from './worktreeRetention';
import { errorMessage } from '../core/errors';

/** Where a run works, with which settings and options. */
export interface WorkspaceInput {
  folder: string;
  settings: LeadSettings;
  options: RunOptions;
  /** What confines agent processes (the machine's sandbox, or a test's). */
  sandbox: Sandbox;
  log: (message: string) => void;
  /** Whether VS Code trusts the workspace; untrusted, its own MCP servers never start. Default: trusted. */
  trusted?: boolean;
  /** Who asks for `.vscode/mcp.json`'s inputs (VS Code's input box); without it, the environment gives them. */
  mcpInputs?: McpInputPort;
}

/** What building an engine needs: the workspace input, the backend, and who answers asks. */
export interface LaunchInput extends WorkspaceInput {
  backend: ResolvedBackend;
  approver?: Approver;
}

/** An engine this window may drive, with its workspace and open journal. */
export interface DrivenRun {
  ws: Workspace;
  engine: RunEngine;
  journal: JournalFile;
}

/** The plan to run and what planning it produced. */
export interface PlannedWork {
  plan: Plan;
  repoView: string;
  responses: ModelResponse[];
}

/** Take a run's lock for this process; LeadError 'busy' when another live process holds it. */
export function lockRun(ws: Workspace, runId: string): () => void {
  const lock = acquireLock(join(runDir(ws, runId), 'lock'));
  if (!lock.ok)
    throw new LeadError(
      `Run ${runId} is being driven by another Foreman process (pid ${lock.holder}); stop that one first.`,
      'busy',
    );
  return lock.release;
}

/** Open the workspace folder's repository with the settings of a run (priced with `prices`). */
export function openRunWorkspace(
  input: WorkspaceInput,
  prices: PriceTable = {},
): Promise<{ ws: Workspace; settings: Settings }> {
  const settings = runSettings(input.settings, input.options, prices);
  return openWorkspace(input.folder, settings, input.sandbox).then((ws) => ({ ws, settings }));
}

/**
 * The run's MCP servers: `foreman.mcpServers` (user and workspace levels) and `.vscode/mcp.json`.
 * A configuration Foreman cannot use is refused in words (LeadError 'refused').
 */
async function runMcp(input: WorkspaceInput, ws: Workspace): Promise<McpPort | null> {
  const levels = input.settings.mcpServers;
  try {
    const { port, notices } = await openMcpServers(
      {
        root: ws.repo.root,
        workspace: levels?.workspace,
        workspaceOrigin: 'workspace settings',
        user: levels?.user,
        trusted: input.trusted ?? true,
        env: process.env,
        inputs: input.mcpInputs,
      },
      ws.repo.stateDir,
    );
    for (const line of notices) input.log(line);
    return port;
  } catch (e) {
    if (e instanceof SettingsError) throw new LeadError(e.message, 'refused');
    throw e;
  }
}

/** Refuse (LeadError 'refused') to drive a run whose agent commands no sandbox can hold. */
async function requireSandbox(ws: Workspace): Promise<void> {
  const state = await ws.runners.state();
  if (state.kind === 'unavailable') throw new LeadError(describeSandboxState(state), 'refused');
}

/**
 * Start a new run of `work`: old worktrees are tidied by the retention policy, the base is
 * resolved (a dirty checkout is refused with git's list of files, unless the settings snapshot
 * it), and the engine records the run's start. Nothing is driven yet.
 */
export async function launchRun(input: LaunchInput, work: PlannedWork): Promise<DrivenRun> {
  return launchIn(await panelSite(input), work);
}

/** The panel's workspace opened for a run, with the chosen backend's roles and the MCP servers. */
async function panelSite(input: LaunchInput): Promise<EngineSite> {
  const { ws, settings } = await openRunWorkspace(input, input.backend.prices);
  return {
    ws,
    settings,
    model: input.backend.client,
    reviewer: input.backend.roles.reviewer,
    notices: input.backend.notices,
    mcp: await runMcp(input, ws),
    approver: input.approver,
    log: input.log,
    dirtyAdvice,
  };
}

/** An opened workspace with a run's settings, its model, who answers asks, and where lines go. */
export interface EngineSite {
  ws: Workspace;
  settings: Settings;
  model: ModelClient;
  /** The reviewer's model; the agents' when absent. */
  reviewer?: ModelClient;
  /** The developer's MCP servers for the run's agents, if any. */
  mcp?: McpPort | null;
  /** Where the backends' notices (a fallback taken, a replica out) go once the engine exists. */
  notices?: NoticeRelay;
  approver?: Approver;
  log: (message: string) => void;
  /** The refusal of a dirty checkout in this front end's words (the files it has uncommitted). */
  dirtyAdvice: (files: readonly string[]) => string;
}

/**
 * Start a new run of `work` in an opened workspace (see launchRun): the panel and the headless
 * MCP server (src/app/runFleet.ts) build their engines here, so both start runs the same way.
 */
export async function launchIn(site: EngineSite, work: PlannedWork): Promise<DrivenRun> {
  const { ws, settings } = site;
  await requireSandbox(ws);
  for (const line of await reconcileWorktrees(ws, settings)) site.log(line);
  const base = await ws.repo.resolveBase(settings.dirty);
  if (!base.ok) throw new LeadError(base.reason === 'dirty' ? site.dirtyAdvice(base.files) : base.message, 'refused');
  const checks = await resolveChecks(ws, settings);
  site.log(
    `Checks: ${checks.length ? checks.map((c) => c.command).join('; ') : 'none configured or detected (tasks are merged unverified)'}`,
  );
  const runId = newRunId();
  const deps = engineDeps(ws, settings, site.model, runId, site.approver, site.reviewer, site.mcp ?? null);
  const engine = RunEngine.create(deps, engineConfig(settings, runId, checks, settings.prices), {
    plan: work.plan,
    repoView: work.repoView,
    base,
  });
  engine.recordPlanningResponses(work.responses);
  site.notices?.attach(engine);
  return { ws, engine, journal: deps.journal as JournalFile };
}

/**
 * Reopen an existing run from its journal (RunEngine.resume: interrupted work is queued again),
 * with its own budgets, prices and concurrency; `overrides` are the developer's explicit changes,
 * recorded in the journal. The caller must hold the run's lock: the journal is opened for appending.
 */
export async function reopenRun(
  input: LaunchInput,
  runId: string,
  overrides: SettingsOverrides = {},
): Promise<DrivenRun> {
  return reopenIn(await panelSite(input), runId, overrides);
}

/** Reopen an existing run in an opened workspace (see reopenRun); the caller holds the run's lock. */
export async function reopenIn(site: EngineSite, runId: string, overrides: SettingsOverrides = {}): Promise<DrivenRun> {
  const { ws, settings } = site;
  await requireSandbox(ws);
  const stored = await readStoredRun(ws.repo.stateDir, runId).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new LeadError(`There is no run ${runId} in this repository.`, 'notFound');
    throw e;
  });
  if (stored.torn) site.log(`Note: ${stored.torn}.`);
  // The caller holds the run's lock (see Board.reopen).
  for (const line of await reapLeftovers(ws, runId)) site.log(line);
  const checks = await resolveChecks(ws, settings);
  const deps = engineDeps(ws, settings, site.model, runId, site.approver, site.reviewer, site.mcp ?? null);
  const journal = deps.journal as JournalFile;
  try {
    const engine = RunEngine.resume(
      deps,
      engineConfig(settings, runId, checks, settings.prices),
      stored.events,
      await repositoryView(ws),
      overrides,
    );
    site.notices?.attach(engine);
    return { ws, engine, journal };
  } catch (e) {
    journal.close();
    throw new LeadError(`Run ${runId} cannot be reopened: ${errorMessage(e)}`, 'refused');
  }
}

/**
 * The refusal of a dirty checkout in the editor's words: what to do in VS Code (commit or stash in
 * the Source Control view) or the setting that runs on a snapshot instead, never a command-line flag.
 */
export function dirtyAdvice(files: readonly string[]): string {
  const shown = files.slice(0, 10).join(', ') + (files.length > 10 ? `, … (${files.length} files in all)` : '');
  return (
    `Your checkout has uncommitted changes (${shown}). Commit or stash them in the Source Control view, ` +
    'then press Run again; or, to run on them as they are, set "Foreman: Dirty Checkout" (foreman.dirtyCheckout) ' +
    'to "snapshot" in the settings: your checkout is not touched.'
  );
}
