/**
 * Looking back at a run from its journal, for `foreman diff` and `foreman transcript`: which two
 * commits a task's (or the integration branch's) changes lie between, git's diff of them, and a
 * task's conversation. The same pairs of commits as the Lead panel's Changes view: a task from the
 * commit its worktree started from to its latest commit, the integration branch from the run's
 * base. Unknown runs and tasks are SettingsErrors that say what there is.
 */
import { join } from 'node:path';
import { INTEGRATION_ID, integrationBranch } from '../core/branches';
import type { ChatMessage } from '../core/model';
import { reduceJournal } from '../core/runState';
import type { RunState, TaskState } from '../core/runState';
import { runGit } from '../infra/gitExec';
import { resolveCommit } from '../infra/gitShow';
import { readTranscript } from '../infra/transcriptFile';
import { SettingsError } from './settings';
import { loadRun, runDir } from './workspace';
import type { Workspace } from './workspace';

/** A run read back from its journal. */
export interface RunLookBack {
  state: RunState;
  /** Why the journal's last line was ignored, when it was torn. */
  torn: string | null;
}

/** Read a run's state from its journal; a SettingsError names the runs there are when it does not exist. */
export async function lookBack(ws: Workspace, runId: string): Promise<RunLookBack> {
  const { events, torn } = await loadRun(ws, runId);
  return { state: reduceJournal(events), torn };
}

/** A task of the run; a SettingsError listing the run's tasks when there is none by that id. */
export function taskOf(state: RunState, taskId: string): TaskState {
  const task = state.tasks.get(taskId);
  if (task) return task;
  const ids = [...state.tasks.keys()];
  if (taskId === INTEGRATION_ID)
    throw new SettingsError(
      `the integration branch of run ${state.runId} is not a task and has no conversation; name one of its tasks: ${ids.join(', ')}`,
    );
  throw new SettingsError(
    `run ${state.runId} has no task "${taskId}"; ${ids.length ? `its tasks are ${ids.join(', ')}` : 'it has no tasks yet'}`,
  );
}

/** The two commits whose diff shows the changes, or why there are none to show yet. */
export type DiffRange = { from: string; to: string; what: string } | { none: string };

/**
 * The changes of a task of the run (`taskId`), or of its integration branch (null): from the
 * commit the task's worktree started from (the base for a task with no dependencies) to its latest
 * commit, or from the run's base to the integration branch's head.
 */
export async function diffRange(ws: Workspace, state: RunState, taskId: string | null): Promise<DiffRange> {
  const base = state.base;
  if (base === null) return { none: `Run ${state.runId} has no base commit yet: it never started.` };
  if (taskId !== null) {
    const task = taskOf(state, taskId);
    if (task.commit === null)
      return { none: `Task ${taskId} of run ${state.runId} has no commit yet (${task.status}).` };
    const from = task.from ?? base;
    return { from, to: task.commit, what: `task ${taskId} of run ${state.runId}` };
  }
  const head = await resolveCommit(ws.repo.root, integrationBranch(state.runId));
  if (head === null)
    return {
      none: `Run ${state.runId} has no integration branch (${integrationBranch(state.runId)}): it merged nothing, or its branches were removed (foreman clean --branches).`,
    };
  if (head === base) return { none: `Nothing is merged into run ${state.runId}'s integration branch yet.` };
  return { from: base, to: head, what: `run ${state.runId}'s integration branch` };
}

/** How to show a diff. */
export interface DiffOptions {
  /** `--stat`: the changed files with counts instead of the patch. */
  stat: boolean;
  /** Colour it as git does for a terminal. */
  color: boolean;
}

/**
 * git's diff between the range's commits, as text. It runs no program the repository configures
 * (no external diff, no textconv; see infra/gitExec.ts); renames are found whatever the
 * configuration says, and paths are written as they are.
 */
export async function diffText(ws: Workspace, range: { from: string; to: string }, opts: DiffOptions): Promise<string> {
  const args = ['-c', 'core.quotePath=false', 'diff', '--no-ext-diff', '--no-textconv', '--find-renames'];
  args.push(opts.color ? '--color=always' : '--color=never');
  if (opts.stat) args.push('--stat');
  args.push('--end-of-options', range.from, range.to, '--');
  const out = await runGit(ws.repo.root, args);
  if (out.exitCode !== 0) {
    throw new SettingsError(
      `git could not compare ${range.from.slice(0, 10)} with ${range.to.slice(0, 10)} (${out.stderr.trim().split('\n')[0] || `exit ${out.exitCode}`}): the commits may be gone from the repository`,
    );
  }
  return out.stdout;
}

/**
 * A task's conversation as kept beside the run's journal (empty before its agent started); a
 * SettingsError when the run has no such task, so no other id ever reaches the file system.
 */
export function taskConversation(ws: Workspace, state: RunState, taskId: string): Promise<ChatMessage[]> {
  const task = taskOf(state, taskId);
  return readTranscript(join(runDir(ws, state.runId), 'transcripts', `${task.id}.jsonl`));
}
