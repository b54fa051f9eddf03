/**
 * Validation of a planner's raw answer into a `Plan`, and queries over a validated task graph.
 * Every error is a sentence that names the task and says what to change, because errors are shown
 * to people and sent back to the model in a repair turn.
 */
import path from 'node:path';
import type { z } from 'zod';
import type { Plan, PlanWarning, TaskSpec } from './plan';
import { rawPlanSchema, type RawTask } from './planSchema';
import { INTEGRATION_ID } from './branches';

/** The default cap on the number of tasks in a plan. */
export const DEFAULT_MAX_TASKS = 50;

/** Result of `validatePlan`: a plan, or every problem found (never only the first). */
export type PlanValidation = { ok: true; plan: Plan } | { ok: false; errors: string[] };

/**
 * Validate a raw planner answer (`{ tasks: [...] }`) and build a `Plan` for `spec`.
 * Checks, in order: the shape (zod), the task count (1..maxTasks), file paths (normalised to
 * posix, no leading `./`; absolute or `..` paths are errors), unique ids, known dependencies, no
 * self-dependency, no cycles. When all pass, adds an 'overlap' warning for tasks that may edit the
 * same files in parallel. Never throws for bad input.
 */
export function validatePlan(raw: unknown, spec: string, opts?: { maxTasks?: number }): PlanValidation {
  const parsed = rawPlanSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: describeIssues(parsed.error.issues, raw) };
  const maxTasks = opts?.maxTasks ?? DEFAULT_MAX_TASKS;
  const errors: string[] = [];
  const count = parsed.data.tasks.length;
  if (count === 0) errors.push('The plan has no tasks; add at least one task.');
  if (count > maxTasks) {
    errors.push(`The plan has ${count} tasks but at most ${maxTasks} are allowed; merge small related tasks.`);
  }
  const tasks = parsed.data.tasks.map((t) => normaliseTask(t, errors));
  errors.push(...idErrors(tasks), ...dependencyErrors(tasks));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, plan: { version: 1, spec, tasks, warnings: overlapWarnings(tasks) } };
}

/**
 * The task ids in an order in which each task comes after all its dependencies. Stable: among the
 * tasks that are ready at a point, plan order wins. Throws when the plan has a cycle (a validated
 * plan never has one).
 */
export function topologicalOrder(plan: Plan): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < plan.tasks.length) {
    const next = plan.tasks.find((t) => !done.has(t.id) && t.dependsOn.every((d) => done.has(d)));
    if (!next) throw new Error('topologicalOrder: the plan has a dependency cycle or an unknown dependency');
    done.add(next.id);
    order.push(next.id);
  }
  return order;
}

/** The ids of every task that depends on `id` directly or transitively, in plan order. */
export function dependentsOf(plan: Plan, id: string): string[] {
  const found = new Set<string>([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of plan.tasks) {
      if (!found.has(t.id) && t.dependsOn.some((d) => found.has(d))) {
        found.add(t.id);
        grew = true;
      }
    }
  }
  return plan.tasks.filter((t) => t.id !== id && found.has(t.id)).map((t) => t.id);
}

// ---------------------------------------------------------------------------------------------
// Shape errors

function describeIssues(issues: z.core.$ZodIssue[], raw: unknown): string[] {
  return issues.map((issue) => {
    const where = issuePlace(issue.path, raw);
    const field = issue.path.slice(2).map(String).join('.');
    const problem = issueProblem(issue);
    if (issue.path.length <= 1)
      return `The plan ${where ? `field "${where}" ` : ''}${problem}; it must be an object { "tasks": [...] }.`;
    if (issue.path.length === 2)
      return `${where} ${problem}; each task must be an object with id, title, instructions, acceptance, files and dependsOn.`;
    return `${where}: field "${field}" ${problem}.`;
  });
}

/** "Task "x" (tasks[2])" when the raw task has a string id, else "tasks[2]". */
function issuePlace(issuePath: PropertyKey[], raw: unknown): string {
  if (issuePath.length < 2 || typeof issuePath[1] !== 'number') return issuePath.map(String).join('.');
  const index = issuePath[1];
  const tasks = (raw as { tasks?: unknown })?.tasks;
  const task = Array.isArray(tasks) ? (tasks[index] as { id?: unknown } | undefined) : undefined;
  const id = task && typeof task === 'object' && typeof task.id === 'string' ? task.id : null;
  return id !== null ? `Task ${JSON.stringify(id)} (tasks[${index}])` : `tasks[${index}]`;
}

function issueProblem(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    const received = /received (\w+)/.exec(issue.message)?.[1];
    if (received === 'undefined') return `is missing (expected ${issue.expected})`;
    return `must be ${article(issue.expected)}${received ? `, not ${article(received)}` : ''}`;
  }
  return issue.message;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

// ---------------------------------------------------------------------------------------------
// Normalisation

function normaliseTask(t: RawTask, errors: string[]): TaskSpec {
  const files: string[] = [];
  for (const file of t.files) {
    const result = normaliseFilePath(file);
    if (!result.ok) errors.push(`Task "${t.id}": file path ${JSON.stringify(file)} ${result.problem}.`);
    else if (!files.includes(result.path)) files.push(result.path);
  }
  return {
    id: t.id,
    title: t.title,
    instructions: t.instructions,
    acceptance: t.acceptance,
    files,
    dependsOn: [...new Set(t.dependsOn)],
  };
}

type PathResult = { ok: true; path: string } | { ok: false; problem: string };

/** Repository-relative posix path: backslashes become slashes, `./` and trailing `/` go. */
function normaliseFilePath(input: string): PathResult {
  const trimmed = input.trim().replace(/\\/g, '/');
  if (trimmed === '') return { ok: false, problem: 'is empty; give a repository-relative path' };
  if (trimmed.startsWith('/') || /^[A-Za-z]:/.test(trimmed)) {
    return { ok: false, problem: 'is absolute; give a path relative to the repository root' };
  }
  if (trimmed.split('/').includes('..')) {
    return { ok: false, problem: 'contains ".."; give a path inside the repository, relative to its root' };
  }
  const normal = path.posix.normalize(trimmed).replace(/\/+$/, '');
  if (normal === '.' || normal === '')
    return { ok: false, problem: 'names the repository root; name files or directories inside it' };
  return { ok: true, path: normal };
}

// ---------------------------------------------------------------------------------------------
// Graph errors

/** Ids Foreman uses itself: `foreman/<run>/integration` is the integration branch. */
const RESERVED_IDS = new Set([INTEGRATION_ID]);

function idErrors(tasks: TaskSpec[]): string[] {
  const positions = new Map<string, number[]>();
  tasks.forEach((t, i) => positions.set(t.id, [...(positions.get(t.id) ?? []), i]));
  const errors: string[] = [];
  for (const [id, at] of positions) {
    if (RESERVED_IDS.has(id))
      errors.push(`Task id "${id}" is reserved for Foreman's integration branch; rename the task.`);
    if (at.length > 1) {
      const where = at.map((i) => `tasks[${i}]`).join(', ');
      errors.push(`Task id "${id}" is used by ${at.length} tasks (${where}); give each task a unique id.`);
    }
  }
  return errors;
}

function dependencyErrors(tasks: TaskSpec[]): string[] {
  const ids = new Set(tasks.map((t) => t.id));
  const errors: string[] = [];
  for (const t of tasks) {
    for (const d of t.dependsOn) {
      if (d === t.id) errors.push(`Task "${t.id}" depends on itself; remove "${t.id}" from its dependsOn.`);
      else if (!ids.has(d)) {
        errors.push(
          `Task "${t.id}" depends on "${d}", which is not a task in the plan; use an existing task id or remove the dependency.`,
        );
      }
    }
  }
  for (const cycle of findCycles(tasks)) {
    errors.push(
      `Tasks form a dependency cycle: ${cycle.join(' → ')}; remove one of these dependencies so the work can start.`,
    );
  }
  return errors;
}

/**
 * Each distinct cycle among known, non-self dependencies, as ids with the first repeated at the
 * end ("a → b → a"). Depth-first search; a cycle is reported once whichever task it is found from.
 */
function findCycles(tasks: TaskSpec[]): string[][] {
  const deps = new Map(tasks.map((t) => [t.id, t.dependsOn] as const));
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const seen = new Set<string>();
  const cycles: string[][] = [];
  const visit = (id: string): void => {
    state.set(id, 'active');
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      if (d === id || !deps.has(d)) continue; // reported as self or unknown dependency
      if (state.get(d) === 'active') {
        const cycle = stack.slice(stack.indexOf(d));
        const key = [...cycle].sort().join(' ');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...cycle, d]);
        }
      } else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const t of tasks) if (!state.has(t.id)) visit(t.id);
  return cycles;
}

// ---------------------------------------------------------------------------------------------
// Overlap warnings

/** For each task, every task it depends on directly or transitively. Assumes an acyclic graph. */
function ancestorSets(tasks: TaskSpec[]): Map<string, Set<string>> {
  const byId = new Map(tasks.map((t) => [t.id, t] as const));
  const memo = new Map<string, Set<string>>();
  const ancestors = (id: string): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const set = new Set<string>();
    for (const d of byId.get(id)?.dependsOn ?? []) {
      set.add(d);
      for (const a of ancestors(d)) set.add(a);
    }
    memo.set(id, set);
    return set;
  };
  for (const t of tasks) ancestors(t.id);
  return memo;
}

/** The paths through which two file lists overlap: equal paths, or a directory and a path in it. */
function sharedPaths(a: string[], b: string[]): string[] {
  const shared = new Set<string>();
  for (const x of a) {
    for (const y of b) {
      if (x === y || y.startsWith(`${x}/`)) shared.add(x);
      else if (x.startsWith(`${y}/`)) shared.add(y);
    }
  }
  return [...shared];
}

/**
 * Warnings for tasks that may edit the same files at the same time. A pair where one task depends
 * on the other, even transitively, is skipped: the later one starts from the merged result of the
 * earlier, so their edits are serialised and cannot conflict at merge time. Tasks are grouped per
 * shared path (every task in a group runs in parallel with at least one other in it), and paths
 * shared by the same group are reported together.
 */
function overlapWarnings(tasks: TaskSpec[]): PlanWarning[] {
  const ancestors = ancestorSets(tasks);
  const ordered = (a: string, b: string) => ancestors.get(a)?.has(b) || ancestors.get(b)?.has(a);
  const groups = new Map<string, Set<string>>();
  for (let i = 0; i < tasks.length; i++) {
    for (let j = i + 1; j < tasks.length; j++) {
      if (ordered(tasks[i].id, tasks[j].id)) continue;
      for (const p of sharedPaths(tasks[i].files, tasks[j].files)) {
        const group = groups.get(p) ?? new Set<string>();
        group.add(tasks[i].id).add(tasks[j].id);
        groups.set(p, group);
      }
    }
  }
  const planOrder = tasks.map((t) => t.id);
  const byGroup = new Map<string, { tasks: string[]; files: string[] }>();
  for (const p of [...groups.keys()].sort()) {
    const members = planOrder.filter((id) => groups.get(p)?.has(id));
    const key = members.join(' ');
    const entry = byGroup.get(key) ?? { tasks: members, files: [] };
    entry.files.push(p);
    byGroup.set(key, entry);
  }
  return [...byGroup.values()].map(({ tasks: ids, files }) => ({
    kind: 'overlap',
    tasks: ids,
    files,
    message:
      `Tasks ${listWords(ids.map((id) => `"${id}"`))} may edit ${files.length === 1 ? 'the same file' : 'the same files'} ` +
      `(${files.join(', ')}) in parallel, so their changes may conflict at merge; ` +
      'make one depend on the other or give the shared files to one task.',
  }));
}

function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
