/**
 * How task and run statuses read in the panel: a word (status is always told in text, never by
 * colour alone), a codicon, and a tone the stylesheet maps to theme colours. Pure data.
 */
import type { RunStatus, TaskStatus } from '../protocol/panel';

/** The stylesheet's colour families (`tone-<name>` classes in media/panel.css). */
export type Tone = 'active' | 'ok' | 'error' | 'warning' | 'muted';

/** How one status looks. `spin` marks an icon that turns while work goes on. */
export interface StatusLook {
  label: string;
  icon: string;
  spin: boolean;
  tone: Tone;
}

/** Every task status, in the order the board counts them. */
export const TASK_STATUS_LOOK: Readonly<Record<TaskStatus, StatusLook>> = {
  working: { label: 'Working', icon: 'loading', spin: true, tone: 'active' },
  setting_up: { label: 'Setting up', icon: 'gear', spin: true, tone: 'active' },
  verifying: { label: 'Verifying', icon: 'sync', spin: true, tone: 'active' },
  queued: { label: 'Queued', icon: 'clock', spin: false, tone: 'muted' },
  verified: { label: 'Verified', icon: 'pass', spin: false, tone: 'ok' },
  merged: { label: 'Merged', icon: 'git-merge', spin: false, tone: 'ok' },
  failed: { label: 'Failed', icon: 'error', spin: false, tone: 'error' },
  blocked: { label: 'Blocked', icon: 'circle-slash', spin: false, tone: 'warning' },
  interrupted: { label: 'Interrupted', icon: 'debug-pause', spin: false, tone: 'warning' },
  stopped: { label: 'Stopped', icon: 'debug-stop', spin: false, tone: 'muted' },
  rejected: { label: 'Rejected', icon: 'close', spin: false, tone: 'muted' },
};

/** Every run status. */
export const RUN_STATUS_LOOK: Readonly<Record<RunStatus, StatusLook>> = {
  running: { label: 'Running', icon: 'loading', spin: true, tone: 'active' },
  review: { label: 'Waiting for review', icon: 'eye', spin: false, tone: 'warning' },
  completed: { label: 'Completed', icon: 'pass', spin: false, tone: 'ok' },
  failed: { label: 'Failed', icon: 'error', spin: false, tone: 'error' },
  stopped: { label: 'Stopped', icon: 'debug-stop', spin: false, tone: 'muted' },
  budget: { label: 'Budget reached', icon: 'warning', spin: false, tone: 'warning' },
  interrupted: { label: 'Interrupted', icon: 'debug-pause', spin: false, tone: 'warning' },
  applied: { label: 'Applied', icon: 'git-commit', spin: false, tone: 'ok' },
};

/**
 * Statuses whose elapsed time still grows (the agent or its checks are at work): core's
 * ACTIVE_TASK_STATUSES, which the webview may not import; test/unit/statusSets.test.ts keeps the
 * two equal.
 */
const TICKING: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['setting_up', 'working', 'verifying']);

/** Whether a task in this status is at work, so its elapsed time moves between updates. */
export function isTicking(status: TaskStatus): boolean {
  return TICKING.has(status);
}

/** Task statuses in display order, for counts. */
export const TASK_STATUS_ORDER = Object.keys(TASK_STATUS_LOOK) as TaskStatus[];

/** The look of a status the protocol may grow later: unknown names read as themselves, muted. */
export function taskLook(status: string): StatusLook {
  return (
    (TASK_STATUS_LOOK as Record<string, StatusLook | undefined>)[status] ?? {
      label: status,
      icon: 'circle-outline',
      spin: false,
      tone: 'muted',
    }
  );
}
