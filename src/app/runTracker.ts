/**
 * What the panel needs to know about a run beyond its folded state: when each task last changed
 * status (to stop its clock), a version per task (so unchanged board rows are reused), and the
 * run's token rates. Fed with every journal event, live or read back from a journal.
 */
import type { JournalEvent } from '../core/journal';
import { RateMeter } from './rateMeter';
import { TelemetryTracker } from './telemetryView';

/** Event-derived facts of one run, for the board. */
export class RunTracker {
  readonly meter: RateMeter;
  /** The backends' readings and the run's energy (the Backends section). */
  readonly telemetry = new TelemetryTracker();
  private readonly statusAt = new Map<string, number>();
  private readonly versions = new Map<string, number>();
  /** Bumped by events that change every row (a new plan). */
  private epoch = 0;

  constructor(meter: RateMeter = new RateMeter()) {
    this.meter = meter;
  }

  /** Take one event into account. O(1) apart from the rate meter's pruning. */
  observe(event: JournalEvent): void {
    this.telemetry.observe(event);
    if (event.type === 'plan') {
      this.epoch += 1;
      return;
    }
    if (event.type === 'model_request' && event.usage) {
      this.meter.record(event.taskId, event.t, event.usage, event.timing);
    }
    if (event.type === 'task_status') this.statusAt.set(event.taskId, event.t);
    const taskId = 'taskId' in event ? event.taskId : null;
    if (typeof taskId === 'string') this.versions.set(taskId, (this.versions.get(taskId) ?? 0) + 1);
  }

  /** Take a whole journal into account. */
  observeAll(events: Iterable<JournalEvent>): void {
    for (const e of events) this.observe(e);
  }

  /** When the task last changed status, or undefined when it never did. */
  lastStatusAt(taskId: string): number | undefined {
    return this.statusAt.get(taskId);
  }

  /** A key that changes whenever anything about the task (or the plan) changes. */
  rowKey(taskId: string): string {
    return `${this.epoch}:${this.versions.get(taskId) ?? 0}`;
  }
}
