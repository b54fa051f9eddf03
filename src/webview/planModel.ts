/**
 * Plan review without a DOM: the order cards are shown in, the drafts behind the edit forms, and
 * the whole edited task list that `plan/edit` sends. The host validates every edit again (cycles,
 * unknown dependencies, blank titles); these checks only catch what the form can say at once.
 */
import { INTEGRATION_ID } from '../protocol/panel';
import type { PlanTask, PlanView } from '../protocol/panel';

/** A task as its edit form holds it: lists as one-per-line text, dependencies as ids. */
export interface TaskDraft {
  id: string;
  title: string;
  instructions: string;
  acceptance: string;
  files: string;
  dependsOn: string[];
}

/**
 * Tasks in dependency order: each after the tasks it depends on, otherwise in the planner's order.
 * Tasks caught in a cycle or waiting on an unknown id come last, in the planner's order, so every
 * task is shown exactly once even when the plan is invalid.
 */
export function dependencyOrder(tasks: readonly PlanTask[]): PlanTask[] {
  const placed = new Set<string>();
  const out: PlanTask[] = [];
  let progress = true;
  while (progress) {
    progress = false;
    for (const t of tasks) {
      if (placed.has(t.id)) continue;
      if (t.dependsOn.every((d) => placed.has(d))) {
        placed.add(t.id);
        out.push(t);
        progress = true;
        break;
      }
    }
  }
  for (const t of tasks) if (!placed.has(t.id)) out.push(t);
  return out;
}

/** The non-blank lines of a text area, trimmed. */
export function linesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** The form's draft of a task. */
export function draftOf(task: PlanTask): TaskDraft {
  return {
    id: task.id,
    title: task.title,
    instructions: task.instructions,
    acceptance: task.acceptance.join('\n'),
    files: task.files.join('\n'),
    dependsOn: [...task.dependsOn],
  };
}

/** The task a draft stands for (trimmed title and id, list fields split by line). */
export function taskOfDraft(draft: TaskDraft): PlanTask {
  return {
    id: draft.id.trim(),
    title: draft.title.trim(),
    instructions: draft.instructions.trim(),
    acceptance: linesOf(draft.acceptance),
    files: linesOf(draft.files),
    dependsOn: [...new Set(draft.dependsOn)],
  };
}

/** The plan's task list with task `id` replaced by `task`; dependencies on it follow a new id. */
export function replaceTask(tasks: readonly PlanTask[], id: string, task: PlanTask): PlanTask[] {
  return tasks.map((t) => {
    if (t.id === id) return task;
    if (task.id === id || !t.dependsOn.includes(id)) return t;
    return { ...t, dependsOn: t.dependsOn.map((d) => (d === id ? task.id : d)) };
  });
}

/** The plan's task list without task `id`, and without dependencies on it. */
export function removeTask(tasks: readonly PlanTask[], id: string): PlanTask[] {
  return tasks
    .filter((t) => t.id !== id)
    .map((t) => (t.dependsOn.includes(id) ? { ...t, dependsOn: t.dependsOn.filter((d) => d !== id) } : t));
}

/** Ids the planner would accept: lowercase letters, digits and dashes. */
export const TASK_ID_PATTERN = /^[a-z0-9-]+$/;

/** Why `id` cannot name a new task, or null when it can. */
export function newIdProblem(id: string, tasks: readonly PlanTask[]): string | null {
  const t = id.trim();
  if (t === '') return 'Give the task an id.';
  if (!TASK_ID_PATTERN.test(t)) return 'Ids use lowercase letters, digits and dashes only.';
  if (t === INTEGRATION_ID) return `"${INTEGRATION_ID}" names the integration branch; choose another id.`;
  if (tasks.some((x) => x.id === t)) return `A task "${t}" already exists.`;
  return null;
}

/** Why a draft cannot be saved as it stands, or null. */
export function draftProblem(draft: TaskDraft): string | null {
  if (draft.title.trim() === '') return 'Give the task a title.';
  if (draft.instructions.trim() === '') return 'Tell the agent what to do (instructions).';
  return null;
}

/** The first free id of the form task-N. */
export function suggestId(tasks: readonly PlanTask[]): string {
  const taken = new Set(tasks.map((t) => t.id));
  let n = tasks.length + 1;
  while (taken.has(`task-${n}`)) n++;
  return `task-${n}`;
}

/** An empty draft for the "Add task" form. */
export function emptyDraft(tasks: readonly PlanTask[]): TaskDraft {
  return { id: suggestId(tasks), title: '', instructions: '', acceptance: '', files: '', dependsOn: [] };
}

type Warning = PlanView['warnings'][number];

/** The warnings that mention task `id`. */
export function warningsFor(id: string, warnings: readonly Warning[]): Warning[] {
  return warnings.filter((w) => w.tasks.includes(id));
}

/** Warnings that mention no task of the plan (shown above the cards so none is lost). */
export function unattachedWarnings(warnings: readonly Warning[], tasks: readonly PlanTask[]): Warning[] {
  const ids = new Set(tasks.map((t) => t.id));
  return warnings.filter((w) => !w.tasks.some((t) => ids.has(t)));
}
