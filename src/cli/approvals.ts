/**
 * How `foreman run` answers the command policy's asks (`--approve`): on this terminal, one group
 * of asks at a time (progress lines wait while a question is open); never (every ask refused, the
 * default without a terminal); or, with `policy`, without asking because the sandbox holds the
 * command.
 */
import { createInterface } from 'node:readline/promises';
import type { Interface } from 'node:readline/promises';
import { ApprovalDesk } from '../core/approvalDesk';
import type { AskGroup, DeskAnswer } from '../core/approvalDesk';
import { NEVER_APPROVER, sandboxTrustApprover } from '../core/approver';
import type { Approver } from '../core/approver';
import { visibleControls } from '../core/text';
import type { ApproveMode } from './options';

/** The terminal the prompt uses. */
export interface PromptTerminal {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Whether both ends are a terminal (then `prompt` is the default mode). */
  interactive: boolean;
}

/** The run's approver, and a writer for progress lines that waits while a question is open. */
export interface CliApprovals {
  readonly mode: ApproveMode;
  readonly approver: Approver;
  /** Write a progress line now, or after the open question is answered. */
  write(line: string): void;
  /** Refuse what still waits and let go of the terminal. */
  close(): void;
}

/** The mode `--approve` asks for, or the default for this terminal. */
export function approveMode(asked: ApproveMode | undefined, terminal: PromptTerminal): ApproveMode {
  return asked ?? (terminal.interactive ? 'prompt' : 'never');
}

/** The approvals of one CLI run. */
export function cliApprovals(
  mode: ApproveMode,
  options: { sandboxed: boolean; timeoutMs: number; terminal: PromptTerminal; err: (line: string) => void },
): CliApprovals {
  if (mode === 'never') return { mode, approver: NEVER_APPROVER, write: options.err, close: () => undefined };
  if (mode === 'policy')
    return { mode, approver: sandboxTrustApprover(options.sandboxed), write: options.err, close: () => undefined };
  return new TerminalApprovals(options.timeoutMs, options.terminal, options.err);
}

class TerminalApprovals implements CliApprovals {
  readonly mode = 'prompt' as const;
  private readonly desk: ApprovalDesk;
  private readonly held: string[] = [];
  private rl: Interface | null = null;
  private open: { key: string; abort: AbortController } | null = null;
  private closed = false;

  constructor(
    timeoutMs: number,
    private readonly terminal: PromptTerminal,
    private readonly err: (line: string) => void,
  ) {
    this.desk = new ApprovalDesk({ timeoutMs });
    this.desk.onChange(() => this.next());
  }

  get approver(): Approver {
    return this.desk;
  }

  write(line: string): void {
    if (this.open) this.held.push(line);
    else this.err(line);
  }

  close(): void {
    this.closed = true;
    this.desk.close('The run ended before the command was approved.');
    this.open?.abort.abort();
    this.rl?.close();
    this.rl = null;
  }

  /** Ask about the oldest group when no question is open; drop a question whose group is gone. */
  private next(): void {
    const groups = this.desk.groups();
    if (this.open && !groups.some((g) => g.key === this.open?.key)) this.open.abort.abort();
    if (this.open || this.closed || groups.length === 0) return;
    const group = groups[0];
    const abort = new AbortController();
    this.open = { key: group.key, abort };
    void this.ask(group, groups.length, abort.signal).then((answer) => {
      this.open = null;
      for (const line of this.held.splice(0)) this.err(line);
      // Answering changes the desk, which opens the next question.
      if (answer) this.desk.answer(group.key, answer);
      else this.next();
    });
  }

  /** One question on the terminal; null when it was dropped (answered elsewhere, timed out, closed). */
  private async ask(group: AskGroup, waiting: number, signal: AbortSignal): Promise<DeskAnswer | null> {
    const rl = this.readline();
    this.err(questionText(group, waiting));
    try {
      for (;;) {
        const reply = (await rl.question('Allow [o]nce, allow for this [r]un, or [d]eny? ', { signal }))
          .trim()
          .toLowerCase();
        if (['o', 'once', 'y', 'yes'].includes(reply)) return { choice: 'once' };
        if (['r', 'run'].includes(reply)) return { choice: 'run' };
        if (['d', 'deny', 'n', 'no'].includes(reply)) {
          const reason = await rl.question('Reason, for the agent (Enter for none): ', { signal });
          return { choice: 'deny', reason };
        }
        this.err('Type o, r or d.');
      }
    } catch {
      // Aborted: the group was settled without this prompt (time-out, task stopped, run over).
      this.err('(that question is no longer open)');
      return null;
    }
  }

  private readline(): Interface {
    if (!this.rl) {
      this.rl = createInterface({
        input: this.terminal.input,
        output: this.terminal.output,
        terminal: this.terminal.interactive,
      });
      // Ctrl-C at a prompt stops the run, as it does anywhere else.
      this.rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
    }
    return this.rl;
  }
}

/** The question: which tasks, the exact command, the rule that asked and when it times out. */
function questionText(group: AskGroup, waiting: number): string {
  const first = group.asks[0];
  // An ask with no task is the run's own (an MCP server's pin, core/mcpTools.ts).
  const tasks = [...new Set(group.asks.map((a) => a.task ?? 'this run'))];
  const seconds = Math.max(0, Math.round((first.expiresAt - Date.now()) / 1000));
  const lines = [
    '',
    `Approval needed${waiting > 1 ? ` (${waiting} commands wait)` : ''}: ${tasks.join(', ')} ${tasks.length > 1 ? 'want' : 'wants'} to ${first.task === null ? 'use' : 'run'}`,
    `    ${visibleControls(group.command)}`,
  ];
  if (first.line.trim() !== group.command) lines.push(`  as part of: ${visibleControls(first.line)}`);
  lines.push(`  rule ${group.rule.id}: ${group.rule.why}`);
  lines.push(`  Unanswered, it is refused in ${seconds} s.`);
  return lines.join('\n');
}
