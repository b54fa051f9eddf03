/**
 * The latest verification of a task (or of the integration branch) as a read-only text document,
 * `foreman-checks:/<runId>/<taskId>.log`: each check with its command, outcome and the bounded
 * tail of its output, as the run's state holds them. A new verification round changes its version,
 * so an open tab follows the task.
 */
import * as vscode from 'vscode';
import type { BoardRun } from '../app/leadApi';
import { checksText, noChecksText } from '../app/transcriptMarkdown';
import type { VerificationState } from '../core/runState';
import { INTEGRATION_ID } from '../core/branches';
import { boardRunFor, parseBoardDocumentPath } from './transcriptDocument';

/** The URI scheme of check output. */
export const CHECKS_SCHEME = 'foreman-checks';

/** The checks URI of a task (or INTEGRATION_ID) of a run. */
export function checksUri(runId: string, taskId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: CHECKS_SCHEME, path: `/${runId}/${taskId}.log` });
}

/** The verification state of `taskId` in `run`, and what it verified in words; null for an unknown task. */
export function verificationOf(
  run: BoardRun,
  taskId: string,
): { verification: VerificationState; target: string } | null {
  if (taskId === INTEGRATION_ID) return { verification: run.state.integration, target: 'the integration branch' };
  const task = run.state.tasks.get(taskId);
  if (!task) return null;
  return { verification: task.verification, target: `task ${taskId}${task.spec ? ` (${task.spec.title})` : ''}` };
}

/** Check output, rendered on request; `version` changes with every verification round. */
export class ChecksContent {
  readonly scheme = CHECKS_SCHEME;

  constructor(private readonly board: () => BoardRun | null) {}

  version(uri: vscode.Uri): string {
    const ref = parseBoardDocumentPath(uri.path, '.log');
    const run = this.board();
    const found = ref && run?.runId === ref.runId ? verificationOf(run, ref.taskId) : null;
    return `${run?.runId ?? ''}|${found ? `${found.verification.rounds}|${found.verification.last?.at ?? ''}` : 'none'}`;
  }

  provide(uri: vscode.Uri): string {
    const ref = parseBoardDocumentPath(uri.path, '.log');
    if (ref === null) return 'Not a Foreman check log.\n';
    const run = boardRunFor(this.board(), ref);
    if (typeof run === 'string') return `${run}\n`;
    const found = verificationOf(run, ref.taskId);
    if (found === null) return `Run ${run.runId} has no task ${ref.taskId}.\n`;
    const last = found.verification.last;
    if (last === null) return noChecksText(run.runId, found.target);
    return checksText(
      { runId: run.runId, target: found.target, round: last.round, status: last.status, at: last.at },
      last.checks,
    );
  }
}

/** Show check output in a preview tab (the `.log` name gives it the Log language's colours). */
export async function showChecks(uri: vscode.Uri): Promise<void> {
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
}
