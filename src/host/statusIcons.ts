/** The codicon of each task status, shared by the Changes tree and the task pickers. */
import type { TaskStatus } from '../protocol/panel';

export const STATUS_ICON: Record<TaskStatus, string> = {
  queued: 'circle-outline',
  setting_up: 'loading~spin',
  working: 'sync~spin',
  verifying: 'beaker',
  verified: 'pass',
  merged: 'git-merge',
  failed: 'error',
  blocked: 'circle-slash',
  stopped: 'debug-stop',
  rejected: 'close',
  interrupted: 'debug-pause',
};
