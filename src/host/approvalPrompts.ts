/**
 * The editor's side of approvals: an ask of the command policy as a notification with the exact
 * command, the tasks waiting on it and the rule that asked, answered with Allow Once, Allow for
 * This Run or Deny… (which asks for a reason the agents receive); and, when many commands wait,
 * one notification that leads to the Lead panel, where every ask waits on its task's row. A new or
 * changed MCP server's pin (rules mcp-pin-new and mcp-pin-changed, asked as a run starts) is put
 * as what it is: the server, where it comes from, its tools by name, answered Approve or Deny….
 */
import * as vscode from 'vscode';
import type { DeskAnswer } from '../core/approvalDesk';
import { visibleControls } from '../core/text';
import type { ApprovalQuestion } from '../app/leadHost';

const ONCE = 'Allow Once';
const RUN = 'Allow for This Run';
const DENY = 'Deny…';
const APPROVE = 'Approve';

/** Ask about one command; undefined when the notification was closed unanswered. */
export async function askApproval(question: ApprovalQuestion, signal: AbortSignal): Promise<DeskAnswer | undefined> {
  const seconds = Math.max(0, Math.round((question.expiresAt - Date.now()) / 1000));
  const command = shown(question.command);
  const pin = question.rule.startsWith('mcp-pin-');
  const choice = pin
    ? await vscode.window.showWarningMessage(
        `Foreman: ${pinText(question)} Unanswered, it is refused in ${seconds} s.`,
        APPROVE,
        DENY,
      )
    : await vscode.window.showWarningMessage(
        `Foreman: ${who(question)} to run \`${command}\`${inLine(question)}. Rule ${question.rule}: ${sentence(question.why)} Unanswered, it is refused in ${seconds} s.`,
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
  if (choice === ONCE || choice === APPROVE) return { choice: 'once' };
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

/** Who waits: the tasks, or the run itself (an ask of no task's, such as an MCP server's pin). */
function who(question: ApprovalQuestion): string {
  if (question.tasks.length > 1) return `Tasks ${question.tasks.join(', ')} want`;
  return question.tasks[0] === 'this run' ? 'This run wants' : `Task ${question.tasks[0]} wants`;
}

/** The whole line the command is part of, when it is more than the command. */
function inLine(question: ApprovalQuestion): string {
  return question.line.trim() === question.command ? '' : ` (in: ${shown(question.line)})`;
}

/**
 * An MCP server's pin question. Its line is the hub's (src/infra/mcpHub.ts): `MCP server "name"
 * from origin (command or URL), pin P, N tools:` and then a line per tool, `  tool: description`;
 * the notification names the tools, and the rule's reason says whether the server is new or changed.
 */
function pinText(question: ApprovalQuestion): string {
  const [head, ...tools] = question.line.split('\n');
  const names = tools.map((t) => t.trim().split(':')[0]).filter((n) => n !== '');
  const server = shown(head.replace(/:$/, ''));
  const listed = names.length ? `${server}: ${shown(names.join(', '))}.` : `${server}.`;
  const remembered = 'Approved, it is remembered: a later run asks again only when the server or its tools change.';
  return `This run wants to use ${listed} ${sentence(question.why)} ${remembered}`;
}

/** A reason ending in a full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
}

/** Model text as a notification shows it: control characters visible, at most 300 characters. */
function shown(text: string): string {
  const visible = visibleControls(text.replace(/\s+/g, ' ').trim());
  return visible.length > 300 ? `${visible.slice(0, 299)}…` : visible;
}
