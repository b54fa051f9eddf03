/**
 * The approval desk: the approver of a front end where a person answers (the Lead panel, the
 * CLI's terminal). Asks wait here until the developer answers, the ask times out (a refusal), or
 * the asking task stops. Asks about the same command under the same rule are one group: with many
 * agents, the developer answers a command once, not once per agent.
 */
import { approvalKey } from './approver';
import type { ApprovalAnswer, ApprovalRequest, Approver } from './approver';
import type { PolicyRule } from './commandPolicy';

/** A developer's answer to a group of asks. A refusal's reason goes to every agent in the group. */
export type DeskAnswer = { choice: 'once' } | { choice: 'run' } | { choice: 'deny'; reason: string };

/** One ask waiting for the developer. */
export interface PendingAsk {
  id: string;
  task: string | null;
  line: string;
  /** When it was asked (the desk's clock). */
  askedAt: number;
  /** When it times out and is refused. */
  expiresAt: number;
}

/** Asks about one command under one rule, oldest first. */
export interface AskGroup {
  key: string;
  /** The simple command the rule asked about. */
  command: string;
  rule: PolicyRule;
  asks: PendingAsk[];
}

/** Options of a desk. */
export interface DeskOptions {
  /** How long an ask waits before it is refused (read at each ask when a function). */
  timeoutMs: number | (() => number);
  /** Milliseconds now; default Date.now. */
  now?: () => number;
}

interface Waiting extends PendingAsk {
  key: string;
  settle(answer: ApprovalAnswer): void;
}

const DEFAULT_REASON = 'The developer refused to run it.';

export class ApprovalDesk implements Approver {
  private readonly groupsByKey = new Map<string, { command: string; rule: PolicyRule; asks: Waiting[] }>();
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;
  private closedWith: string | null = null;
  private asked = 0;

  constructor(private readonly options: DeskOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Wait for the developer's answer to `request` (see the Approver contract). */
  approve(request: ApprovalRequest, signal?: AbortSignal): Promise<ApprovalAnswer> {
    if (this.closedWith !== null) return Promise.resolve({ approved: false, by: 'stopped', reason: this.closedWith });
    if (signal?.aborted) return Promise.resolve(stoppedAnswer());
    const id = request.id ?? `ask-${++this.asked}`;
    const timeoutMs = typeof this.options.timeoutMs === 'function' ? this.options.timeoutMs() : this.options.timeoutMs;
    return new Promise((resolve) => {
      const key = approvalKey(request.verdict);
      const askedAt = this.now();
      const timer = setTimeout(() => finish(timedOut(timeoutMs)), timeoutMs);
      const onAbort = () => finish(stoppedAnswer());
      const finish = (answer: ApprovalAnswer) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.remove(key, id)) resolve(answer);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const waiting: Waiting = {
        id,
        task: request.task,
        line: request.line,
        askedAt,
        expiresAt: askedAt + timeoutMs,
        key,
        settle: finish,
      };
      const group = this.groupsByKey.get(key);
      if (group) group.asks.push(waiting);
      else this.groupsByKey.set(key, { command: request.verdict.command, rule: request.verdict.rule, asks: [waiting] });
      this.changed();
    });
  }

  /** The asks waiting now, grouped, oldest group first. */
  groups(): AskGroup[] {
    return [...this.groupsByKey.entries()].map(([key, g]) => ({
      key,
      command: g.command,
      rule: g.rule,
      asks: g.asks.map(({ id, task, line, askedAt, expiresAt }) => ({ id, task, line, askedAt, expiresAt })),
    }));
  }

  /** How many asks wait. */
  get size(): number {
    let n = 0;
    for (const g of this.groupsByKey.values()) n += g.asks.length;
    return n;
  }

  /** Answer every ask of a group. False when the group is no longer waiting (answered or timed out). */
  answer(key: string, answer: DeskAnswer): boolean {
    const group = this.groupsByKey.get(key);
    if (!group) return false;
    const settled: ApprovalAnswer =
      answer.choice === 'deny'
        ? { approved: false, by: 'user', reason: answer.reason.trim() || DEFAULT_REASON }
        : { approved: true, by: 'user', scope: answer.choice };
    for (const ask of [...group.asks]) ask.settle(settled);
    return true;
  }

  /** Refuse everything waiting, and every later ask, with `reason` (the front end is going away). */
  close(reason: string): void {
    this.closedWith = reason;
    for (const group of [...this.groupsByKey.values()])
      for (const ask of [...group.asks]) ask.settle({ approved: false, by: 'stopped', reason });
  }

  /** Called after every change of what waits; returns a function that stops listening. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Take an ask off its group; false when it was already settled. */
  private remove(key: string, id: string): boolean {
    const group = this.groupsByKey.get(key);
    const index = group ? group.asks.findIndex((a) => a.id === id) : -1;
    if (!group || index < 0) return false;
    group.asks.splice(index, 1);
    if (group.asks.length === 0) this.groupsByKey.delete(key);
    this.changed();
    return true;
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

function stoppedAnswer(): ApprovalAnswer {
  return { approved: false, by: 'stopped', reason: 'The task was stopped while the command waited for approval.' };
}

function timedOut(ms: number): ApprovalAnswer {
  const seconds = Math.round(ms / 1000);
  return {
    approved: false,
    by: 'timeout',
    reason: `No one answered within ${seconds} s, so the command was not run. Find another way, or say in your summary which command you needed.`,
  };
}
