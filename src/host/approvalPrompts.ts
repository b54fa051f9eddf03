/**
 * The editor's side of approvals: an ask of the command policy as a notification with the exact
 * command, the tasks waiting on it and the rule that asked, answered with Allow Once, Allow for
 * This Run or Deny… (which asks for a reason the agents receive); and, when many commands wait,
 * one notification that leads to the Lead panel, where every ask waits on its task's row.
 */
import * as vscode from 'vscode';
import type { DeskAnswer } from '../core/approvalDesk';
import { visibleControls } from '../core/text';
import type { ApprovalQuestion } from '../app/leadHost';

const ONCE = 'Allow Once';
const RUN = 'Allow for This Run';
const DENY = 'Deny…';

/** Ask about one command; undefined when the notification was closed unanswered. */
export async function askApproval(question: ApprovalQuestion, signal: AbortSignal): Promise<DeskAnswer | undefined> {
  const who =
    question.tasks.length === 1 ? `Task ${question.tasks[0]} wants` : `Tasks ${question.tasks.join(', ')} want`;
  const seconds = Math.max(0, Math.round((question.expiresAt - Date.now()) / 1000));
  const command = shown(question.command);
  const line = question.line.trim() === question.command ? '' : ` (in: ${shown(question.line)})`;
  const choice = await vscode.window.showWarningMessage(
    `Foreman: ${who} to run \`${command}\`${line}. Rule ${question.rule}: ${question.why} Unanswered, it is refused in ${seconds} s.`,
    ONCE,
    RUN,
    DENY,
  );
  if (choice === undefined) return undefined;
  // VS Code cannot take a notification back: one answered elsewhere stays until it is closed.
  if (signal.aborted) {
    void vscode.window.showInformationMessage(
      `Foreman: \`${command}\` no longer waits: it was answered in the Lead panel, timed out, or its task stopped.`,
    );
    return undefined;
  }
  if (choice === ONCE) return { choice: 'once' };
  if (choice === RUN) return { choice: 'run' };
  const reason = await vscode.window.showInputBox({
    title: `Deny \`${command}\``,
    prompt: 'A reason for the agent (optional): it reads it and can try another way.',
    ignoreFocusOut: true,
  });
  if (reason === undefined) return undefined;
  return { choice: 'deny', reason };
}

/** Say that more commands wait than get a notification each; offer the Lead panel. */
export async function showApprovalSummary(count: number, signal: AbortSignal): Promise<void> {
  const show = 'Show in Lead Panel';
  const choice = await vscode.window.showWarningMessage(
    `Foreman: ${count} more command${count === 1 ? '' : 's'} wait for your approval. Each waits on its task's row in the Lead panel.`,
    show,
  );
  if (choice === show && !signal.aborted) await vscode.commands.executeCommand('foreman.lead.focus');
}

/** Model text as a notification shows it: control characters visible, at most 300 characters. */
function shown(text: string): string {
  const visible = visibleControls(text.replace(/\s+/g, ' ').trim());
  return visible.length > 300 ? `${visible.slice(0, 299)}…` : visible;
}
