/**
 * What the host does with each of the panel's requests. The editor's own requests (EditorRequestType:
 * opening editors, asking for a key, the settings) are a table of handlers here; `run/apply` is
 * confirmed in a modal dialog first; every other request goes to the session unchanged.
 */
import * as vscode from 'vscode';
import type { EditorRequestType, LeadApi } from '../app/leadApi';
import type { Request } from '../protocol/panel';
import type { ApiKeys } from './apiKeys';
import { confirmApply } from './applyConfirm';

/** The review features' openers (src/host/review.ts), as the panel and the commands use them. */
export interface ReviewOpeners {
  openChanges(taskId: string): Promise<void>;
  openTranscript(taskId: string): Promise<void>;
  openChecks(taskId: string): Promise<void>;
  openAudit(taskId: string): Promise<void>;
}

/** What the handlers need. */
export interface PanelRequestDeps {
  lead(): Promise<LeadApi>;
  review: ReviewOpeners;
  keys: ApiKeys;
  /** Sends the whole state to the panel now (the answer to `panel/ready`). */
  sendState(): Promise<void>;
  folder(): string | null;
}

type RequestOf<T extends Request['type']> = Extract<Request, { type: T }>;
type EditorHandlers = { [T in EditorRequestType]: (request: RequestOf<T>) => Promise<void> };

/** The settings editor filtered to Foreman's settings. */
export async function openForemanSettings(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:foreman-dev.foreman');
}

/** Builds the dispatcher: resolves when the request is done, rejects with why it was not. */
export function createPanelDispatcher(deps: PanelRequestDeps): (request: Request) => Promise<void> {
  const editor: EditorHandlers = {
    'panel/ready': () => deps.sendState(),
    'task/openTranscript': (r) => deps.review.openTranscript(r.taskId),
    'task/openChanges': (r) => deps.review.openChanges(r.taskId),
    'task/openChecks': (r) => deps.review.openChecks(r.taskId),
    'task/openAudit': (r) => deps.review.openAudit(r.taskId),
    'backend/setKey': async (r) => {
      await deps.keys.set(r.name);
    },
    'settings/open': () => openForemanSettings(),
  };
  return async (request) => {
    if (isEditorRequest(request, editor)) {
      await (editor[request.type] as (r: Request) => Promise<void>)(request);
      return;
    }
    const lead = await deps.lead();
    if (request.type === 'run/apply' && !(await confirmApply(lead, request.mode, deps.folder()))) return;
    await lead.handle(request);
  };
}

function isEditorRequest(request: Request, table: EditorHandlers): request is RequestOf<EditorRequestType> {
  return Object.hasOwn(table, request.type);
}
