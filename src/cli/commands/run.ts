/**
 * `foreman run`: plan (or load a plan), then run it with progress on stderr and a summary at the
 * end; `--resume <run>` continues an interrupted or stopped run.
 */
import { resolve } from 'node:path';
import type { McpPort } from '../../core/mcpTools';
import { openMcpServers } from '../../app/mcpServers';
import type { Approver } from '../../core/approver';
import { describeSettings } from '../../core/runSettings';
import { continuedBackend, explicitOverrides } from '../../app/continueRun';
import { RunEngine } from '../../core/runEngine';
import type { RunState } from '../../core/runState';
import { describeSandboxState } from '../../core/sandbox';
import { reduceJournal } from '../../core/runState';
import { TelemetryBook } from '../../core/telemetry';
import { renderBackends } from '../telemetryText';
import { newRunId } from '../../infra/journalFile';
import { createOpenAIClient, probeBackend } from '../../infra/openaiClient';
import { EXIT } from '../context';
import type { CommandContext, CommandHandler } from '../context';
import { budgetFlag, progressLine, renderPlan, renderSummary } from '../render';
import { UsageError } from '../options';
import type { ApproveMode } from '../options';
import { approveMode, cliApprovals } from '../approvals';
import type { CliApprovals } from '../approvals';
import { estimateFor, obtainPlan, printEstimate } from './plan';
import { traceAfterRun } from './exportTrace';
import type { RoleClients, Workspace } from '../../app/workspace';
import { reconcileWorktrees } from '../../app/worktreeRetention';
import { NoticeRelay } from '../../app/fabric';
import type { RequestLimit } from '../../app/fabric';
import {
  backendClient,
  refuseDemoElsewhere,
  engineConfig,
  engineDeps,
  loadRun,
  openWorkspace,
  repositoryView,
  requestLimitFor,
  roleClients,
  resolveChecks,
  takeRun,
} from '../../app/workspace';

export const runCommand: CommandHandler = async (ctx) => {
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const approvals = await sandboxGate(ctx, ws);
  if (typeof approvals === 'number') return approvals;
  for (const line of await reconcileWorktrees(ws, ctx.settings)) ctx.err(line);
  const notices = backendNotices(ctx);
  const mcp = await cliMcp(ctx, ws);
  const engine = ctx.cl.resume
    ? await resumeEngine(ctx, ws, ctx.cl.resume, approvals.approver, notices, mcp)
    : await newEngine(ctx, ws, await roleClients(ctx.settings, ws, notices.say), approvals.approver, notices, mcp);
  if (typeof engine === 'number') {
    approvals.close();
    return engine;
  }
  return driveLocked(ctx, ws, engine, approvals);
};

/**
 * The run's MCP servers from foreman.json and .vscode/mcp.json (the command line is run by the
 * developer in their repository, so its workspace counts as trusted; every server still needs
 * its pin approved). Says on a line which servers there are.
 */
export async function cliMcp(ctx: CommandContext, ws: Workspace): Promise<McpPort | null> {
  const { port, notices, servers } = await openMcpServers(
    {
      root: ws.repo.root,
      workspace: ctx.settings.mcpServers,
      workspaceOrigin: 'foreman.json',
      user: undefined,
      trusted: true,
      env: process.env,
    },
    ws.repo.stateDir,
  );
  for (const line of notices) ctx.err(line);
  if (servers.length)
    ctx.err(
      `MCP servers: ${servers.map((s) => `${s.name} (${s.transport.type}, from ${s.origin})`).join(', ')}; each is pinned, and a new or changed pin is asked about.`,
    );
  return port;
}

/**
 * Say on the first lines how agent commands will run (sandboxed, or unconfined by the user's
 * choice) and how asks are answered; refuse (EXIT.refused) when no sandbox can run here and the
 * user has not turned it off. Returns the run's approvals.
 */
export async function sandboxGate(ctx: CommandContext, ws: Workspace): Promise<CliApprovals | number> {
  const state = await ws.runners.state();
  ctx.err(describeSandboxState(state));
  if (state.kind === 'unavailable') return EXIT.refused;
  const terminal = {
    input: process.stdin,
    output: process.stderr,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  };
  const mode = approveMode(ctx.cl.approve, terminal);
  ctx.err(APPROVE_LINES[mode]);
  return cliApprovals(mode, {
    sandboxed: state.kind === 'on',
    timeoutMs: ctx.cl.approveTimeoutMs,
    terminal,
    err: (line) => ctx.err(line),
  });
}

/**
 * Sentences about the backends during a run (a fallback, a replica taken out or back): printed at
 * once, and written to the run's journal once the run is attached.
 */
export function backendNotices(ctx: CommandContext): NoticeRelay {
  return new NoticeRelay((text) => ctx.err(`Backends: ${text}`));
}

const APPROVE_LINES: Record<ApproveMode, string> = {
  prompt: 'Approvals: commands the policy asks about are asked here, on this terminal.',
  never: 'Approvals: commands the policy asks about are refused (no terminal to ask on; see --approve).',
  policy: 'Approvals: commands the policy asks about run without asking, in the sandbox (--approve policy).',
};

/** Drive a run while holding its lock, so no other process drives it at the same time. */
export async function driveLocked(
  ctx: CommandContext,
  ws: Workspace,
  engine: RunEngine,
  approvals: CliApprovals,
  before?: (engine: RunEngine) => Promise<number | null>,
): Promise<number> {
  const lock = await takeRun(ws, engine.config.runId);
  if (!lock.ok) {
    approvals.close();
    ctx.err(`Run ${engine.config.runId} is being driven by process ${lock.holder}; stop that one first.`);
    return EXIT.refused;
  }
  for (const line of lock.reaped) ctx.err(line);
  try {
    const refused = before ? await before(engine) : null;
    if (refused !== null) return refused;
    const code = await drive(ctx, engine, approvals);
    if (ctx.cl.traceEndpoint) await traceAfterRun(ctx, ws, engine.config.runId, ctx.cl.traceEndpoint);
    return code;
  } finally {
    approvals.close();
    lock.release();
  }
}

async function newEngine(
  ctx: CommandContext,
  ws: Workspace,
  models: RoleClients,
  approver: Approver,
  notices: NoticeRelay,
  mcp: McpPort | null,
): Promise<RunEngine | number> {
  for (const line of models.lines) ctx.err(line);
  const given = [ctx.cl.planFile, ctx.cl.specFile].filter((f): f is string => f !== undefined);
  const base = await ws.repo.resolveBase(ctx.settings.dirty, { ignore: given.map((f) => resolve(ctx.cl.cwd, f)) });
  if (!base.ok) {
    ctx.err(
      `${base.message} Commit or stash them first, or start the run with --dirty snapshot to build on them as they are.`,
    );
    return EXIT.refused;
  }
  // Without a planning request first, a backend that is down would only show as every task failing.
  const reachable =
    ctx.settings.backend && ctx.cl.planFile && !ctx.settings.fabric
      ? await probeBackend(ctx.settings.backend)
      : { ok: true as const };
  const nobody = models.unreachable(ctx.cl.planFile ? 'agent' : 'planner');
  if (!reachable.ok || nobody !== null) {
    ctx.err(`The backend failed: ${reachable.ok ? nobody : reachable.message}`);
    return EXIT.backend;
  }
  const model = models.agent;
  const planned = await obtainPlan(ctx, models.planner, await repositoryView(ws));
  if (typeof planned === 'number') return planned;
  if (!ctx.cl.json) ctx.err(renderPlan(planned.plan));
  printEstimate(ctx, await estimateFor(ctx, planned, model, ws.repo));
  const runId = newRunId();
  const checks = await resolveChecks(ws, ctx.settings);
  ctx.err(
    `Checks: ${checks.length ? checks.map((c) => c.command).join('; ') : 'none configured or detected (tasks are merged unverified)'}`,
  );
  const engine = RunEngine.create(
    engineDeps(ws, ctx.settings, model, runId, approver, models.reviewer, mcp),
    engineConfig(ctx.settings, runId, checks, ctx.settings.prices),
    {
      plan: planned.plan,
      repoView: planned.repoView,
      base,
    },
  );
  engine.recordPlanningResponses(planned.responses);
  notices.attach(engine);
  ctx.err(
    `Run ${runId}: ${planned.plan.tasks.length} task(s), up to ${ctx.settings.concurrency} at once (${limitText(models.requestLimit, ctx.settings)}), base ${base.commit.slice(0, 10)}${base.snapshot ? ' (snapshot of your uncommitted changes)' : ''}`,
  );
  return engine;
}

async function resumeEngine(
  ctx: CommandContext,
  ws: Workspace,
  runId: string,
  approver: Approver,
  notices: NoticeRelay,
  mcp: McpPort | null,
): Promise<RunEngine | number> {
  if (ctx.cl.args.length || ctx.cl.planFile || ctx.cl.specFile)
    throw new UsageError('--resume takes no spec or plan: the run already has one');
  return reopenRun(ctx, ws, runId, approver, notices, mcp);
}

/**
 * An engine over an existing run, rebuilt from its journal (interrupted work is queued again). It
 * goes on with the run's recorded backend, model, budgets and prices; the command line's flags
 * change them, and each change is recorded in the journal and printed.
 */
export async function reopenRun(
  ctx: CommandContext,
  ws: Workspace,
  runId: string,
  approver: Approver,
  notices: NoticeRelay = backendNotices(ctx),
  mcp: McpPort | null = null,
): Promise<RunEngine | number> {
  const { events, torn } = await loadRun(ws, runId);
  if (torn) ctx.err(`Note: ${torn}.`);
  const before = reduceJournal(events);
  if (before.status === 'completed' && ctx.cl.command === 'run') {
    const next = before.applied
      ? `It is applied onto ${before.applied.branch ?? 'your branch'} as ${before.applied.commit.slice(0, 10)}.`
      : `Apply it with: foreman apply ${runId}`;
    ctx.err(`Run ${runId} already completed; nothing to resume. ${next}`);
    return EXIT.ok;
  }
  const recorded = before.settings;
  // A run over several endpoints goes on over them, unless the command line names one backend.
  const fabric = ctx.settings.fabric && !ctx.cl.flags.baseUrl && !ctx.cl.flags.model;
  const models = fabric ? await roleClients(ctx.settings, ws, notices.say) : null;
  if (models) for (const line of models.lines) ctx.err(line);
  const backend = recorded && !models ? continuedBackend(ctx.settings, ctx.cl.flags, recorded) : null;
  const limitSet = ctx.settings.backendOptions?.maxConcurrentRequests !== undefined;
  const model =
    models?.agent ??
    (backend
      ? createOpenAIClient({
          ...backend.config,
          maxConcurrentRequests: (await requestLimitFor(backend.config, limitSet)).requests,
        })
      : backendClient(ctx.settings, ws));
  refuseDemoElsewhere(model.model, ws);
  const checks = await resolveChecks(ws, ctx.settings);
  const engine = RunEngine.resume(
    engineDeps(ws, ctx.settings, model, runId, approver, models?.reviewer, mcp),
    engineConfig(ctx.settings, runId, checks, ctx.settings.prices),
    events,
    await repositoryView(ws),
    explicitOverrides(ctx.cl.flags, model.model),
  );
  notices.attach(engine);
  const merged = [...engine.state.tasks.values()].filter((t) => t.status === 'merged').length;
  ctx.err(`Reopening run ${runId} (${before.status}): ${merged} of ${engine.state.tasks.size} task(s) merged so far.`);
  for (const line of settingsLines(engine.state, before, backend?.note ?? null)) ctx.err(line);
  return engine;
}

/** What a reopened run goes on with, what the developer changed, and a warning when nothing raises the budget that stopped it. */
function settingsLines(after: RunState, before: RunState, note: string | null): string[] {
  const lines: string[] = [];
  if (after.settings) lines.push(`Settings of the run: ${describeSettings(after.settings)}.`);
  if (note) lines.push(note);
  const changed = after.settingsChanges.slice(before.settingsChanges.length).flatMap((c) => c.changes);
  if (changed.length) lines.push(`Changed for this run (recorded in its journal): ${changed.join('; ')}.`);
  const hit = before.budgetHit;
  const budget =
    hit && `${hit.scope === 'run' ? 'run' : 'per-task'} ${hit.kind === 'tokens' ? 'token' : 'cost'} budget`;
  if (before.status === 'budget' && hit && budget && !changed.some((c) => c.startsWith(budget)))
    lines.push(
      `It stopped at its ${budget} and goes on with the same budget, so it stops there again; raise it with ${budgetFlag(hit)}.`,
    );
  return lines;
}

/** Run the engine with progress lines, Ctrl-C handling and the summary; returns the exit code. */
async function drive(ctx: CommandContext, engine: RunEngine, approvals: CliApprovals): Promise<number> {
  const book = new TelemetryBook();
  const stopListening = engine.onEvent((event, state) => {
    book.observe(event);
    const line = progressLine(event, state, ctx.cl.verbose, engine.ledger);
    if (line) approvals.write(line);
  });
  let interrupted = false;
  const removeInterrupt = ctx.onInterrupt(() => {
    interrupted = true;
    ctx.err(
      'Stopping: cancelling requests, killing processes, committing work so far … (Ctrl-C again to quit at once)',
    );
    engine.stopAll();
  });
  let state: RunState;
  try {
    state = await engine.run();
  } finally {
    removeInterrupt();
    stopListening();
  }
  if (ctx.cl.json) ctx.out(JSON.stringify(stateJson(state), null, 2));
  else {
    ctx.out(renderSummary(state, engine.ledger, Date.now()));
    const backends = renderBackends(book, engine.ledger);
    if (backends) ctx.out(`\n${backends}`);
  }
  if (interrupted) return EXIT.interrupted;
  return exitFor(state);
}

/** The exit code of a finished run. */
export function exitFor(state: RunState): number {
  switch (state.status) {
    case 'completed':
      return EXIT.ok;
    case 'budget':
      return EXIT.budget;
    case 'review':
      return EXIT.review;
    case 'stopped':
      return EXIT.interrupted;
    default:
      return EXIT.runFailed;
  }
}

/** A run's state as plain JSON (Maps become arrays). */
export function stateJson(state: RunState): unknown {
  return { ...state, tasks: [...state.tasks.values()] };
}

/** The backend's limit of requests in flight at once, as the run uses it, and why. */
function limitText(limit: RequestLimit | null, settings: CommandContext['settings']): string {
  const requests = limit?.requests ?? settings.backend?.maxConcurrentRequests ?? settings.concurrency;
  return `${requests} request${requests === 1 ? '' : 's'} at once to the backend${limit ? `, ${limit.source}` : ''}`;
}
