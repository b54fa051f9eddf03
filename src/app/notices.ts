/**
 * The messages the Lead panel shows the developer: the last few, each with an increasing id so
 * the panel can dismiss one. Every notice also goes to the log.
 */
import type { Notice } from '../protocol/panel';

/** How many notices are kept; older ones drop off. */
export const MAX_NOTICES = 5;

/** The panel's notices. */
export class Notices {
  private readonly items: Notice[] = [];
  private nextId = 1;

  constructor(private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void) {}

  /** Add a notice (and log it); returns its id. */
  add(kind: Notice['kind'], text: string): number {
    const id = this.nextId++;
    this.items.push({ id, kind, text });
    if (this.items.length > MAX_NOTICES) this.items.splice(0, this.items.length - MAX_NOTICES);
    this.log(kind === 'warning' ? 'warn' : kind, text);
    return id;
  }

  /** Remove one notice; false when there was none with that id. */
  dismiss(id: number): boolean {
    const at = this.items.findIndex((n) => n.id === id);
    if (at < 0) return false;
    this.items.splice(at, 1);
    return true;
  }

  /** The notices, oldest first. */
  list(): Notice[] {
    return [...this.items];
  }
}
