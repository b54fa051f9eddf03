/**
 * Plain-text markers Foreman puts in its prompts so that a scripted backend (the project's test
 * and demo server) can tell who is asking without parsing prose. Real models ignore them.
 *
 * - The system prompt of each role starts with `roleMarker(role)`.
 * - An agent's first task-specific user message contains `taskMarker(taskId)` on a line of its own.
 * The step of a conversation is the number of assistant messages already in it.
 */
import type { RequestRole } from './journal';

export function roleMarker(role: RequestRole): string {
  return `[foreman:${role}]`;
}

export function taskMarker(taskId: string): string {
  return `[foreman:task=${taskId}]`;
}

const ROLE_RE = /\[foreman:(planner|agent|reviewer)\]/;
const TASK_RE = /\[foreman:task=([a-z0-9][a-z0-9-]*)\]/;

/** Find the role marker in a text, or null. */
export function findRole(text: string): RequestRole | null {
  const m = ROLE_RE.exec(text);
  return m ? (m[1] as RequestRole) : null;
}

/** Find the task marker in a text, or null. */
export function findTask(text: string): string | null {
  const m = TASK_RE.exec(text);
  return m ? m[1] : null;
}
