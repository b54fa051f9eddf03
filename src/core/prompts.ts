/**
 * The prompts of a run's agents and reviewer.
 *
 * Layout matters for cost: every agent of a run sends the same bytes first (the system message
 * below, which holds the rules, the spec, the plan and the repository view; the tool schemas in a
 * fixed order) and only then its own task. History is only ever appended to. A backend with
 * prefix caching (vLLM, SGLang, most hosted APIs) then serves the shared part from cache.
 */
import type { ChatMessage } from './model';
import type { Plan, TaskSpec } from './plan';
import { roleMarker, taskMarker } from './promptMarkers';

const AGENT_RULES = `You are one of several coding agents working in parallel on one repository. Each agent has its own git worktree and branch; yours holds only your task's work.

Rules:
- Work only through the tools. Paths are relative to the root of your worktree; nothing outside it can be read or written.
- Read before you edit. Prefer edit_file (exact replacement) for changes to existing files; use write_file for new files.
- Keep to your task: other agents handle the other tasks of the plan. Do not edit files another task owns unless your instructions say so.
- Do not commit, branch, push or rewrite history: Foreman commits your work when you finish.
- run_command judges every command in a line: deleting recursively, rewriting history, pushing, writing inside .git or using sudo is refused; using the network, writing outside your worktree, running code given inline to an interpreter or commands built from variables need the developer's approval. A line that is refused or not approved does not run at all.
- Before you finish, run the project's checks that apply (tests, type checks) with run_command and make them pass.
- When every acceptance criterion holds, call finish with a short summary of what you changed and how you checked it.`;

/**
 * The system message every agent of a run shares, byte for byte. It depends only on the plan and
 * the repository view, which are fixed for the run.
 */
export function agentSystemPrompt(plan: Plan, repoView: string): string {
  const tasks = plan.tasks
    .map((t) => `- ${t.id}: ${t.title}${t.dependsOn.length ? ` (after ${t.dependsOn.join(', ')})` : ''}`)
    .join('\n');
  return [
    roleMarker('agent'),
    AGENT_RULES,
    `## The spec\n${plan.spec.trim()}`,
    `## The plan (every agent's task)\n${tasks}`,
    `## The repository\n${repoView.trim()}`,
  ].join('\n\n');
}

/** The first message specific to one task: what to do and how it will be judged. */
export function taskPrompt(task: TaskSpec, startedFrom: string): string {
  const list = (items: string[]) => (items.length ? items.map((i) => `- ${i}`).join('\n') : '- (none given)');
  return [
    taskMarker(task.id),
    `## Your task: ${task.title}`,
    task.instructions.trim(),
    `### Acceptance criteria\n${list(task.acceptance)}`,
    `### Files you are expected to touch\n${list(task.files)}`,
    `Your worktree starts from ${startedFrom}.`,
  ].join('\n\n');
}

/** The opening messages of a task's conversation. */
export function openingMessages(plan: Plan, repoView: string, task: TaskSpec, startedFrom: string): ChatMessage[] {
  return [
    { role: 'system', content: agentSystemPrompt(plan, repoView) },
    { role: 'user', content: taskPrompt(task, startedFrom) },
  ];
}

/** Sent when the model answers with text but no tool call. */
export const NUDGE_USE_TOOLS =
  'Continue with tool calls. When every acceptance criterion holds, call finish with a summary.';

/** Sent back to the agent when verification failed. */
export function repairPrompt(round: number, maxRounds: number, failure: string): string {
  return `Verification failed (repair round ${round} of ${maxRounds}). Fix the cause, run the check yourself, then call finish again.\n\n${failure}`;
}

/** Sent back to the agent with a reviewer's or the developer's comments. */
export function changesRequestedPrompt(source: 'reviewer' | 'developer', comments: string): string {
  const who = source === 'reviewer' ? 'The reviewer' : 'The developer';
  return `${who} asked for changes before this task can be merged:\n\n${comments.trim()}\n\nMake the changes, check them, then call finish again.`;
}

/** Sent when a run resumes a task whose conversation was cut off. */
export const RESUMED_NOTE =
  'Foreman was interrupted and has resumed this task. Your worktree holds the work done so far; check its state (files may be partly written) before you continue.';

/** The reviewer's system prompt. */
export function reviewerSystemPrompt(): string {
  return `${roleMarker('reviewer')}
You review one task's change before it is merged. Judge only whether the change does what the task asks and meets every acceptance criterion, without obvious bugs, leftover debugging or unrelated edits. The project's automated checks have already passed.
Answer with JSON: {"approved": boolean, "comments": string}. When not approved, the comments must say exactly what to change.`;
}

/** The reviewer's user message: the task and its diff. */
export function reviewRequest(task: TaskSpec, diff: string, summary: string): string {
  const criteria = task.acceptance.map((a) => `- ${a}`).join('\n') || '- (none given)';
  return `Task ${task.id}: ${task.title}\n\n${task.instructions}\n\nAcceptance criteria:\n${criteria}\n\nThe agent's summary: ${summary}\n\nThe diff:\n${diff}`;
}
