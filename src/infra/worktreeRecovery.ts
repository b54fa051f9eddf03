/**
 * Taking a run's worktrees back from a Foreman that died in the middle of a git command. A killed
 * Foreman's git children die with it: with its process group, or of SIGPIPE at their next write
 * to it. `git merge` writes its summary after making the merge commit and before clearing the
 * merge's state, so one that dies there leaves MERGE_HEAD behind a finished merge, and every later
 * merge into that worktree is refused. Killed outright, git leaves its lock files (`index.lock`,
 * `HEAD.lock`, a branch's ref lock), which make every later command there fail, a merge killed
 * before it committed leaves its files written or staged in the integration worktree,
 * and a `git worktree add` cut short leaves a worktree whose checkout never finished.
 *
 * Call this only while holding the run's lock and after reaping what still worked in its
 * worktrees (see src/app/workspace.ts): nothing of Foreman's is at work there then, so such state
 * is left over, never live.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { INTEGRATION_ID } from '../core/branches';
import { gitOk } from './gitExec';
import { allWorktrees, isBelow } from './gitWorktrees';

/** The git folder of the worktree at `path` (from its `.git` file), or null when it has none. */
function worktreeGitDir(path: string): string | null {
  try {
    const text = readFileSync(join(path, '.git'), 'utf8');
    const dir = /^gitdir: (.+)$/m.exec(text)?.[1]?.trim();
    return dir ? (isAbsolute(dir) ? dir : resolve(path, dir)) : null;
  } catch {
    // No .git file: not a linked worktree (or its folder is gone), nothing to recover here.
    return null;
  }
}

/** Remove the `*.lock` files directly in `dir`; returns their names. */
function removeLocks(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.lock'));
  } catch {
    return []; // the folder is not there: no lock either
  }
  for (const name of names) rmSync(join(dir, name), { force: true });
  return names;
}

/** Remove the ref locks under `dir` (a run's branch folder), at any depth; returns their paths. */
function removeRefLocks(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removed.push(...removeRefLocks(path));
    else if (entry.name.endsWith('.lock')) {
      rmSync(path, { force: true });
      removed.push(path);
    }
  }
  return removed;
}

/** Recover one worktree; returns a line for each thing undone. */
async function recoverWorktree(root: string, path: string): Promise<string[]> {
  const gitDir = worktreeGitDir(path);
  if (gitDir === null) return [];
  const lines = removeLocks(gitDir).map((name) => `removed ${name} left in ${path} by a git command that was killed`);
  if (!existsSync(join(gitDir, 'index'))) {
    // `git worktree add` writes the index last, once every file is checked out.
    await gitOk(root, ['worktree', 'remove', '--force', '--force', path]).catch(() => undefined);
    await rm(path, { recursive: true, force: true });
    await gitOk(root, ['worktree', 'prune']);
    lines.push(`removed ${path}, whose checkout was cut short (it is made again from its branch)`);
    return lines;
  }
  if (existsSync(join(gitDir, 'MERGE_HEAD'))) {
    await gitOk(path, ['merge', '--abort']);
    lines.push(`undid the merge state left in ${path} by a merge that was killed`);
  } else if (basename(path) === INTEGRATION_ID && (await gitOk(path, ['status', '--porcelain']))) {
    // Foreman only ever commits merges here (no set-up runs in it), so changed or new files are a
    // merge killed before it committed: files written or staged, and no MERGE_HEAD (git writes it
    // only when a merge stops for the user). Every later merge would be refused. The branch holds
    // the work; ignored files (a check's build output) are kept.
    await gitOk(path, ['reset', '--hard', '--quiet', 'HEAD']);
    await gitOk(path, ['clean', '-d', '--force', '--quiet']);
    lines.push(`undid the changes left in ${path} by a merge that was killed before it committed`);
  }
  return lines;
}

/**
 * Undo what killed git commands left in the worktrees under `runFolder` (a run's folder of the
 * worktree root) and in its branches' ref folder `refsFolder` (`<git dir>/refs/heads/foreman/<run>`).
 * Returns a line to show for each thing undone.
 */
export async function recoverWorktrees(root: string, runFolder: string, refsFolder: string): Promise<string[]> {
  const lines = removeRefLocks(refsFolder).map(
    (p) => `removed the ref lock ${p} left by a git command that was killed`,
  );
  const worktrees = (await allWorktrees(root)).filter((w) => isBelow(runFolder, w.path));
  for (const w of worktrees) lines.push(...(await recoverWorktree(root, w.path)));
  return lines;
}
