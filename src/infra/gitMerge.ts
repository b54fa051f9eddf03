/**
 * Merging: a task branch into a Foreman worktree (integration), and `apply`, which brings a
 * finished branch onto the developer's current branch. Every merge that can conflict happens in a
 * Foreman worktree and is aborted on conflict; the developer's checkout only ever sees a
 * fast-forward over files that were checked to be clean.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApplyResult, MergeResult } from '../core/repoPort';
import { currentBranch, headCommit } from './gitBase';
import { dirtyFiles, FOREMAN_IDENTITY, GitCommandError, gitOk, runGit, splitNul } from './gitExec';

/** Files changed between two commits, root-relative, renames shown as delete + add. */
export async function diffFiles(cwd: string, from: string, to: string, signal?: AbortSignal): Promise<string[]> {
  return splitNul(await gitOk(cwd, ['diff', '--name-only', '--no-renames', '-z', from, to, '--'], { signal })).sort();
}

/**
 * The unified diff between two commits or branches, cut to `maxChars` characters (whole lines
 * where possible) followed by a marker saying how much was left out.
 */
export async function diffText(cwd: string, from: string, to: string, maxChars: number): Promise<string> {
  return cutDiff(await gitOk(cwd, [...DIFF_ARGS, from, to, '--']), maxChars);
}

/** `git diff` as Foreman reads it: plain text, no external diff or text conversion a repository configures. */
export const DIFF_ARGS = ['diff', '--no-color', '--no-ext-diff', '--no-textconv'] as const;

/** A diff cut to `maxChars` at a line's end where it can be, with a marker saying how much is left out. */
export function cutDiff(full: string, maxChars: number): string {
  if (full.length <= maxChars) return full;
  const cut = full.slice(0, Math.max(0, maxChars));
  const lineEnd = cut.lastIndexOf('\n');
  const kept = lineEnd > maxChars / 2 ? cut.slice(0, lineEnd + 1) : cut;
  return `${kept}${kept.endsWith('\n') ? '' : '\n'}[diff cut: ${full.length - kept.length} of ${full.length} characters not shown]\n`;
}

/** Whether commit `a` is an ancestor of (or equal to) commit `b`. */
async function isAncestor(cwd: string, a: string, b: string): Promise<boolean> {
  const out = await runGit(cwd, ['merge-base', '--is-ancestor', a, b]);
  if (out.exitCode > 1) throw new GitCommandError(['merge-base', '--is-ancestor', a, b], out.exitCode, out.stderr, cwd);
  return out.exitCode === 0;
}

/** Files left unmerged by a failed merge in `cwd`. */
async function unmergedFiles(cwd: string): Promise<string[]> {
  return [...new Set(splitNul(await gitOk(cwd, ['diff', '--name-only', '--diff-filter=U', '-z'])))].sort();
}

/** Whether a merge is in progress in the worktree at `cwd`. */
async function mergeInProgress(cwd: string): Promise<boolean> {
  return (await runGit(cwd, ['rev-parse', '-q', '--verify', 'MERGE_HEAD'])).exitCode === 0;
}

/**
 * Merge `branch` into the worktree at `targetPath` with a merge commit by Foreman (hooks skipped).
 * Already merged → `alreadyMerged`. On a conflict the merge is aborted and the conflicting files
 * are returned; the worktree is as it was. A target with uncommitted changes to tracked files is
 * refused with an Error, since an aborted merge could not promise to restore them.
 */
export async function mergeInto(targetPath: string, branch: string, message: string): Promise<MergeResult> {
  const head = await headCommit(targetPath);
  if (await isAncestor(targetPath, branch, head)) return { ok: true, commit: head, alreadyMerged: true };
  const dirty = splitNul(
    await gitOk(targetPath, ['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=no']),
  );
  if (dirty.length > 0)
    throw new Error(`Cannot merge ${branch} into ${targetPath}: it has uncommitted changes (${dirty.join(', ')}).`);
  const args = [...FOREMAN_IDENTITY, 'merge', '--no-ff', '--no-verify', '--no-edit', '-m', message, branch];
  const out = await runGit(targetPath, args);
  if (out.exitCode === 0) return { ok: true, commit: await headCommit(targetPath), alreadyMerged: false };
  const files = await unmergedFiles(targetPath);
  if (await mergeInProgress(targetPath)) await gitOk(targetPath, ['merge', '--abort']);
  if (files.length === 0) throw new GitCommandError(args, out.exitCode, `${out.stdout}${out.stderr}`, targetPath);
  return {
    ok: false,
    reason: 'conflict',
    files,
    message: `Merging ${branch} conflicts in ${files.join(', ')}; the merge was aborted.\n${(out.stdout + out.stderr).trim()}`,
  };
}

/** `-c` options for the commit `apply` makes: the developer's identity when set, else Foreman's. */
async function applyIdentity(root: string): Promise<string[]> {
  const name = await runGit(root, ['config', 'user.name']);
  const email = await runGit(root, ['config', 'user.email']);
  return name.exitCode === 0 && email.exitCode === 0 ? [] : [...FOREMAN_IDENTITY];
}

/** A refused `apply`. */
function refused(reason: 'dirty' | 'conflict' | 'detached' | 'nothing', files: string[], message: string): ApplyResult {
  return { ok: false, reason, files, message };
}

/**
 * How the run's work is brought over: a squash or merge of the branch, or, when the run's base is
 * not in the developer's history (a snapshot of uncommitted changes), a patch of `base..tip` only,
 * so the snapshot's own changes are not carried along.
 */
type ApplyHow = { kind: 'squash' } | { kind: 'merge' } | { kind: 'patch'; base: string };

async function applyArgs(
  root: string,
  temp: string,
  tip: string,
  how: ApplyHow,
  identity: string[],
  message: string,
): Promise<string[]> {
  if (how.kind === 'squash') return ['merge', '--squash', tip];
  if (how.kind === 'merge') return [...identity, 'merge', '--no-ff', '--no-verify', '--no-edit', '-m', message, tip];
  const patch = `${temp}.patch`;
  await writeFile(patch, await gitOk(root, ['diff', '--binary', '--no-ext-diff', '--no-textconv', how.base, tip]));
  return ['apply', '--3way', '--index', patch];
}

/**
 * Make the squash or merge commit in a temporary detached worktree at `head`; the commit, or the
 * conflicting files. The temporary worktree is always removed.
 */
async function commitInTempWorktree(
  root: string,
  tempRoot: string,
  head: string,
  tip: string,
  how: ApplyHow,
  message: string,
): Promise<{ commit: string | null; conflicts: string[] }> {
  const temp = join(tempRoot, `.apply-${randomBytes(6).toString('hex')}`);
  await gitOk(root, ['worktree', 'add', '--detach', temp, head]);
  try {
    const identity = await applyIdentity(root);
    const mergeArgs = await applyArgs(root, temp, tip, how, identity, message);
    const out = await runGit(temp, mergeArgs);
    if (out.exitCode !== 0) {
      const conflicts = await unmergedFiles(temp);
      if (conflicts.length === 0)
        throw new GitCommandError(mergeArgs, out.exitCode, (out.stdout + out.stderr).trim(), temp);
      return { commit: null, conflicts };
    }
    if (how.kind !== 'merge') {
      const staged = await runGit(temp, ['diff', '--cached', '--quiet']);
      if (staged.exitCode === 0) return { commit: null, conflicts: [] };
      await gitOk(temp, [...identity, 'commit', '--no-verify', '-q', '-m', message]);
    }
    return { commit: await headCommit(temp), conflicts: [] };
  } finally {
    await rm(`${temp}.patch`, { force: true });
    await runGit(root, ['worktree', 'remove', '--force', '--force', temp]);
    await runGit(root, ['worktree', 'prune']);
  }
}

/**
 * Bring `branch` onto the developer's current branch (see `RepoPort.apply`). The commit is made in
 * a temporary worktree; their branch is then fast-forwarded to it, which only touches files that
 * were checked to be clean in their checkout.
 */
export async function applyBranch(
  root: string,
  tempRoot: string,
  branch: string,
  base: string,
  mode: 'squash' | 'merge',
  message: string,
): Promise<ApplyResult> {
  const tip = (await gitOk(root, ['rev-parse', '--verify', `${branch}^{commit}`])).trim();
  const current = await currentBranch(root);
  if (current === null)
    return refused('detached', [], 'HEAD is detached: check out the branch to apply the changes to, then try again.');
  const head = await headCommit(root);
  const involved = await diffFiles(root, base, tip);
  if (involved.length === 0 || (await isAncestor(root, tip, head))) {
    return refused('nothing', [], `${branch} has no changes to apply onto ${current}.`);
  }
  const dirty = new Set(await dirtyFiles(root));
  const blocking = involved.filter((f) => dirty.has(f));
  if (blocking.length > 0) return dirtyRefusal(blocking);
  // A base outside the developer's history is a snapshot of their uncommitted changes: apply only
  // what the run did on top of it, as one commit.
  const how: ApplyHow = (await isAncestor(root, base, head)) ? { kind: mode } : { kind: 'patch', base };
  const made = await commitInTempWorktree(root, tempRoot, head, tip, how, message);
  if (made.conflicts.length > 0)
    return refused('conflict', made.conflicts, conflictWords(branch, current, how, made.conflicts));
  if (made.commit === null) return refused('nothing', [], `${branch} brings no change to ${current}.`);
  const files = await diffFiles(root, head, made.commit);
  const blockingNow = files.filter((f) => dirty.has(f));
  if (blockingNow.length > 0) return dirtyRefusal(blockingNow);
  const ff = await runGit(root, ['merge', '--ff-only', made.commit]);
  if (ff.exitCode !== 0) {
    const output = (ff.stdout + ff.stderr).trim();
    return refused(
      'dirty',
      files,
      `Could not fast-forward ${current} to the applied commit; nothing was changed.\n${output}`,
    );
  }
  return { ok: true, commit: made.commit, mode: how.kind === 'merge' ? 'merge' : 'squash', files, branch: current };
}

/**
 * An apply conflict in Foreman's words: which files, that nothing changed, and the two ways on
 * (merge it by hand and resolve the conflicts, with the command for how it would have been
 * applied, or run again from the branch as it is now). git's own advice is not passed on: it
 * speaks of a merge in progress, and there is none in the developer's checkout.
 */
function conflictWords(branch: string, current: string, how: ApplyHow, files: string[]): string {
  const bringIn =
    how.kind === 'merge'
      ? `git merge ${branch}`
      : how.kind === 'squash'
        ? `git merge --squash ${branch}`
        : `git diff ${how.base.slice(0, 10)} ${branch} | git apply --3way`;
  return [
    `${branch} and your branch ${current} both changed ${files.length === 1 ? 'this file' : `these ${files.length} files`}, and the changes conflict, so nothing was applied: your branch and your files are as they were.`,
    ...files.map((f) => `  ${f}`),
    `To take the run's work anyway, bring it in yourself and resolve the conflicts in those files: ${bringIn}, edit the files, then git add them and git commit. Or start a new run from ${current} as it is now.`,
  ].join('\n');
}

/** The refusal for involved files with uncommitted changes in the developer's checkout. */
function dirtyRefusal(files: string[]): ApplyResult {
  return refused(
    'dirty',
    files,
    `These files have uncommitted changes in your checkout: ${files.join(', ')}. Commit them (or set them aside) first; nothing was changed.`,
  );
}
