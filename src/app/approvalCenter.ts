/**
 * Approvals in the Lead session: the desk the live run's agents ask through, answered from the
 * board's rows or from the editor's notifications. With many agents the developer is not buried:
 * asks about the same command are one group (one answer settles every agent waiting on it), at
 * most a few groups get a notification of their own, and the rest are summed up in one.
 */
import { ApprovalDesk } from '../core/approvalDesk';
import type { AskGroup, DeskAnswer } from '../core/approvalDesk';
import type { Approver } from '../core/approver';
import type { ApprovalQuestion, LeadHost } from './leadHost';

/** Groups that get a notification of their own; more wait in the panel behind one summary. */
const OWN_NOTIFICATIONS = 2;

export class ApprovalCenter {
  private readonly desk: ApprovalDesk;
  /** Open notifications by group key; aborting one tells the host its answer is no longer wanted. */
  private readonly shown = new Map<string, AbortController>();
  /** Groups whose notification the developer closed without answering: they wait in the panel. */
  private readonly dismissed = new Set<string>();
  private summary: AbortController | null = null;

  constructor(
    private readonly host: LeadHost,
    timeoutMs: () => number,
    private readonly changed: () => void,
  ) {
    this.desk = new ApprovalDesk({ timeoutMs });
    this.desk.onChange(() => {
      this.notify();
      this.changed();
    });
  }

  /** The approver the session's runs ask through. */
  get approver(): Approver {
    return this.desk;
  }

  /** The asks waiting now, grouped. */
  groups(): AskGroup[] {
    return this.desk.groups();
  }

  /** Answer a group (from the panel or a notification); false when it no longer waits. */
  answer(key: string, answer: DeskAnswer): boolean {
    return this.desk.answer(key, answer);
  }

  /** Refuse what waits and every later ask (the session is going away). */
  close(): void {
    this.desk.close('The Lead panel closed before the command was approved.');
    for (const c of this.shown.values()) c.abort();
    this.summary?.abort();
  }

  /** Keep the notifications in step with the groups that wait. */
  private notify(): void {
    const groups = this.desk.groups();
    const waiting = new Set(groups.map((g) => g.key));
    for (const [key, c] of this.shown)
      if (!waiting.has(key)) {
        c.abort();
        this.shown.delete(key);
      }
    for (const key of this.dismissed) if (!waiting.has(key)) this.dismissed.delete(key);
    const open = groups.filter((g) => !this.dismissed.has(g.key));
    for (const group of open) {
      if (this.shown.has(group.key) || this.shown.size >= OWN_NOTIFICATIONS) continue;
      this.show(group);
    }
    const unshown = open.filter((g) => !this.shown.has(g.key)).length;
    if (unshown === 0) {
      this.summary?.abort();
      this.summary = null;
    } else if (!this.summary && this.host.showApprovalSummary) {
      const c = new AbortController();
      this.summary = c;
      void this.host.showApprovalSummary(unshown, c.signal).finally(() => {
        if (this.summary === c) this.summary = null;
      });
    }
  }

  private show(group: AskGroup): void {
    if (!this.host.askApproval) return;
    const c = new AbortController();
    this.shown.set(group.key, c);
    void this.host.askApproval(questionOf(group), c.signal).then((answer) => {
      if (this.shown.get(group.key) === c) this.shown.delete(group.key);
      if (c.signal.aborted) return;
      if (answer) this.desk.answer(group.key, answer);
      else {
        this.dismissed.add(group.key);
        this.notify();
      }
    });
  }
}

/** A group as the editor's notification shows it. */
export function questionOf(group: AskGroup): ApprovalQuestion {
  const first = group.asks[0];
  return {
    tasks: [...new Set(group.asks.map((a) => a.task ?? 'this run'))],
    command: group.command,
    line: first.line,
    rule: group.rule.id,
    why: group.rule.why,
    expiresAt: first.expiresAt,
  };
}
