/**
 * Foreman's git worktrees: one per task on branch `foreman/<runId>/<taskId>`, kept under a
 * worktree root outside the developer's workspace. These functions do not serialise themselves;
 * the adapter (gitRepo.ts) runs them one at a time.
 */
import { existsSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ForemanWorktree } from '../core/repoPort';
import { gitOk, runGit } from './gitExec';

/** One entry of `git worktree list --porcelain`. */
export interface WorktreeEntry {
  path: string;
  head: string | null;
  /** Full ref name (`refs/heads/...`), or null when detached or bare. */
  branch: string | null;
}

const FOREMAN_BRANCH = /^refs\/heads\/foreman\/([^/]+)\/([^/]+)$/;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The branch of a task's worktree: `foreman/<runId>/<taskId>`. */
export function taskBranch(runId: string, taskId: string): string {
  for (const id of [runId, taskId]) {
    if (!SAFE_ID.test(id) || id.includes('..') || id.endsWith('.lock') || id.endsWith('.')) {
      throw new Error(`Invalid run or task id for a branch name: ${JSON.stringify(id)}`);
    }
  }
  return `foreman/${runId}/${taskId}`;
}

/** Parse `git worktree list --porcelain` output (paths containing newlines are not supported). */
export function parseWorktreeList(text: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    let entry: WorktreeEntry | null = null;
    for (const line of block.split('\n')) {
      if (line.startsWith('worktree ')) entry = { path: line.slice('worktree '.length), head: null, branch: null };
      else if (entry && line.startsWith('HEAD ')) entry.head = line.slice('HEAD '.length);
      else if (entry && line.startsWith('branch ')) entry.branch = line.slice('branch '.length);
    }
    if (entry) entries.push(entry);
  }
  return entries;
}

/** Every worktree git knows of, after pruning the ones whose directory was deleted by hand. */
export async function allWorktrees(root: string, signal?: AbortSignal): Promise<WorktreeEntry[]> {
  await gitOk(root, ['worktree', 'prune'], { signal });
  return parseWorktreeList(await gitOk(root, ['worktree', 'list', '--porcelain'], { signal }));
}

/**
 * What git knew of the worktrees and of Foreman's branches at one moment, so that adding many
 * task worktrees does not prune and list again for each one. The adapter keeps it up to date as it
 * adds worktrees and drops it whenever anything else changes them.
 */
export interface WorktreeSnapshot {
  entries: WorktreeEntry[];
  /** Full ref names of the local branches under `refs/heads/foreman/`. */
  branches: Set<string>;
  /** When it was taken (ms, Date.now()). */
  takenAt: number;
}

/** Prune, then list the worktrees and Foreman's branches: three git processes, once. */
export async function takeWorktreeSnapshot(root: string, signal?: AbortSignal): Promise<WorktreeSnapshot> {
  const entries = await allWorktrees(root, signal);
  const refs = await gitOk(root, ['for-each-ref', '--format=%(refname)', 'refs/heads/foreman/'], { signal });
  const branches = new Set(refs.split('\n').filter((line) => line.length > 0));
  return { entries, branches, takenAt: Date.now() };
}

/**
 * Foreman's worktrees: those on a `foreman/<runId>/<taskId>` branch, except the main worktree and
 * the developer's own checkout (`root`), even when they have such a branch checked out.
 */
export async function foremanWorktrees(root: string, signal?: AbortSignal): Promise<ForemanWorktree[]> {
  const out: ForemanWorktree[] = [];
  const entries = await allWorktrees(root, signal);
  for (const entry of entries) {
    if (entry === entries[0] || entry.path === root) continue;
    const match = entry.branch ? FOREMAN_BRANCH.exec(entry.branch) : null;
    if (match && entry.branch) {
      out.push({
        path: entry.path,
        branch: entry.branch.slice('refs/heads/'.length),
        runId: match[1],
        taskId: match[2],
      });
    }
  }
  return out;
}

/** The commit a local branch points at, or null when there is no such branch. */
export async function branchCommit(root: string, branch: string, signal?: AbortSignal): Promise<string | null> {
  const ref = branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
  const out = await runGit(root, ['rev-parse', '--verify', '-q', `${ref}^{commit}`], { signal });
  return out.exitCode === 0 ? out.stdout.trim() : null;
}

/** Outcome of `addTaskWorktree`. */
export interface AddedWorktree {
  path: string;
  branch: string;
  created: boolean;
  /** True when this call created the branch (so a failed set-up may delete it again). */
  createdBranch: boolean;
}

/**
 * Create the worktree of a task, or find the existing one (resume). When only the branch exists
 * the worktree is added on it. Rejects with git's message when git refuses (for example, the
 * target directory exists and is not that worktree, or the branch is checked out elsewhere).
 * With a `snapshot` no git process is run to look (only `worktree add`), and the snapshot is
 * updated with the new worktree and branch.
 */
export async function addTaskWorktree(
  root: string,
  worktreeRoot: string,
  runId: string,
  taskId: string,
  from: string,
  signal?: AbortSignal,
  snapshot?: WorktreeSnapshot,
): Promise<AddedWorktree> {
  const branch = taskBranch(runId, taskId);
  const entries = snapshot?.entries ?? (await allWorktrees(root, signal));
  const existing = entries.find((w) => w.branch === `refs/heads/${branch}`);
  if (existing && (existing === entries[0] || existing.path === root)) {
    throw new Error(
      `Branch ${branch} is checked out in your checkout at ${existing.path}; switch that checkout to another branch first.`,
    );
  }
  if (existing) return { path: existing.path, branch, created: false, createdBranch: false };
  const path = join(worktreeRoot, runId, taskId);
  // Against git's own listing (not a snapshot, which could be behind), a folder at the path that
  // is no worktree of this branch is what a `git worktree add` killed part way leaves: no task ever
  // worked there. It is cleared so the worktree can be made.
  if (!snapshot) await clearHalfMade(root, path, entries);
  const branchExists = snapshot
    ? snapshot.branches.has(`refs/heads/${branch}`)
    : (await branchCommit(root, branch, signal)) !== null;
  const args = branchExists ? ['worktree', 'add', path, branch] : ['worktree', 'add', '-b', branch, path, from];
  await gitOk(root, args, { signal });
  if (snapshot) {
    snapshot.entries.push({ path, head: null, branch: `refs/heads/${branch}` });
    snapshot.branches.add(`refs/heads/${branch}`);
  }
  return { path, branch, created: true, createdBranch: !branchExists };
}

/** Remove what a killed `git worktree add` left at `path`: its registration, if any, and the folder. */
async function clearHalfMade(root: string, path: string, entries: readonly { path: string }[]): Promise<void> {
  const registered = entries.some((w) => resolve(w.path) === resolve(path));
  if (!registered && !existsSync(path)) return;
  if (registered) await runGit(root, ['worktree', 'remove', '--force', '--force', path]);
  await rm(path, { recursive: true, force: true });
  await gitOk(root, ['worktree', 'prune']);
}

/**
 * Remove a worktree (even with changes or a lock); a worktree git no longer knows is fine. A
 * directory left behind is deleted only when it lies under `worktreeRoot`. Then delete the branch
 * when asked, and the run's directory under `worktreeRoot` when it is empty.
 */
export async function removeTaskWorktree(
  root: string,
  worktreeRoot: string,
  path: string,
  deleteBranch: string | null,
): Promise<void> {
  const target = resolve(path);
  const out = await runGit(root, ['worktree', 'remove', '--force', '--force', target]);
  const inRoot = isBelow(worktreeRoot, target);
  if (out.exitCode !== 0 && existsSync(target) && !inRoot) {
    throw new Error(`Could not remove worktree ${target}: ${out.stderr.trim()}`);
  }
  if (inRoot) await rm(target, { recursive: true, force: true });
  await gitOk(root, ['worktree', 'prune']);
  if (deleteBranch !== null && (await branchCommit(root, deleteBranch)) !== null) {
    await gitOk(root, ['branch', '-D', deleteBranch]);
  }
  const parent = dirname(target);
  if (inRoot && isBelow(worktreeRoot, parent)) {
    try {
      await rmdir(parent);
    } catch {
      // Not empty (other tasks of the run still have worktrees) or already gone: leave it.
    }
  }
}

/** Whether `path` lies strictly below `dir`. */
export function isBelow(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
