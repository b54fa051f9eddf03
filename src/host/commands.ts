/**
 * Foreman's palette commands, one table. Each does what the panel's button does, by sending the
 * session the same request; where the panel knows the task, a command asks with a quick pick
 * (offering only tasks whose `actions` allow it) or takes the task id as its argument. A LeadError
 * is shown as it is; anything else is logged and shown as a pointer to the log.
 */
import * as vscode from 'vscode';
import type { LeadApi, SessionRequest } from '../app/leadApi';
import type { TaskRow } from '../protocol/panel';
import type { ApiKeys } from './apiKeys';
import { confirmApply } from './applyConfirm';
import { showError } from './errors';
import { openForemanSettings } from './panelRequests';
import type { ReviewOpeners } from './panelRequests';
import { pickApplyMode, pickResumableRun, pickTask } from './picks';
import type { TaskPickOptions } from './picks';
import type { SessionHolder } from './sessionHolder';

/** What the commands need. */
export interface CommandDeps {
  holder: SessionHolder;
  review: ReviewOpeners;
  keys: ApiKeys;
  log: vscode.LogOutputChannel;
  /** Focuses the panel's spec box. */
  focusSpec(): void;
  folder(): string | null;
}

type Handler = (arg?: unknown) => Promise<void>;

/** The id a command was given: a task id string, or a tree item or object carrying `taskId`/`runId`/`name`. */
function idArgument(arg: unknown, key: 'taskId' | 'runId' | 'name'): string | undefined {
  if (typeof arg === 'string' && arg !== '') return arg;
  const value = typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Registers every command of the table; the returned disposable removes them all. */
export function registerCommands(deps: CommandDeps): vscode.Disposable {
  const table = commandTable(deps);
  const registrations = Object.entries(table).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (arg?: unknown) => {
      try {
        await handler(arg);
      } catch (e) {
        showError(e, deps.log, `Command ${id}`);
      }
    }),
  );
  return vscode.Disposable.from(...registrations);
}

/** The command ids (package.json `contributes.commands`, but `foreman.runs.show` and the review's `foreman.changes.*`) and what each does. */
export function commandTable(deps: CommandDeps): Record<string, Handler> {
  const kit = commandKit(deps);
  return { ...leadCommands(deps, kit), ...taskCommands(deps, kit), ...backendCommands(deps, kit) };
}

/** Helpers the areas' tables share. */
interface CommandKit {
  lead(): Promise<LeadApi>;
  /** A command that sends the session one fixed request. */
  send(request: SessionRequest): Handler;
  /** A command on one task: the id given as argument, else picked from the board. */
  withTask(options: TaskPickOptions, act: (session: LeadApi, taskId: string) => Promise<void>): Handler;
  focusPanel(): Promise<void>;
}

function commandKit(deps: CommandDeps): CommandKit {
  const lead = (): Promise<LeadApi> => deps.holder.get();
  return {
    lead,
    send: (request) => async () => (await lead()).handle(request),
    withTask: (options, act) => async (arg) => {
      const session = await lead();
      const taskId = idArgument(arg, 'taskId') ?? (await pickTask(session.snapshot().run, options));
      if (taskId !== undefined) await act(session, taskId);
    },
    focusPanel: async () => {
      await vscode.commands.executeCommand('foreman.lead.focus');
    },
  };
}

/** The spec, the plan, the run as a whole, the log and the settings. */
function leadCommands(deps: CommandDeps, kit: CommandKit): Record<string, Handler> {
  return {
    'foreman.lead.newSpec': async () => {
      await kit.focusPanel();
      deps.focusSpec();
    },
    'foreman.plan.start': kit.send({ type: 'plan/start' }),
    'foreman.run.start': kit.send({ type: 'run/start' }),
    'foreman.run.stopAll': kit.send({ type: 'run/stopAll' }),
    'foreman.run.apply': async (arg) => applyRun(await kit.lead(), deps.folder(), arg),
    'foreman.run.resume': async (arg) => {
      const session = await kit.lead();
      const runId = idArgument(arg, 'runId') ?? (await pickResumableRun(session.snapshot().history));
      if (runId !== undefined) await session.handle({ type: 'run/resume', runId });
    },
    'foreman.log.show': () => {
      deps.log.show(true);
      return Promise.resolve();
    },
    'foreman.settings.open': () => openForemanSettings(),
  };
}

/** One task of the board: each offers only the tasks whose `actions` allow it. */
function taskCommands(deps: CommandDeps, kit: CommandKit): Record<string, Handler> {
  const decide = (type: 'task/stop' | 'task/accept' | 'task/reject', options: TaskPickOptions): Handler =>
    kit.withTask(options, (session, taskId) => session.handle({ type, taskId }));
  const hasChecks = (t: TaskRow): boolean => t.verification !== null;
  return {
    'foreman.task.stop': decide('task/stop', {
      title: 'Stop which task?',
      allow: (t) => t.actions.stop,
      none: 'no task is running',
    }),
    'foreman.task.accept': decide('task/accept', {
      title: 'Accept which task?',
      allow: (t) => t.actions.accept,
      none: 'no task is waiting for Accept',
    }),
    'foreman.task.reject': decide('task/reject', {
      title: 'Reject which task?',
      allow: (t) => t.actions.reject,
      none: 'no task can be rejected now',
    }),
    'foreman.task.requestChanges': kit.withTask(
      {
        title: 'Request changes on which task?',
        allow: (t) => t.actions.requestChanges,
        none: 'no task can take a change request now',
      },
      async (session, taskId) => {
        const comments = await askComment(session.snapshot().run?.tasks.find((t) => t.id === taskId));
        if (comments !== undefined) await session.handle({ type: 'task/requestChanges', taskId, comments });
      },
    ),
    'foreman.task.openTranscript': kit.withTask(
      {
        title: "Open which task's transcript?",
        allow: (t) => t.actions.transcript,
        none: 'no task has a transcript yet',
      },
      (_s, taskId) => deps.review.openTranscript(taskId),
    ),
    'foreman.task.openChanges': kit.withTask(
      {
        title: "Show which task's changes?",
        allow: (t) => t.actions.diff,
        none: 'no task has changes yet',
        integration: (run) => run.integration.files.length > 0,
      },
      (_s, taskId) => deps.review.openChanges(taskId),
    ),
    'foreman.task.openChecks': kit.withTask(
      {
        title: "Open which task's check output?",
        allow: hasChecks,
        none: 'no task has been verified yet',
        integration: (run) => run.integration.verification !== null,
      },
      (_s, taskId) => deps.review.openChecks(taskId),
    ),
  };
}

/** Backends and their keys. */
function backendCommands(deps: CommandDeps, kit: CommandKit): Record<string, Handler> {
  return {
    'foreman.backend.add': async () => {
      const backend = await askBackend();
      if (backend) await (await kit.lead()).handle({ type: 'backend/add', ...backend });
    },
    'foreman.backend.discover': async () => {
      await kit.focusPanel();
      await (await kit.lead()).handle({ type: 'backend/discover' });
    },
    'foreman.backend.useDemo': kit.send({ type: 'backend/useDemo' }),
    'foreman.sample.open': kit.send({ type: 'sample/open' }),
    'foreman.backend.setApiKey': async (arg) => {
      await deps.keys.set(idArgument(arg, 'name'));
    },
    'foreman.backend.clearApiKey': async (arg) => {
      await deps.keys.clear(idArgument(arg, 'name'));
    },
  };
}

/** Apply: which way (unless given as 'squash' or 'merge'), then the same modal confirmation as the panel's. */
async function applyRun(session: LeadApi, folder: string | null, arg: unknown): Promise<void> {
  const run = session.snapshot().run;
  if (!run?.actions.apply) {
    void vscode.window.showInformationMessage(
      run
        ? `Foreman: run ${run.runId} cannot be applied now (${run.status}).`
        : 'Foreman: there is no run on the board.',
    );
    return;
  }
  const mode = arg === 'squash' || arg === 'merge' ? arg : await pickApplyMode();
  if (mode === undefined || !(await confirmApply(session, mode, folder))) return;
  await session.handle({ type: 'run/apply', mode });
}

/** The developer's change request for `task`; undefined when cancelled. */
async function askComment(task: TaskRow | undefined): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: `Request changes${task ? ` on ${task.title}` : ''}`,
    prompt: 'What should the agent change? It continues in the same worktree and is verified again.',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'Say what to change, or press Escape to cancel.' : null),
  });
}

/** Name, base URL and model of a new backend, asked one after the other; undefined when cancelled. */
async function askBackend(): Promise<{ name: string; baseUrl: string; model: string } | undefined> {
  const common = { ignoreFocusOut: true, title: 'Add a Backend' };
  const baseUrl = await vscode.window.showInputBox({
    ...common,
    prompt: 'Base URL of an OpenAI-compatible server (usually ending in /v1)',
    placeHolder: 'http://localhost:8000/v1',
    validateInput: (v) => (/^https?:\/\/[^\s/]+/.test(v.trim()) ? null : 'Enter an http:// or https:// URL.'),
  });
  if (baseUrl === undefined) return undefined;
  const model = await vscode.window.showInputBox({
    ...common,
    prompt: 'Model name, as the server knows it',
    validateInput: required('a model name'),
  });
  if (model === undefined) return undefined;
  const name = await vscode.window.showInputBox({
    ...common,
    prompt: 'A name for this backend',
    value: hostOf(baseUrl),
    validateInput: required('a name'),
  });
  if (name === undefined) return undefined;
  return { name: name.trim(), baseUrl: baseUrl.trim(), model: model.trim() };
}

function hostOf(url: string): string {
  try {
    return new URL(url.trim()).host;
  } catch {
    // The name box then starts empty; the URL itself is checked again by the session.
    return '';
  }
}

function required(what: string): (value: string) => string | null {
  return (value) => (value.trim() === '' ? `Enter ${what}.` : null);
}
