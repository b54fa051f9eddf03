/**
 * The Lead panel's run requests: start the plan, stop, decide on tasks, resume, apply, and open
 * or close a run from history. The board (src/app/leadBoard.ts) carries them out; this file
 * builds what it needs and tells the developer how each run ended.
 */
import type { Budgets } from '../core/budget';
import type { RunState, TaskState } from '../core/runState';
import { isValidRunId } from '../infra/journalFile';
import { publicEndpoint } from '../infra/openaiClient';
import { DEMO_BACKEND, DEMO_MODEL, resolveBackend, unreachable } from './backends';
import type { ResolvedBackend } from './backends';
import { readStoredRun } from './history';
import { LeadError } from './leadApi';
import { Board } from './leadBoard';
import type { TaskDecision } from '../core/decisions';
import type { BoardEnv } from './leadBoard';
import { budgetWords } from './panelView';
import type { Request } from '../protocol/panel';
import { launchRun, lockRun, openRunWorkspace, reopenRun } from './runLauncher';
import type { SessionCore } from './sessionCore';
import { errorMessage } from '../core/errors';

/** Run the plan under review: a new run on the board, driven in the background. */
export async function startRun(core: SessionCore): Promise<void> {
  const draft = core.draft;
  if (!draft) throw new LeadError('There is no plan to run: plan a spec first.', 'invalid');
  const plan = draft.plan;
  if (!plan || draft.errors.length > 0)
    throw new LeadError(`The plan has problems to fix first: ${draft.errors.join(' ')}`, 'invalid');
  if (core.planning) throw new LeadError('The planner is still at work; wait for it or cancel it.', 'busy');
  if (core.board?.live || core.starting)
    throw new LeadError('A run is already going; stop it or let it finish first.', 'busy');
  await core.whileStarting(async () => {
    const backend = await resolveBackend(core.host, core.settings, core.options(), core.demo);
    await requireReachable(core, backend);
    const run = await launchRun(core.launchInput(backend), {
      plan,
      repoView: draft.repoView,
      responses: draft.responses,
    });
    let release: () => void;
    try {
      release = lockRun(run.ws, run.engine.config.runId);
    } catch (e) {
      run.journal.close();
      throw e;
    }
    core.runStarted(Board.live(boardEnv(core), run, release));
    const o = core.options();
    const runId = run.engine.config.runId;
    core.notify(
      'info',
      `Run ${runId} started: ${plan.tasks.length} task(s), up to ${o.concurrency} at once, on ${backend.model} at ${backend.endpoint} (${backend.requestLimit} request${backend.requestLimit === 1 ? '' : 's'} at once).`,
      { runId },
    );
    await core.reloadHistory();
  });
}

/** Stop everything the live run does (processes killed, work kept); it then ends `stopped`. */
export function stopAll(core: SessionCore): void {
  core.board?.stopAll();
}

/** Stop one task of the live run. */
export function stopTask(core: SessionCore, taskId: string): void {
  boardOf(core).stopTask(taskId);
}

/** Accept, reject or send back a task of the run on the board. */
export async function decide(core: SessionCore, taskId: string, decision: TaskDecision): Promise<void> {
  const board = boardOf(core);
  const before = board.state.settingsChanges.length;
  try {
    await board.decide(taskId, decision);
  } finally {
    sayChanges(core, board.runId, board.state.settingsChanges.slice(before));
  }
  core.startTicker();
  core.changed();
}

/** Answer a group of the live run's asks (allow once, allow for this run, or deny with a reason). */
export function answerAsk(core: SessionCore, key: string, choice: 'once' | 'run' | 'deny', reason: string): void {
  const answered = core.approvals.answer(key, choice === 'deny' ? { choice, reason } : { choice });
  if (!answered)
    throw new LeadError(
      'That command no longer waits for an answer: it was answered, timed out or stopped.',
      'notFound',
    );
}

/** Put a past run on the board (not live). Readable even where the session is blocked. */
export async function openRun(core: SessionCore, runId: string): Promise<void> {
  const repo = core.requireRepo();
  if (core.board?.runId === runId) return;
  if (core.board?.live)
    throw new LeadError(`Run ${core.board.runId} is going; stop it or let it finish before opening another.`, 'busy');
  const missing = new LeadError(`There is no run ${runId} in this repository.`, 'notFound');
  if (!isValidRunId(runId)) throw missing;
  const stored = await readStoredRun(repo.stateDir, runId).catch((e: unknown) => {
    throw (e as NodeJS.ErrnoException).code === 'ENOENT' ? missing : e;
  });
  if (stored.torn) core.notify('warning', `${stored.torn[0].toUpperCase()}${stored.torn.slice(1)}.`, { runId });
  core.showBoard(Board.stored(boardEnv(core), runId, repo.root, repo.stateDir, stored));
}

/** The budgets `run/resume` may change, as the request names them. */
type ResumeBudgets = NonNullable<Extract<Request, { type: 'run/resume' }>['budgets']>;

const RESUME_BUDGET_KEYS: [keyof ResumeBudgets, keyof Budgets][] = [
  ['tokens', 'runTokens'],
  ['cost', 'runCost'],
  ['taskTokens', 'taskTokens'],
  ['taskCost', 'taskCost'],
];

/**
 * Reopen an interrupted, stopped or budget-stopped run and drive it on, with its own settings;
 * `budgets` are the developer's explicit changes of its budgets (recorded, and said).
 */
export async function resumeRun(core: SessionCore, runId: string, budgets: ResumeBudgets = {}): Promise<void> {
  if (core.board?.runId !== runId) await openRun(core, runId);
  const board = boardOf(core);
  const before = board.state.settingsChanges.length;
  const changed: Partial<Budgets> = {};
  for (const [name, key] of RESUME_BUDGET_KEYS) {
    const value = budgets[name];
    if (value !== undefined) changed[key] = value;
  }
  await board.resume({ budgets: changed });
  sayChanges(core, runId, board.state.settingsChanges.slice(before));
  core.startTicker();
  await core.reloadHistory();
}

/** Leave the board for a new spec. */
export function closeRun(core: SessionCore): void {
  const board = core.board;
  if (!board) return;
  if (board.live)
    throw new LeadError(`Run ${board.runId} is going; stop it or let it finish before closing it.`, 'busy');
  core.closeBoard();
}

/** Bring the run's integration branch onto the developer's branch. */
export async function applyRun(core: SessionCore, mode: 'squash' | 'merge'): Promise<void> {
  const board = boardOf(core);
  // A merge in a temporary worktree can take a while on a big repository: show it as progress.
  const text = await core.host.withProgress(`Foreman: applying run ${board.runId}…`, () => board.apply(mode));
  core.notify('info', text, { runId: board.runId });
  await core.reloadHistory();
}

/** Tell the developer what changed in a run's settings when it was reopened (recorded in its journal). */
function sayChanges(core: SessionCore, runId: string, recorded: readonly { changes: string[] }[]): void {
  const changes = recorded.flatMap((c) => c.changes);
  if (changes.length) core.notify('info', `Run ${runId} goes on with changed settings: ${changes.join('; ')}.`);
}

function boardOf(core: SessionCore): Board {
  if (!core.board)
    throw new LeadError('There is no run on the board: start one, or open one from the history.', 'notFound');
  return core.board;
}

async function requireReachable(core: SessionCore, backend: ResolvedBackend): Promise<void> {
  const down = await unreachable(backend);
  // Said once, beside the control that asked (the request's error), not in the line as well.
  if (down) throw new LeadError(down, 'backend');
}

/** The backend a reopened run uses: the demo for a demo run, the configured backend it ran on, else the selected one. */
async function backendForRun(core: SessionCore, state: RunState): Promise<ResolvedBackend> {
  const recorded = state.settings;
  const options = core.options();
  if (recorded?.model === DEMO_MODEL)
    return resolveBackend(
      core.host,
      core.settings,
      { ...options, backend: DEMO_BACKEND, model: DEMO_MODEL },
      core.demo,
    );
  const same = core.settings.backends.find(
    (b) => recorded && publicEndpoint(b.baseUrl) === recorded.endpoint && b.models.includes(recorded.model),
  );
  const chosen = same && recorded ? { ...options, backend: same.name, model: recorded.model } : options;
  return resolveBackend(core.host, core.settings, chosen, core.demo);
}

function boardEnv(core: SessionCore): BoardEnv {
  return {
    now: () => core.now(),
    changed: () => core.changed(),
    notify: (kind, text) => core.notify(kind, text),
    log: (message) => core.host.log('warn', message),
    reopen: async (runId, overrides) => {
      const state = core.board?.runId === runId ? core.board.state : null;
      const backend = state
        ? await backendForRun(core, state)
        : await resolveBackend(core.host, core.settings, core.options(), core.demo);
      return reopenRun(core.launchInput(backend), runId, overrides);
    },
    workspace: async () => (await openRunWorkspace(core.workspaceInput())).ws,
    settled: (board, state, error) => {
      if (!core.disposed) {
        const outcome = error
          ? {
              kind: 'error' as const,
              text: `Run ${board.runId} stopped on an unexpected error: ${errorMessage(error)}`,
            }
          : outcomeNotice(state);
        core.notify(outcome.kind, outcome.text, { runId: board.runId, outcome: true });
        core.reloadHistory().catch((e: unknown) => core.host.log('warn', `Could not read the history: ${String(e)}`));
      }
      if (!core.board?.live) core.stopTicker();
      core.changed();
    },
  };
}

/** How a run ended, for the developer. */
export function outcomeNotice(state: RunState): { kind: 'info' | 'warning' | 'error'; text: string } {
  const id = state.runId;
  const tasks = [...state.tasks.values()];
  const merged = tasks.filter((t) => t.status === 'merged').length;
  const said = (state.message ?? '').replace(/\s*[^.;]*:\s*foreman\b.*$/s, '').replace(/[.;\s]*$/, '');
  switch (state.status) {
    case 'completed': {
      const verified =
        state.integration.last?.status === 'passed'
          ? 'merged and verified together'
          : 'merged, not verified (no checks)';
      return {
        kind: 'info',
        text: `Run ${id} completed: ${merged} of ${tasks.length} task(s) ${verified}. Apply it to bring the change onto your branch.`,
      };
    }
    case 'review': {
      const waiting = tasks.filter((t) => t.status === 'verified');
      const who =
        waiting.length === 1 ? `Task ${taskName(waiting[0])} waits` : `Tasks ${namesOf(waiting.map((t) => t.id))} wait`;
      return { kind: 'info', text: `${who} for your review in run ${id}: accept, reject or request changes.` };
    }
    case 'stopped':
      return {
        kind: 'info',
        text: `Run ${id} stopped; the work done so far is kept (${merged} of ${tasks.length} task(s) merged). Resume it to go on.`,
      };
    case 'budget':
      return {
        kind: 'warning',
        text: `Run ${id} stopped at its budget. ${state.budgetHit ? budgetWords(state.budgetHit) : said} Raise the budget and resume it to go on.`,
      };
    default: {
      const unmerged = tasks.filter((t) => t.status !== 'merged' && t.status !== 'rejected');
      const which = unmerged.length ? ` Not merged: ${namesOf(unmerged.map((t) => `${t.id} (${t.status})`))}.` : '';
      return { kind: 'error', text: `Run ${id} failed: ${said || 'see the board for each task'}.${which}` };
    }
  }
}

/** A task by its id and title: `receipt ("Receipt lines")`. */
function taskName(task: TaskState): string {
  const title = task.spec?.title;
  return title && title !== task.id ? `${task.id} ("${title}")` : task.id;
}

/** Up to five names, then how many more. */
function namesOf(names: readonly string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}
