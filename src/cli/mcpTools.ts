/**
 * The MCP server's tools, one table: plan, start and wait for runs, read their status, diffs and
 * transcripts, decide on tasks, stop, resume and apply. Each reads or acts through the RunFleet
 * and the app layer the CLI's commands use (runReview.ts for diffs and transcripts, render.ts for
 * the status table), so a run reads the same here as from `foreman status`, `diff` and `transcript`.
 */
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { diffRange, diffText, lookBack, taskConversation, taskOf } from '../app/runReview';
import { INTEGRATION_ID } from '../core/branches';
import { DEFAULT_TRANSCRIPT_LIMITS, UNLIMITED_TRANSCRIPT } from '../core/conversationView';
import type { Approver } from '../core/approver';
import type { TaskDecision } from '../core/decisions';
import { loadRun } from '../app/workspace';
import { estimateLines } from './commands/plan';
import { canElicit, pinAsker } from './mcpPins';
import { answer, explainError, guarded, refusal, statusContent, statusText, waitWithProgress } from './mcpServer';
import type { ForemanMcpDeps, ToolExtra } from './mcpServer';
import { renderPlan } from './render';
import { transcriptText } from './transcriptText';

/** Diffs larger than this are cut, saying so (the whole diff is `foreman diff`'s). */
const DIFF_LIMIT = 256 * 1024;

const runId = z.string().describe('The run id, e.g. r20261207-193320-4005 (start_run returns it; status lists runs).');
const taskId = z.string().describe("A task id from the run's plan.");

/** What a tool works with: the server's dependencies and the server itself (to ask the client). */
export type ToolContext = ForemanMcpDeps & { server: McpServer };

/** One tool: its name, description, input shape, hints, and what it does. */
interface ToolSpec<Shape extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: Shape;
  annotations: ToolAnnotations;
  run(args: z.infer<z.ZodObject<Shape>>, extra: ToolExtra, ctx: ToolContext): Promise<CallToolResult>;
}

function tool<Shape extends z.ZodRawShape>(spec: ToolSpec<Shape>): ToolSpec<Shape> {
  return spec;
}

const READ_ONLY: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };

const TOOLS = [
  tool({
    name: 'plan',
    title: 'Plan a spec',
    description:
      "Plan a spec into a task graph with the configured model: tasks with instructions, acceptance criteria, the files each touches and their dependencies, and an estimate of the run's tokens and cost. Nothing runs yet. Returns a planId for start_run. Cancelling the call cancels the planner's request.",
    input: {
      spec: z.string().min(1).describe('What to build or change, in words, as for `foreman plan "<spec>"`.'),
      maxTasks: z.number().int().min(1).max(500).optional().describe('Most tasks in the plan (default 50).'),
    },
    annotations: { readOnlyHint: true, openWorldHint: true },
    async run({ spec, maxTasks }, extra, { fleet }) {
      await progress(extra, 0, 'Planning the spec …');
      const kept = await fleet.plan(spec, { maxTasks, signal: extra.signal });
      const text = [
        ...kept.notes,
        ...(kept.notes.length ? [''] : []),
        renderPlan(kept.plan),
        '',
        ...estimateLines(kept.estimate, fleet.settings.budgets),
        '',
        `Plan id: ${kept.planId}. Run it with start_run.`,
      ].join('\n');
      return answer(text, {
        planId: kept.planId,
        repaired: kept.repaired,
        notes: kept.notes,
        plan: kept.plan,
        estimate: kept.estimate,
      });
    },
  }),
  tool({
    name: 'start_run',
    title: 'Start a run',
    description:
      "Start a run of a plan made by the plan tool: agents work on its tasks in parallel git worktrees, each task is verified with the repository's checks and merged into the run's integration branch. The run goes on in the background of this Foreman process; the developer's branch is not touched. Returns the run id at once, or, with wait: true, when the run comes to rest (with progress notifications while it moves).",
    input: {
      planId: z.string().describe('The planId the plan tool returned.'),
      wait: z.boolean().optional().describe('Wait for the run to come to rest before answering (default false).'),
    },
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    async run({ planId, wait }, extra, { fleet, server }) {
      const id = await askingPins(server, extra, (pins) => fleet.start(planId, { pins }));
      if (wait) await waitWithProgress(fleet, id, extra, extra.signal);
      const reading = await fleet.read(id);
      const lead = wait
        ? ''
        : `Run ${id} started; it goes on in the background (wait_for_run or status to follow it).\n`;
      const servers = await mcpLines(fleet, id);
      return answer(`${lead}${servers}${statusText(reading)}`, statusContent(reading));
    },
  }),
  tool({
    name: 'wait_for_run',
    title: 'Wait for a run',
    description:
      'Wait until a run this Foreman process drives comes to rest (completed, failed, stopped, at its budget, or holding tasks for review), sending progress notifications while it moves; then return its status. Cancelling the call, or its time-out, stops only the waiting, never the run.',
    input: {
      runId,
      timeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(3600)
        .optional()
        .describe('Give up waiting after this long (default 600).'),
    },
    annotations: READ_ONLY,
    async run({ runId: id, timeoutSeconds }, extra, { fleet }) {
      const limit = AbortSignal.timeout((timeoutSeconds ?? 600) * 1000);
      await waitWithProgress(fleet, id, extra, AbortSignal.any([extra.signal, limit]));
      const reading = await fleet.read(id);
      const still = reading.live ? 'The run is still going (the wait ended first).\n' : '';
      return answer(`${still}${await mcpLines(fleet, id)}${statusText(reading)}`, statusContent(reading));
    },
  }),
  tool({
    name: 'status',
    title: 'Run status',
    description:
      "A run's tasks with their status, verification, steps, tokens and cost, and the run's totals (the newest run when no runId is given). The figures are `foreman status --json`'s: a cost is null when nothing was priced, and `unpriced` counts requests without a price, so a partial cost reads `$0.0012 + unpriced`, never $0.",
    input: { runId: runId.optional() },
    annotations: READ_ONLY,
    async run({ runId: id }, _extra, { fleet }) {
      const reading = await fleet.read(id ?? (await fleet.latestRunId()));
      return answer(statusText(reading), statusContent(reading));
    },
  }),
  tool({
    name: 'task_diff',
    title: "A task's diff",
    description:
      "What a task changed (from the commit its worktree started from to its latest commit), or, without taskId, what the run's integration branch changed since the run's base: git's patch, or with stat: true the changed files with counts. Read from git's objects; nothing is checked out.",
    input: {
      runId,
      taskId: taskId.optional(),
      stat: z.boolean().optional().describe('The changed files with counts instead of the patch.'),
    },
    annotations: READ_ONLY,
    async run({ runId: id, taskId: task, stat }, _extra, { fleet }) {
      const ws = await fleet.workspace();
      const { state } = await lookBack(ws, id);
      const range = await diffRange(ws, state, task === undefined || task === INTEGRATION_ID ? null : task);
      if ('none' in range) return answer(range.none, { none: range.none });
      const text = await diffText(ws, range, { stat: stat ?? false, color: false });
      const cut = text.length > DIFF_LIMIT;
      const shown = cut
        ? `${text.slice(0, DIFF_LIMIT)}\n[The diff is cut here: it has ${text.length} characters. Ask with stat: true for the file list, or run \`foreman diff ${id}${task ? ` ${task}` : ''}\`.]`
        : text;
      const head = `Changes of ${range.what}: ${range.from.slice(0, 10)}..${range.to.slice(0, 10)}`;
      return answer(`${head}\n${shown || 'No changes.'}`, { from: range.from, to: range.to, what: range.what, cut });
    },
  }),
  tool({
    name: 'task_transcript',
    title: "A task's transcript",
    description:
      "A task's conversation with its agent: the task, each model step with its tool calls and their results, and Foreman's notes (failed checks, changes requested, resumes). Long texts are cut, saying how much is left out, unless full: true.",
    input: { runId, taskId, full: z.boolean().optional().describe('Nothing cut, the shared system prompt included.') },
    annotations: READ_ONLY,
    async run({ runId: id, taskId: task, full }, _extra, { fleet }) {
      const ws = await fleet.workspace();
      const { state } = await lookBack(ws, id);
      const t = taskOf(state, task);
      const messages = await taskConversation(ws, state, task);
      const text = transcriptText(
        messages,
        { runId: id, taskId: task, title: t.spec?.title ?? null, status: t.status },
        { limits: full ? UNLIMITED_TRANSCRIPT : DEFAULT_TRANSCRIPT_LIMITS, systemPrompt: full ?? false },
      );
      return answer(text);
    },
  }),
  tool({
    name: 'accept_task',
    title: 'Accept tasks',
    description:
      "Accept verified tasks a run holds for review: each is merged into the run's integration branch (not the developer's branch), and the run goes on in the background.",
    input: { runId, taskIds: z.array(z.string()).min(1).describe('The tasks to accept.') },
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: ({ runId: id, taskIds }, extra, ctx) => decideAll(ctx, extra, id, taskIds, { kind: 'accept' }, 'accepted'),
  }),
  tool({
    name: 'reject_task',
    title: 'Reject tasks',
    description:
      "Reject tasks of a run: each task's worktree and branch are removed and its work discarded; tasks that depend on it are blocked. The run goes on in the background.",
    input: { runId, taskIds: z.array(z.string()).min(1).describe('The tasks to reject.') },
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
    run: ({ runId: id, taskIds }, extra, ctx) => decideAll(ctx, extra, id, taskIds, { kind: 'reject' }, 'rejected'),
  }),
  tool({
    name: 'request_changes',
    title: 'Request changes on a task',
    description:
      'Send a task back to its agent with comments: the agent goes on in the same conversation and worktree, then the task is verified again. The run goes on in the background.',
    input: { runId, taskId, comments: z.string().min(1).describe('What to change, in words.') },
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: ({ runId: id, taskId: task, comments }, extra, ctx) =>
      decideAll(ctx, extra, id, [task], { kind: 'requestChanges', comments }, 'sent back with your comments'),
  }),
  tool({
    name: 'stop_run',
    title: 'Stop a run',
    description:
      'Stop a run this Foreman process drives, or one of its tasks: requests are cancelled, processes killed, the work so far committed and kept. A stopped run can be resumed with resume_run.',
    input: { runId, taskId: taskId.optional().describe('Stop only this task.') },
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    async run({ runId: id, taskId: task }, _extra, { fleet }) {
      await fleet.stop(id, task);
      return answer(
        task
          ? `Stopping task ${task} of run ${id}; its work is kept.`
          : `Stopping run ${id}: cancelling requests, killing processes, committing the work so far.`,
      );
    },
  }),
  tool({
    name: 'resume_run',
    title: 'Resume a run',
    description:
      'Resume an interrupted, stopped or budget-stopped run with its recorded settings: merged tasks stay merged, interrupted and stopped ones are queued again. It goes on in the background.',
    input: { runId },
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    async run({ runId: id }, extra, { fleet, server }) {
      await askingPins(server, extra, (pins) => fleet.resume(id, { pins }));
      return answer(`Run ${id} resumed; it goes on in the background.\n${await mcpLines(fleet, id)}`.trimEnd());
    },
  }),
  tool({
    name: 'apply_run',
    title: 'Apply a run',
    description:
      "Bring a finished run's integration branch onto the developer's current branch, as one commit (squash, the default) or a merge. This changes the developer's branch, so Foreman asks the user to confirm through MCP elicitation first; a client that cannot ask is refused with the command to run instead. Refused, changing nothing, when the checkout is dirty in the files involved or the change conflicts.",
    input: { runId, mode: z.enum(['squash', 'merge']).optional().describe('squash (one commit, default) or merge.') },
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
    run: (args, extra, deps) => applyTool(args.runId, args.mode ?? 'squash', extra, deps),
  }),
];

/** Register every tool of the table on `server`. */
export function registerTools(server: McpServer, deps: ForemanMcpDeps): void {
  for (const spec of TOOLS) {
    const t = spec as unknown as ToolSpec<z.ZodRawShape>;
    server.registerTool(
      t.name,
      { title: t.title, description: t.description, inputSchema: t.input, annotations: t.annotations },
      (args: Record<string, unknown>, extra: ToolExtra) => guarded(() => t.run(args, extra, { ...deps, server })),
    );
  }
}

/** A progress notification for a request that carried a progress token; nothing otherwise. */
async function progress(extra: ToolExtra, value: number, message: string): Promise<void> {
  const token = extra._meta?.progressToken;
  if (token === undefined) return;
  await extra.sendNotification({
    method: 'notifications/progress',
    params: { progressToken: token, progress: value, message },
  });
}

/**
 * Do `work` with the pin questions of the run it moves put to this call's client (see mcpPins.ts):
 * asked within the call while it lasts.
 */
async function askingPins<T>(
  server: ToolContext['server'],
  extra: ToolExtra,
  work: (pins: Approver) => Promise<T>,
): Promise<T> {
  const asker = pinAsker(server, extra);
  try {
    return await work(asker.approver);
  } finally {
    asker.ended();
  }
}

/**
 * What became of the run's MCP servers (its journal's `mcp` events), a line each, and of a change
 * found while a task used one (`MCP server s (task t): …`); empty when there is none.
 */
async function mcpLines(fleet: ToolContext['fleet'], id: string): Promise<string> {
  const { events } = await loadRun(await fleet.workspace(), id);
  const latest = new Map<string, string>();
  for (const e of events) {
    if (e.type !== 'mcp') continue;
    const name = e.taskId ? `${e.server} (task ${e.taskId})` : e.server;
    latest.set(name, `MCP server ${name}: ${e.status} (${e.detail}).`);
  }
  return [...latest.values()].map((line) => `${line}\n`).join('');
}

async function decideAll(
  { fleet, server }: ToolContext,
  extra: ToolExtra,
  id: string,
  taskIds: string[],
  decision: TaskDecision,
  done: string,
): Promise<CallToolResult> {
  const lines: string[] = [];
  let refused = 0;
  for (const task of taskIds) {
    try {
      await askingPins(server, extra, (pins) => fleet.decide(id, task, decision, { pins }));
      lines.push(`Task ${task}: ${done}.`);
    } catch (e) {
      refused += 1;
      lines.push(`Task ${task}: refused: ${explainError(e)}`);
    }
  }
  if (refused < taskIds.length) lines.push(`Run ${id} goes on in the background.`);
  return refused === taskIds.length ? refusal(lines.join('\n')) : answer(lines.join('\n'));
}

/** The apply tool: refused without elicitation, else done only when the user confirms. */
async function applyTool(
  id: string,
  mode: 'squash' | 'merge',
  extra: ToolExtra,
  { fleet, server }: ToolContext,
): Promise<CallToolResult> {
  const how = mode === 'squash' ? 'as one commit' : 'as a merge';
  const command = `foreman apply ${id}${mode === 'merge' ? ' --mode merge' : ''}`;
  const { state, live } = await fleet.read(id); // an unknown run says so first
  if (!canElicit(server))
    return refusal(
      `Applying run ${id} changes your branch, so Foreman asks you to confirm first, and this client cannot ask (it did not declare MCP form elicitation). To apply it, run \`${command}\` in the repository yourself.`,
    );
  const merged = [...state.tasks.values()].filter((t) => t.status === 'merged').map((t) => t.id);
  // Refusals the apply would give anyway are given before the user is asked for nothing.
  if (live) return refusal(`Run ${id} is still running; apply it when it has finished (wait_for_run).`);
  if (merged.length === 0)
    return refusal(`Run ${id} has nothing merged into its integration branch; there is nothing to apply.`);
  const reply = await server.server.elicitInput(
    {
      mode: 'form',
      message: `Apply Foreman run ${id} onto your current branch ${how}? It brings ${merged.length} merged task(s) (${merged.join(', ') || 'none'}) onto the branch you have checked out.`,
      requestedSchema: {
        type: 'object',
        properties: {
          confirm: {
            type: 'boolean',
            title: 'Apply the run',
            description: `Yes: apply run ${id} onto your branch ${how}.`,
          },
        },
        required: ['confirm'],
      },
    },
    { relatedRequestId: extra.requestId, signal: extra.signal },
  );
  if (reply.action !== 'accept' || reply.content?.confirm !== true)
    return refusal(
      `Not applied: the user did not confirm (${reply.action === 'accept' ? 'declined in the form' : reply.action}). Nothing changed.`,
    );
  const text = await fleet.apply(id, mode);
  return answer(text, { runId: id, applied: (await fleet.read(id)).state.applied });
}
