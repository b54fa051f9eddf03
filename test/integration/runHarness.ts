/**
 * Shared helpers for whole-run tests: a temporary git repository made from a template, the
 * scripted test server on a free port, the `foreman` CLI as a real child process, the run's
 * journal read back with the real reader, and (for in-process runs) the engine's collaborators
 * built from the real adapters the way src/app/workspace.ts builds them.
 *
 * Typical use:
 *   const repo = makeRepo({ files: NODE_TEMPLATE });
 *   const server = await startServer({ planner: [planReply([...])], agents: { ... } });
 *   const r = await runCli(['run', 'spec', '--check', 'test=node --test'], { repo, server });
 *   const run = await readRun(repo, await latestRunId(repo));
 *   ...; await server.close(); repo.cleanup();
 *
 * In process (faster, and the only way to set small retry back-offs, which the CLI has no flag for):
 *   const parts = await engineParts(repo, server, { flags: { review: false }, checks: [...] });
 *   const state = await (await createEngine(parts, makePlan('spec', [rawTask('one')]))).run();
 *   parts.close();
 */
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JournalEvent, RequestRole, TaskStatus } from '../../src/core/journal';
import type { Plan, TaskSpec } from '../../src/core/plan';
import { validatePlan } from '../../src/core/planGraph';
import { findRole, findTask } from '../../src/core/promptMarkers';
import { RunEngine } from '../../src/core/runEngine';
import type { RunConfig, RunDeps } from '../../src/core/runTypes';
import { reduceJournal } from '../../src/core/runState';
import type { RunState } from '../../src/core/runState';
import type { CheckSpec } from '../../src/core/verify';
import { resolveSettings } from '../../src/app/settings';
import type { SettingFlags } from '../../src/app/settings';
import { engineConfig, engineDeps, openWorkspace, repositoryView } from '../../src/app/workspace';
import type { Workspace } from '../../src/app/workspace';
import { listRunIds, newRunId, readJournal, runJournalPath } from '../../src/infra/journalFile';
import type { JournalFile } from '../../src/infra/journalFile';
import { createOpenAIClient } from '../../src/infra/openaiClient';
import type { BackendConfig } from '../../src/infra/openaiClient';
import { createScriptedServer } from '../../src/scripted/server';
import type { ChatRequest, RecordedRequest, ScriptedServer, ScriptedServerOptions } from '../../src/scripted/server';
import { scenarioResponder } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import { cleanEnv, makeTempRepo } from './tempRepo';
import type { TempRepo } from './tempRepo';

export type { TempRepo } from './tempRepo';

/** Foreman's own checkout (where src/ and node_modules/ are). */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** A tiny Node project: one module, one passing `node --test` test, `npm test` wired up. */
export const NODE_TEMPLATE: Record<string, string> = {
  'package.json': `${JSON.stringify({ name: 'tiny', version: '1.0.0', private: true, scripts: { test: 'node --test' } }, null, 2)}\n`,
  'src/add.js': "'use strict';\nmodule.exports = { add: (a, b) => a + b };\n",
  'test/add.test.js':
    "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert/strict');\nconst { add } = require('../src/add');\ntest('add', () => assert.equal(add(2, 3), 5));\n",
  'README.md': '# tiny\n\nA tiny project for Foreman tests.\n',
};

/**
 * Make a repository on `main` from a template directory (`template`, copied without any `.git`)
 * and/or a map of files, committed as the developer. Default: NODE_TEMPLATE.
 */
export function makeRepo(opts: { template?: string; files?: Record<string, string> } = {}): TempRepo {
  const files = opts.files ?? (opts.template ? {} : NODE_TEMPLATE);
  return makeTempRepo({ template: opts.template, files, prefix: 'foreman-run-' });
}

// --- The scripted server ---------------------------------------------------------------------

/** Options of `startServer`: the server's own, plus a gate. */
export interface ServerOptions extends Omit<ScriptedServerOptions, 'responder'> {
  /**
   * Called with every chat request before it is answered; when it returns a promise the answer
   * waits for it (the request stays in flight), e.g. to hold one agent's step until the test says.
   */
  gate?: (
    route: { role: RequestRole | null; task: string | null; step: number },
    request: ChatRequest,
  ) => Promise<void> | void;
}

/** Start the test server playing `scenario` (a fresh responder each call). Close it when done. */
export function startServer(scenario: Scenario, opts: ServerOptions = {}): Promise<ScriptedServer> {
  const { gate, ...rest } = opts;
  const play = scenarioResponder(scenario);
  return createScriptedServer({
    ...rest,
    responder: async (request, ctx) => {
      if (gate)
        await gate(
          { ...routeOfBody(request), step: request.messages.filter((m) => m.role === 'assistant').length },
          request,
        );
      return play(request, ctx);
    },
  });
}

/** A promise with its resolve function, for gates. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function textOf(content: ChatRequest['messages'][number]['content']): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((p) => p.text ?? '').join('');
}

/** The role and task a request is for (by the prompt markers), as the scenario routes it. */
export function routeOfBody(body: ChatRequest): { role: RequestRole | null; task: string | null } {
  const system = body.messages.find((m) => m.role === 'system');
  const role = system ? findRole(textOf(system.content)) : null;
  for (const m of body.messages) {
    const task = findTask(textOf(m.content));
    if (task !== null) return { role, task };
  }
  return { role, task: null };
}

/** The server's recorded requests of one role (and task, when given), in arrival order. */
export function requestsFor(server: ScriptedServer, role: RequestRole, taskId?: string): RecordedRequest[] {
  return server.requests.filter((r) => {
    const route = routeOfBody(r.body);
    return route.role === role && (taskId === undefined || route.task === taskId);
  });
}

/** A raw planner task with defaults: no acceptance criteria beyond one, no dependencies. */
export function rawTask(id: string, over: Partial<Omit<TaskSpec, 'id'>> = {}): TaskSpec {
  return {
    id,
    title: over.title ?? `Task ${id}`,
    instructions: over.instructions ?? `Do task ${id}.`,
    acceptance: over.acceptance ?? [`${id} is done`],
    files: over.files ?? [],
    dependsOn: over.dependsOn ?? [],
  };
}

/** The planner's answer for these tasks, as the scenario's planner step. */
export function planReply(tasks: TaskSpec[]): { content: string } {
  return { content: JSON.stringify({ tasks }) };
}

/** A validated Plan of these tasks (throws when they are not a valid plan). */
export function makePlan(spec: string, tasks: TaskSpec[]): Plan {
  const v = validatePlan({ tasks }, spec);
  if (!v.ok) throw new Error(`invalid test plan: ${v.errors.join('; ')}`);
  return v.plan;
}

// --- The CLI as a child process ----------------------------------------------------------------

/** What a finished CLI process left. `code` is null when it died of a signal. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of `runCli` / `spawnCli`. */
export interface CliOptions {
  repo: TempRepo;
  /** The backend: FOREMAN_BASE_URL is set to its url (and FOREMAN_MODEL to `model`). */
  server?: ScriptedServer;
  model?: string;
  /** Extra environment (wins over the defaults). */
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
  /** Run dist/cli.js (build it first with `node esbuild.js`) instead of src/cli/main.ts through tsx. */
  dist?: boolean;
  /** Give the process a standard input the test writes to (`child.stdin`); default: none. */
  stdin?: boolean;
  /** Start the CLI as the leader of a process group of its own (its pid is the group's id). */
  detached?: boolean;
}

/** A CLI process that is running: its pid, the process, and its result once it exits. */
export interface CliProcess {
  pid: number;
  child: ChildProcess;
  /** stderr so far (progress lines), for tests that watch a run. */
  stderrSoFar(): string;
  result: Promise<CliResult>;
}

/**
 * Start `foreman <args>` in the repository (cwd = repo.root) with a clean environment: no GIT_*
 * or FOREMAN_* variables from outside, FOREMAN_WORKTREE_ROOT = repo.worktreeRoot, and the server
 * as the backend. Runs src/cli/main.ts through tsx unless `dist`.
 */
export function spawnCli(args: string[], opts: CliOptions): CliProcess {
  const env: NodeJS.ProcessEnv = { ...cleanEnv(), FOREMAN_WORKTREE_ROOT: opts.repo.worktreeRoot };
  if (opts.server) {
    env.FOREMAN_BASE_URL = opts.server.url;
    env.FOREMAN_MODEL = opts.model ?? 'foreman-test-model';
  }
  Object.assign(env, opts.env ?? {});
  const entry = opts.dist
    ? [join(PROJECT_ROOT, 'dist', 'cli.js')]
    : [
        '--import',
        pathToFileURL(join(PROJECT_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
        join(PROJECT_ROOT, 'src', 'cli', 'main.ts'),
      ];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: opts.repo.root,
    env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const result = new Promise<CliResult>((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  return { pid: child.pid ?? -1, child, stderrSoFar: () => stderr, result };
}

/** Run `foreman <args>` to the end (see spawnCli). Never rejects for a non-zero exit. */
export function runCli(args: string[], opts: CliOptions): Promise<CliResult> {
  return spawnCli(args, opts).result;
}

// --- Journals ------------------------------------------------------------------------------------

/** Foreman's state directory of the repository (`.git/foreman`). */
export function stateDir(repo: TempRepo): string {
  return join(repo.root, '.git', 'foreman');
}

/** The path of a run's journal. */
export function journalPath(repo: TempRepo, runId: string): string {
  return runJournalPath(stateDir(repo), runId);
}

/** The newest run's id; throws when there is none. */
export async function latestRunId(repo: TempRepo): Promise<string> {
  const ids = await listRunIds(stateDir(repo));
  if (ids.length === 0) throw new Error(`no run in ${repo.root}`);
  return ids[0];
}

/** A run's journal read with the real reader, and the state folded from it. */
export async function readRun(
  repo: TempRepo,
  runId: string,
): Promise<{ events: JournalEvent[]; torn: boolean; state: RunState }> {
  const read = await readJournal(journalPath(repo, runId));
  return { events: read.events, torn: read.tornTail !== null, state: reduceJournal(read.events) };
}

/** The statuses a task went through, in order, with their times. */
export function statusHistory(
  events: JournalEvent[],
  taskId: string,
): { status: TaskStatus; t: number; reason?: string }[] {
  const out: { status: TaskStatus; t: number; reason?: string }[] = [];
  for (const e of events)
    if (e.type === 'task_status' && e.taskId === taskId) out.push({ status: e.status, t: e.t, reason: e.reason });
  return out;
}

/** Poll `probe` until it returns a truthy value (returned), or reject after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// --- In-process runs -----------------------------------------------------------------------------

/** Options of `engineParts`. */
export interface EngineOptions {
  runId?: string;
  /** Setting flags as the CLI would parse them (concurrency, budgets, review, maxRepairs …). */
  flags?: SettingFlags;
  /** The checks; default none. */
  checks?: CheckSpec[];
  /** Client settings layered over the server's URL, e.g. { retryBaseMs: 5, retryMaxMs: 20 }. */
  backend?: Partial<BackendConfig>;
}

/** What an in-process run needs: the workspace, the engine's deps and config. */
export interface EngineParts {
  ws: Workspace;
  deps: RunDeps;
  config: RunConfig;
  /** Close the run's journal file (call when the run is over). */
  close(): void;
}

/**
 * Build RunDeps and RunConfig for `repo` with the real adapters, as the CLI's composition root
 * does (settings resolved from `flags` alone; retries small by default so fault tests are quick).
 */
export async function engineParts(
  repo: TempRepo,
  server: ScriptedServer,
  opts: EngineOptions = {},
): Promise<EngineParts> {
  const settings = resolveSettings(
    {},
    { FOREMAN_WORKTREE_ROOT: repo.worktreeRoot, FOREMAN_BASE_URL: server.url, FOREMAN_MODEL: 'foreman-test-model' },
    opts.flags ?? {},
  );
  const backend = { ...settings.backend!, retryBaseMs: 5, retryMaxMs: 50, ...opts.backend };
  const ws = await openWorkspace(repo.root, settings);
  const runId = opts.runId ?? newRunId();
  const model = createOpenAIClient(backend);
  const deps = engineDeps(ws, settings, model, runId);
  const config = engineConfig(settings, runId, opts.checks ?? [], settings.prices);
  return { ws, deps, config, close: () => (deps.journal as JournalFile).close() };
}

/** Start a new in-process run of `plan` from the checkout's HEAD (refusing a dirty checkout). */
export async function createEngine(parts: EngineParts, plan: Plan): Promise<RunEngine> {
  const base = await parts.ws.repo.resolveBase('refuse');
  if (!base.ok) throw new Error(base.message);
  return RunEngine.create(parts.deps, parts.config, { plan, repoView: await repositoryView(parts.ws), base });
}

/** A port nothing listens on now (it was free a moment ago): for "nothing answers there" cases. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
