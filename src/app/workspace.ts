/**
 * The command line's composition root: opens the repository and builds the engine's
 * collaborators from the real adapters in src/infra/.
 */
import { join } from 'node:path';
import type { JournalEvent } from '../core/journal';
import type { Approver } from '../core/approver';
import type { ModelClient } from '../core/model';
import type { McpPort } from '../core/mcpTools';
import { systemClock } from '../core/ports';
import type { PriceTable } from '../core/ledger';
import { buildRepoView } from '../core/repoView';
import type { RunConfig, RunDeps } from '../core/runTypes';
import type { CheckSpec } from '../core/verify';
import type { BackendWatch } from '../core/telemetry';
import { createBackendWatch, defaultMetricsUrl } from '../infra/backendTelemetry';
import type { TelemetryTarget } from '../infra/backendTelemetry';
import { detectChecks } from '../infra/detectChecks';
import { createGitRepo } from '../infra/gitRepo';
import type { GitRepo } from '../infra/gitRepo';
import { isValidRunId, openJournal, readJournal, runJournalPath } from '../infra/journalFile';
import { sharedBashParser } from '../infra/bashParser';
import { createOpenAIClient, DEFAULT_REQUEST_LIMIT, publicEndpoint } from '../infra/openaiClient';
import type { BackendConfig } from '../infra/openaiClient';
import { readServerLimit } from '../infra/serverLimit';
import { CapabilityCache } from '../infra/capabilities';
import type { LoadReadings } from '../infra/modelRouter';
import { buildFabric, chooseLimit, describeFabric, limitOf } from './fabric';
import type { RequestLimit } from './fabric';
import { ROLES } from './fabricSettings';
import type { Sandbox } from '../core/sandbox';
import { createRepoReader } from '../infra/repoReader';
import { DEMO_MODEL, isSampleRepository, SAMPLE_FOLDER } from '../infra/sampleRepo';
import { createWorktreeFs } from '../infra/sandboxFs';
import { createSystemSandbox } from '../infra/systemSandbox';
import { createTaskRunners } from '../infra/taskRunners';
import type { TaskRunners } from '../infra/taskRunners';
import { createTranscriptStore } from '../infra/transcriptFile';
import { reapProcessesIn } from '../infra/processReaper';
import { acquireLock } from '../infra/runLock';
import type { Settings } from './settings';
import { SettingsError } from './settings';

/** An opened repository with the runners of its tasks' processes. */
export interface Workspace {
  repo: GitRepo;
  runners: TaskRunners;
}

/**
 * Open the repository that contains `cwd`. Agent processes are confined by `sandbox` (default: the
 * machine's, src/infra/systemSandbox.ts) as `settings.sandbox` says.
 */
export async function openWorkspace(
  cwd: string,
  settings: Settings,
  sandbox: Sandbox = createSystemSandbox(),
): Promise<Workspace> {
  const runners = createTaskRunners({ settings: settings.sandbox, sandbox });
  const repo = await createGitRepo({ cwd, runners, worktreeRoot: settings.worktreeRoot ?? undefined });
  return { repo, runners };
}

/**
 * The model client of the configured backend for work on `ws`. A SettingsError says how to name
 * one when none is, and refuses the demo backend on any repository but the sample (see
 * refuseDemoElsewhere).
 */
export function backendClient(settings: Settings, ws: Workspace, requests?: number): ModelClient {
  if (!settings.backend) {
    throw new SettingsError(
      'no backend named: pass --base-url and --model, set FOREMAN_BASE_URL and FOREMAN_MODEL, or add "backend" to foreman.json. (`npm run demo` in Foreman\'s own checkout runs a demo against its scripted server.)',
    );
  }
  refuseDemoElsewhere(settings.backend.model, ws);
  return createOpenAIClient({
    ...settings.backend,
    maxConcurrentRequests: requests ?? settings.backend.maxConcurrentRequests,
  });
}

/**
 * The limit of requests at once the one backend `config` should get (see chooseLimit): `set` when
 * the settings named it, else the server is asked (src/infra/serverLimit.ts).
 */
export async function requestLimitFor(config: BackendConfig, set: boolean): Promise<RequestLimit> {
  const given = config.maxConcurrentRequests ?? DEFAULT_REQUEST_LIMIT;
  return chooseLimit(given, set, set ? null : await readServerLimit(config));
}

/** The clients of the three roles, and lines saying what they are (empty for one backend). */
export interface RoleClients {
  planner: ModelClient;
  agent: ModelClient;
  reviewer: ModelClient;
  lines: string[];
  /** The agents' first endpoint's limit of requests at once, and why. */
  requestLimit: RequestLimit | null;
  /** Why the role `need` cannot start (nothing answers at any of its endpoints), or null. */
  unreachable: (need: 'planner' | 'agent') => string | null;
}

/**
 * The clients of the planner, the agents and the reviewer: the one backend's for all three, or,
 * with several endpoints (settings.fabric), each role's chain over its replica pools, probed first
 * (what is learned is kept in the repository's state folder for an hour). `onNotice` hears of
 * fallbacks and replicas taken out or back during the run; `load`, where a metrics reader has
 * one, adds each endpoint's waiting queue to the choice of replica for a new task.
 */
export async function roleClients(
  settings: Settings,
  ws: Workspace,
  onNotice: (text: string) => void,
  options: { fresh?: boolean; load?: LoadReadings } = {},
): Promise<RoleClients> {
  const fabric = settings.fabric;
  if (!fabric) {
    const limit = settings.backend
      ? await requestLimitFor(settings.backend, settings.backendOptions?.maxConcurrentRequests !== undefined)
      : null;
    const model = backendClient(settings, ws, limit?.requests);
    return { planner: model, agent: model, reviewer: model, lines: [], requestLimit: limit, unreachable: () => null };
  }
  for (const role of ROLES) for (const choice of fabric.roles[role]) refuseDemoElsewhere(choice.model, ws);
  const cache = new CapabilityCache(join(ws.repo.stateDir, 'capabilities.json'));
  const built = await buildFabric(fabric, { cache, onNotice, fresh: options.fresh, load: options.load });
  const unreachable = (need: 'planner' | 'agent'): string | null => {
    const names = new Set(fabric.roles[need].flatMap((c) => c.endpoints.map((e) => `${e}\u0000${c.model}`)));
    const probes = built.probes.filter((p) => names.has(`${p.name}\u0000${p.model}`));
    if (probes.some((p) => p.outcome.ok)) return null;
    return probes.map((p) => (p.outcome.ok ? '' : `${p.name}: ${p.outcome.message}`)).join(' ');
  };
  const first = fabric.roles.agent[0];
  const endpoint = fabric.endpoints.find((e) => e.name === first.endpoints[0]);
  const probe = built.probes.find((p) => p.name === first.endpoints[0] && p.model === first.model);
  const requestLimit = endpoint ? limitOf(endpoint, probe?.outcome.ok ? probe.outcome.capabilities : null) : null;
  return { ...built.clients, lines: describeFabric(fabric, built.probes), requestLimit, unreachable };
}

/**
 * A SettingsError when `model` is the demo backend's (DEMO_MODEL) and `ws` is not the sample
 * repository: the demo's plan and answers are written out for the sample alone.
 */
export function refuseDemoElsewhere(model: string, ws: Workspace): void {
  if (model !== DEMO_MODEL || isSampleRepository(ws.repo.root)) return;
  throw new SettingsError(
    `the demo backend (model ${DEMO_MODEL}) only knows Foreman's sample repository, ${SAMPLE_FOLDER}: its plan and every answer of its agents are written out for that sample, and ${ws.repo.root} is not it. To watch the demo, run \`npm run demo\` in Foreman's own checkout (it runs Foreman on a fresh copy of the sample); to work on this repository, name a real backend with --base-url and --model.`,
  );
}

/** The compact repository view every prompt of a run shares. */
export function repositoryView(ws: Workspace): Promise<string> {
  return buildRepoView(createRepoReader(ws.repo.root));
}

/** The configured checks, or those detected from the repository. */
export async function resolveChecks(ws: Workspace, settings: Settings): Promise<CheckSpec[]> {
  return settings.checks ?? (await detectChecks(ws.repo.root));
}

/** Where a run keeps its journal and transcripts. */
export function runDir(ws: Workspace, runId: string): string {
  return join(ws.repo.stateDir, 'runs', runId);
}

/** The folder holding a run's task worktrees. */
export function runWorktrees(ws: Workspace, runId: string): string {
  return join(ws.repo.worktreeRoot, runId);
}

/**
 * Take a run's lock for this process. Once it is held, whatever a Foreman that died left in the
 * run's worktrees is taken back (see reapLeftovers); each thing done is returned as a line to show.
 */
export async function takeRun(
  ws: Workspace,
  runId: string,
): Promise<{ ok: true; release: () => void; reaped: string[] } | { ok: false; holder: number }> {
  const lock = acquireLock(join(runDir(ws, runId), 'lock'));
  if (!lock.ok) return lock;
  try {
    return { ...lock, reaped: await reapLeftovers(ws, runId) };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Take a run's worktrees back from a Foreman that died; call only while holding the run's lock.
 * Processes still working in them are killed (see infra/processReaper.ts), then what its killed
 * git commands left half done is undone (infra/worktreeRecovery.ts). Returns a line to show for
 * each.
 */
export async function reapLeftovers(ws: Workspace, runId: string): Promise<string[]> {
  const reaped = reapProcessesIn(runWorktrees(ws, runId)).map(
    (p) => `Stopped process ${p.pid}, left running in run ${runId}'s worktrees by an earlier Foreman: ${p.command}`,
  );
  const recovered = (await ws.repo.recoverRun(runId)).map((line) => `Recovered run ${runId}: ${line}.`);
  return [...reaped, ...recovered];
}

/** The engine's collaborators for one run. */
export function engineDeps(
  ws: Workspace,
  settings: Settings,
  model: ModelClient,
  runId: string,
  approver?: Approver,
  reviewer: ModelClient = model,
  mcp: McpPort | null = null,
): RunDeps {
  return {
    ...(approver ? { approver } : {}),
    ...(mcp ? { mcp } : {}),
    repo: ws.repo,
    model,
    reviewer: settings.review ? reviewer : null,
    openRunner: (taskId, worktree, onNetwork) => ws.runners.open(ws.repo.taskPlace(runId, taskId, worktree), onNetwork),
    shell: sharedBashParser(),
    openFs: (root) => createWorktreeFs(root),
    journal: openJournal(runJournalPath(ws.repo.stateDir, runId), runId),
    transcripts: createTranscriptStore(join(runDir(ws, runId), 'transcripts')),
    clock: systemClock,
    watch: backendWatch(settings, model),
  };
}

/**
 * The watch of the run's backends: each one's `/metrics` (by default at the base URL's host) and,
 * where its settings say how, its GPUs' energy; with several endpoints (foreman.json's `backends`),
 * each endpoint's own. The endpoint is the model client's, as the ledger records it.
 */
export function backendWatch(settings: Settings, model: ModelClient): BackendWatch {
  const t = settings.telemetry;
  if (settings.fabric) {
    // Several endpoints: each one's `/metrics` (at its host unless it names another) and its own energy source.
    const targets = new Map<string, TelemetryTarget>();
    for (const e of settings.fabric.endpoints) {
      const endpoint = publicEndpoint(e.baseUrl);
      const { metricsUrl, energy } = e.telemetry;
      if (!targets.has(endpoint))
        targets.set(endpoint, {
          endpoint,
          metricsUrl: metricsUrl === undefined ? defaultMetricsUrl(endpoint) : metricsUrl,
          energy,
        });
    }
    return createBackendWatch([...targets.values()], { intervalMs: t?.intervalMs });
  }
  const metricsUrl = t?.metricsUrl === undefined ? defaultMetricsUrl(model.endpoint) : t.metricsUrl;
  return createBackendWatch([{ endpoint: model.endpoint, metricsUrl, energy: t?.energy ?? null }], {
    intervalMs: t?.intervalMs,
  });
}

/** A run's settings for the engine. */
export function engineConfig(settings: Settings, runId: string, checks: CheckSpec[], prices: PriceTable): RunConfig {
  return {
    runId,
    concurrency: settings.concurrency,
    limits: settings.limits,
    maxRepairRounds: settings.maxRepairRounds,
    checks,
    checkTimeoutMs: 10 * 60_000,
    commandTimeoutMs: 2 * 60_000,
    maxOutputBytes: 32 * 1024,
    policy: settings.commandPolicy,
    setup: { command: settings.setup.command, include: settings.setup.include, timeoutMs: settings.setup.timeoutMs },
    budgets: settings.budgets,
    prices,
    autoMerge: !settings.hold,
  };
}

/** Read a run's journal; a SettingsError when the run does not exist. */
export async function loadRun(ws: Workspace, runId: string): Promise<{ events: JournalEvent[]; torn: string | null }> {
  if (!isValidRunId(runId))
    throw new SettingsError(
      `"${runId}" is not a run id: run ids look like r20261123-093320-4005 (see: foreman status --all)`,
    );
  try {
    const read = await readJournal(runJournalPath(ws.repo.stateDir, runId));
    return {
      events: read.events,
      torn: read.tornTail
        ? `line ${read.tornTail.line} of the journal was torn (a crash mid-write) and was ignored`
        : null,
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new SettingsError(`no run ${runId} in this repository (see: foreman status --all)`);
    throw e;
  }
}
