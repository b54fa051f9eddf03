/**
 * A task's audit trail as a read-only document, `foreman-audit:/<runId>/<taskId>.log`: every tool
 * call with the policy's verdict, every ask and who answered it, the sandbox the task's processes
 * ran in, the hosts they asked for, and the git operations Foreman performed for it, read from the
 * run's journal (src/core/audit.ts). It is opened beside the task's transcript and follows the run.
 */
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { BoardRun } from '../app/leadApi';
import { auditTrail, formatAudit } from '../core/audit';
import { readJournal } from '../infra/journalFile';
import { boardRunFor, parseBoardDocumentPath } from './transcriptDocument';

/** The URI scheme of audit documents. */
export const AUDIT_SCHEME = 'foreman-audit';

/** The audit URI of a task of a run. */
export function auditUri(runId: string, taskId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: AUDIT_SCHEME, path: `/${runId}/${taskId}.log` });
}

/** Audit content, read from the journal on request; its version is the journal's last event. */
export class AuditContent {
  readonly scheme = AUDIT_SCHEME;

  constructor(private readonly board: () => BoardRun | null) {}

  version(uri: vscode.Uri): string {
    const ref = parseBoardDocumentPath(uri.path, '.log');
    const run = this.board();
    return ref && run?.runId === ref.runId ? `${run.runId}|${run.state.lastSeq}` : `${run?.runId ?? ''}|none`;
  }

  async provide(uri: vscode.Uri): Promise<string> {
    const ref = parseBoardDocumentPath(uri.path, '.log');
    if (ref === null) return 'Not a Foreman audit trail.\n';
    const run = boardRunFor(this.board(), ref);
    if (typeof run === 'string') return `Audit trail of ${ref.taskId}\n\n${run}\n`;
    const { events } = await readJournal(join(run.runDir, 'journal.jsonl'));
    const entries = auditTrail(events, ref.taskId);
    const head = [
      `Audit trail of task ${ref.taskId}, run ${run.runId}`,
      "Tool calls with the command policy's verdict, approvals, the sandbox, network requests and git operations; ! marks a refusal or a failure.",
      `The whole run's trail: foreman audit ${run.runId} (--json to export it).`,
      '',
    ];
    const clock = (t: number) => new Date(t).toLocaleTimeString(undefined, { hour12: false });
    const body = entries.length ? formatAudit(entries, clock) : ['(nothing recorded for this task yet)'];
    return `${[...head, ...body].join('\n')}\n`;
  }
}
