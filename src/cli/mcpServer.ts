/**
 * Foreman as an MCP server: the tools, resources and notifications another agent uses to hand
 * work to the fleet. One `McpServer` per client connection (the SDK ties a server to one
 * transport), all over one RunFleet (src/app/runFleet.ts), so every connection sees the same runs.
 * The tools are in mcpTools.ts; this file builds the server, its resources and what the tools
 * share: how results and refusals are said, and progress while a run moves.
 */
import { readFile } from 'node:fs/promises';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { LeadError } from '../app/leadApi';
import type { RunFleet, RunReading } from '../app/runFleet';
import { SettingsError } from '../app/settings';
import { runDir } from '../app/workspace';
import { errorDetail } from '../core/errors';
import { ModelError } from '../core/model';
import { RepoError } from '../core/repoPort';
import { runPhase } from '../core/runState';
import { FINAL_TASK_STATUSES } from '../core/statusSets';
import type { RunState } from '../core/runState';
import { isValidRunId } from '../infra/journalFile';
import { JournalCorruptError } from '../infra/journalFile';
import { fmtUsageCost, integrationCell, renderSummary } from './render';
import { serveSubscriptions } from './mcpSubscriptions';
import { registerTools } from './mcpTools';

/** What the server needs: the fleet, its version, and where log lines go. */
export interface ForemanMcpDeps {
  fleet: RunFleet;
  version: string;
  /** Lines for the process's own log (standard error). */
  log(line: string): void;
}

/** The extra every request handler gets from the SDK. */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const INSTRUCTIONS = `Foreman plans a spec into a task graph and runs coding agents on it in parallel git worktrees, verifies each task with the repository's checks, merges verified work into the run's integration branch, and applies it onto the developer's branch when asked.
Typical use: plan (returns a planId and the plan) -> start_run (returns a runId; the run goes on in the background) -> wait_for_run or status -> task_diff / task_transcript -> accept_task, reject_task or request_changes when the run holds tasks for review -> apply_run (asks the user to confirm).
Runs are also resources: foreman://runs/{runId} (status as JSON) and foreman://runs/{runId}/journal (every event, one JSON object a line); subscribe to one to be told when it changes.`;

/** A new MCP server over `deps.fleet`: connect it to one transport. */
export function createForemanMcpServer(deps: ForemanMcpDeps): McpServer {
  const server = new McpServer(
    { name: 'foreman', title: 'Foreman', version: deps.version },
    {
      capabilities: { tools: {}, resources: { subscribe: true, listChanged: true }, logging: {} },
      instructions: INSTRUCTIONS,
    },
  );
  registerTools(server, deps);
  registerResources(server, deps.fleet);
  server.server.onclose = serveSubscriptions(server, deps.fleet);
  return server;
}

// --- Results --------------------------------------------------------------------------------------

/** A tool's answer: a sentence (or text) for people and models, and the same facts as structured content. */
export function answer(text: string, structured?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured } : {}) };
}

/** A refusal: the tool ran and said no, with a sentence saying what to do. */
export function refusal(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * Run a tool's work; errors a person can act on (a refusal, an unknown run, a repository that
 * cannot be used, a backend that failed) become refusals with their sentence, anything else a
 * refusal that says it is a bug, with the detail.
 */
export async function guarded(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (e) {
    return refusal(explainError(e));
  }
}

/** An error in words: its own sentence when a person can act on it, else a bug report's. */
export function explainError(e: unknown): string {
  if (LeadError.is(e) || e instanceof SettingsError || RepoError.is(e)) return (e as Error).message;
  if (ModelError.is(e)) return `The backend failed (${e.reason}): ${e.message}`;
  if (e instanceof JournalCorruptError)
    return `${e.message}. The run cannot be rebuilt from a damaged journal; its branches (foreman/<run>/…) still hold the work.`;
  return `Unexpected error (a bug in Foreman; please report it with what follows): ${errorDetail(e)}`;
}

// --- Status ---------------------------------------------------------------------------------------

/**
 * A run's status as structured content: the figures of `foreman status --json` (the folded
 * state's task statuses and TokenTotals, `cost` null when nothing was priced and `unpriced`
 * counting requests without a price), with the CLI's words for the cost beside them.
 */
export function statusContent(reading: RunReading): Record<string, unknown> {
  const { state } = reading;
  return {
    runId: state.runId,
    status: state.status,
    phase: runPhase(state),
    live: reading.live,
    message: state.message,
    base: state.base,
    integration: integrationCell(state),
    applied: state.applied,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    usage: state.usage,
    cost: fmtUsageCost(state.usage),
    tasks: [...state.tasks.values()].map((t) => ({
      id: t.id,
      title: t.spec?.title ?? null,
      status: t.status,
      reason: t.reason,
      step: t.step,
      commit: t.commit,
      files: t.files,
      waitsForApproval: t.ask?.line ?? null,
      usage: t.usage,
      cost: fmtUsageCost(t.usage),
    })),
  };
}

/** The CLI's status text for a run (`foreman status`'s summary table). */
export function statusText(reading: RunReading): string {
  const live = reading.live ? ' (running in this Foreman process)' : '';
  const torn = reading.torn ? `\nNote: ${reading.torn}.` : '';
  return `Run ${reading.state.runId}${live}\n${renderSummary(reading.state, reading.ledger, reading.at)}${torn}`;
}

// --- Progress ---------------------------------------------------------------------------------------

/** At most one progress notification in this many ms (the last change is always sent). */
const PROGRESS_EVERY_MS = 250;

/**
 * Wait until the run this process drives comes to rest (or `signal` aborts: the request was
 * cancelled or the wait timed out, which stops only the waiting), sending `notifications/progress` while it moves when the request carried a
 * progress token. Progress counts the run's journal events (it only grows); the message says
 * where the tasks are.
 */
export async function waitWithProgress(
  fleet: RunFleet,
  runId: string,
  extra: ToolExtra,
  signal: AbortSignal,
): Promise<void> {
  const token = extra._meta?.progressToken;
  let lastSent = 0;
  let lastProgress = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const send = async (): Promise<void> => {
    timer = undefined;
    if (token === undefined || signal.aborted) return;
    // The engine's own state while it drives (cheap); the journal's once the drive has ended.
    const state = fleet.liveState(runId) ?? (await fleet.read(runId)).state;
    if (state.lastSeq <= lastProgress) return;
    lastProgress = state.lastSeq;
    lastSent = Date.now();
    await extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: state.lastSeq, message: progressMessage(state) },
      })
      .catch(() => undefined); // a client gone away needs no more progress
  };
  const stop = fleet.onChange((changed) => {
    if (changed !== runId || token === undefined || timer) return;
    timer = setTimeout(() => void send(), Math.max(0, PROGRESS_EVERY_MS - (Date.now() - lastSent)));
  });
  try {
    await send();
    await fleet.whenSettled(runId, signal);
  } finally {
    stop();
    if (timer) clearTimeout(timer);
  }
  if (!signal.aborted) await send();
}

/** "receipt working (step 3), checkout merged, cart queued; 1 of 3 task(s) final; run running". */
export function progressMessage(state: RunState): string {
  const tasks = [...state.tasks.values()];
  const done = tasks.filter((t) => FINAL_TASK_STATUSES.has(t.status)).length;
  const each = tasks.map((t) => `${t.id} ${t.status}${t.status === 'working' ? ` (step ${t.step})` : ''}`).join(', ');
  return `${each}; ${done} of ${tasks.length} task(s) final; run ${runPhase(state)}`;
}

// --- Resources --------------------------------------------------------------------------------------

const RUN_URI = /^foreman:\/\/runs\/([^/]+)(\/journal)?$/;

function registerResources(server: McpServer, fleet: RunFleet): void {
  server.registerResource(
    'runs',
    'foreman://runs',
    {
      title: "The repository's Foreman runs",
      description: 'Every run of the repository, newest first: id, status, tasks merged, cost.',
      mimeType: 'application/json',
    },
    async (uri) => {
      const runs = [];
      for (const runId of await fleet.runIds()) {
        const { state } = await fleet.read(runId).catch(() => ({ state: null }));
        if (!state) continue;
        const merged = [...state.tasks.values()].filter((t) => t.status === 'merged').length;
        runs.push({ runId, phase: runPhase(state), merged, tasks: state.tasks.size, cost: fmtUsageCost(state.usage) });
      }
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(runs, null, 2) }] };
    },
  );
  server.registerResource(
    'run',
    new ResourceTemplate('foreman://runs/{runId}', { list: () => listRuns(fleet) }),
    {
      title: 'A Foreman run',
      description: "A run's status: its tasks with their status, tokens and cost, the run's totals.",
      mimeType: 'application/json',
    },
    async (uri) => {
      const runId = runIdOf(uri);
      const content = statusContent(await fleet.read(runId));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(content, null, 2) }] };
    },
  );
  server.registerResource(
    'journal',
    new ResourceTemplate('foreman://runs/{runId}/journal', { list: undefined }),
    {
      title: "A Foreman run's journal",
      description: 'Everything that happened in the run, one JSON event a line, as Foreman wrote it.',
      mimeType: 'application/x-ndjson',
    },
    async (uri) => {
      const runId = runIdOf(uri);
      await fleet.read(runId); // an unknown run says so
      const text = await readFile(`${runDir(await fleet.workspace(), runId)}/journal.jsonl`, 'utf8');
      return { contents: [{ uri: uri.href, mimeType: 'application/x-ndjson', text }] };
    },
  );
}

async function listRuns(fleet: RunFleet): Promise<{ resources: { uri: string; name: string; mimeType: string }[] }> {
  const resources = [];
  for (const runId of await fleet.runIds()) {
    resources.push({ uri: `foreman://runs/${runId}`, name: `Run ${runId}`, mimeType: 'application/json' });
    resources.push({
      uri: `foreman://runs/${runId}/journal`,
      name: `Run ${runId}'s journal`,
      mimeType: 'application/x-ndjson',
    });
  }
  return { resources };
}

/** The run id of a run resource's URI; a LeadError for one that names no run. */
function runIdOf(uri: URL): string {
  const m = RUN_URI.exec(uri.href);
  const runId = m ? decodeURIComponent(m[1]) : '';
  if (!isValidRunId(runId))
    throw new LeadError(`${uri.href} names no run: run resources look like foreman://runs/<runId>`, 'notFound');
  return runId;
}
