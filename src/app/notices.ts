/**
 * What happened, for the developer: a log of the last few dozen notices, each with an increasing
 * id and the time it happened. The panel shows the latest as one line and the rest on demand;
 * dismissing the line marks everything up to it as seen, and the log keeps it. A notice that says
 * again exactly what the latest says (the same run coming to rest twice, say) does not add a line
 * to the log: the latest is brought back instead, with a new id and time. Every notice also goes
 * to the log channel.
 */
import type { Notice } from '../protocol/panel';

/** How many notices the log keeps; older ones drop off. */
export const MAX_NOTICES = 30;

/** What a notice is about, besides its words. */
export interface NoticeSubject {
  /** The run it is about. */
  runId?: string | null;
  /** It says how that run ended. */
  outcome?: boolean;
}

/** The panel's notices. */
export class Notices {
  private readonly items: Notice[] = [];
  private nextId = 1;
  private seenUpTo = 0;

  constructor(
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Add a notice (and log it); returns its id. */
  add(kind: Notice['kind'], text: string, subject: NoticeSubject = {}): number {
    const id = this.nextId++;
    const notice: Notice = {
      id,
      kind,
      text,
      at: this.now(),
      runId: subject.runId ?? null,
      outcome: subject.outcome ?? false,
    };
    const latest = this.items.at(-1);
    if (latest && latest.kind === kind && latest.text === text && latest.runId === notice.runId) this.items.pop();
    this.items.push(notice);
    if (this.items.length > MAX_NOTICES) this.items.splice(0, this.items.length - MAX_NOTICES);
    this.log(kind === 'warning' ? 'warn' : kind, text);
    return id;
  }

  /** The developer dismissed the line showing notice `id`: it and everything before are seen. False when nothing changed. */
  dismiss(id: number): boolean {
    const upTo = Math.min(id, this.nextId - 1);
    if (upTo <= this.seenUpTo) return false;
    this.seenUpTo = upTo;
    return true;
  }

  /** The id up to which the developer dismissed the line (0 for none). */
  get seen(): number {
    return this.seenUpTo;
  }

  /** The log, oldest first. */
  list(): Notice[] {
    return [...this.items];
  }
}
