/**
 * Quick picks for the palette commands: a task of the board (only those the command may act on,
 * by the row's `actions`), a past run to resume, an apply mode. Each says so in a message, rather
 * than showing an empty list, when there is nothing to pick.
 */
import * as vscode from 'vscode';
import type { HistoryEntry, RunView, TaskRow } from '../protocol/panel';
import type { ApplyMode } from './applyConfirm';
import { INTEGRATION_ID } from '../protocol/constants';
import { STATUS_ICON } from './statusIcons';

/** How a task pick is asked. */
export interface TaskPickOptions {
  /** Quick pick title, e.g. "Accept which task?". */
  title: string;
  /** Which tasks to offer. */
  allow: (task: TaskRow) => boolean;
  /** Said when no task qualifies, e.g. "no task is waiting for Accept". */
  none: string;
  /** Also offer the integration branch (its id is INTEGRATION_ID) when this returns true. */
  integration?: (run: RunView) => boolean;
}

/** A task id picked from the board; undefined when cancelled or when nothing qualifies (said in a message). */
export async function pickTask(run: RunView | null, options: TaskPickOptions): Promise<string | undefined> {
  if (!run) {
    void vscode.window.showInformationMessage('Foreman: there is no run on the board.');
    return undefined;
  }
  const items: (vscode.QuickPickItem & { id: string })[] = run.tasks.filter(options.allow).map((t) => ({
    id: t.id,
    label: `$(${STATUS_ICON[t.status]}) ${t.title}`,
    description: `${t.id} · ${t.status.replace('_', ' ')}`,
    detail: t.reason ?? undefined,
  }));
  if (options.integration?.(run)) {
    items.push({
      id: INTEGRATION_ID,
      label: '$(git-branch) Integration branch',
      description: run.integration.branch,
    });
  }
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`Foreman: ${options.none}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: options.title,
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked?.id;
}

/** A resumable past run's id; undefined when cancelled or when none can be resumed. */
export async function pickResumableRun(history: HistoryEntry[]): Promise<string | undefined> {
  const items = history
    .filter((h) => h.resumable)
    .map((h) => ({
      id: h.runId,
      label: firstLine(h.spec) || h.runId,
      description: `${h.runId} · ${h.status}`,
      detail: `${h.merged}/${h.tasks} tasks merged${h.startedAt ? ` · started ${new Date(h.startedAt).toLocaleString()}` : ''}`,
    }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage('Foreman: no run of this repository can be resumed.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Resume which run?', matchOnDescription: true });
  return picked?.id;
}

/** Squash (one commit) or merge; undefined when cancelled. */
export async function pickApplyMode(): Promise<ApplyMode | undefined> {
  const items: (vscode.QuickPickItem & { mode: ApplyMode })[] = [
    {
      mode: 'squash',
      label: '$(git-commit) One commit',
      detail: "The run's changes as a single commit on your branch.",
    },
    { mode: 'merge', label: '$(git-merge) Merge', detail: "A merge commit that keeps the run's task commits." },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Apply the run how?' });
  return picked?.mode;
}

function firstLine(text: string): string {
  const line = text.trim().split('\n', 1)[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
