/**
 * Resolving the base commit of a run: HEAD of a clean checkout, or, with the `snapshot` policy, a
 * commit object holding the dirty working tree as it is, built beside the developer's index so
 * that their index, files and branches never change.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { BaseOptions, BaseResult, DirtyPolicy } from '../core/repoPort';
import { RepoError } from '../core/repoPort';
import { dirtyFiles, FOREMAN_IDENTITY, gitOk, runGit } from './gitExec';

/** The ref namespace that keeps snapshot commits reachable (safe from `git gc`). */
export const SNAPSHOT_REF_PREFIX = 'refs/foreman/snapshots/';

/** The commit HEAD points at; rejects with a RepoError `noCommits` in a repository without commits. */
export async function headCommit(root: string, signal?: AbortSignal): Promise<string> {
  const out = await runGit(root, ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { signal });
  if (out.exitCode !== 0) {
    throw new RepoError('noCommits', root, `The repository at ${root} has no commits yet.`);
  }
  return out.stdout.trim();
}

/** The short name of the checked-out branch, or null when HEAD is detached. */
export async function currentBranch(root: string, signal?: AbortSignal): Promise<string | null> {
  const out = await runGit(root, ['symbolic-ref', '-q', '--short', 'HEAD'], { signal });
  return out.exitCode === 0 ? out.stdout.trim() : null;
}

/** Absolute path of a file git keeps in the repository's git dir (`git rev-parse --git-path`). */
async function gitPath(root: string, name: string, signal?: AbortSignal): Promise<string> {
  const out = (await gitOk(root, ['rev-parse', '--git-path', name], { signal })).trim();
  return isAbsolute(out) ? out : join(root, out);
}

/**
 * Build a commit of the working tree as it is (tracked changes and untracked, non-ignored files,
 * except `leaveOut`, repository-relative), with `head` as its parent, using a temporary index;
 * keep it under `refs/foreman/snapshots/`.
 */
export async function snapshotCommit(
  root: string,
  stateDir: string,
  head: string,
  branch: string | null,
  signal?: AbortSignal,
  leaveOut: readonly string[] = [],
): Promise<string> {
  await mkdir(stateDir, { recursive: true });
  const tempIndex = join(stateDir, `snapshot-index-${randomBytes(6).toString('hex')}`);
  const env = { GIT_INDEX_FILE: tempIndex };
  try {
    try {
      // Starting from a copy of the real index lets `git add` reuse its cached file stats.
      await copyFile(await gitPath(root, 'index', signal), tempIndex);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await gitOk(root, ['read-tree', head], { signal, env });
    }
    const excluded = leaveOut.map((f) => `:(exclude,literal)${f}`);
    await gitOk(root, ['add', '-A', '--', '.', ...excluded], { signal, env });
    const tree = (await gitOk(root, ['write-tree'], { signal, env })).trim();
    const message = `Foreman snapshot of uncommitted changes on ${branch ?? 'a detached HEAD'}`;
    const commit = (
      await gitOk(root, [...FOREMAN_IDENTITY, 'commit-tree', tree, '-p', head, '-m', message], { signal })
    ).trim();
    await gitOk(root, ['update-ref', `${SNAPSHOT_REF_PREFIX}${commit}`, commit], { signal });
    return commit;
  } finally {
    await rm(tempIndex, { force: true });
    await rm(`${tempIndex}.lock`, { force: true });
  }
}

/** `paths` (absolute) that lie inside the repository at `root`, relative to it, with `/` separators. */
function insideRepo(root: string, paths: readonly string[]): string[] {
  const inside: string[] = [];
  for (const p of paths) {
    let real = resolve(p);
    try {
      real = realpathSync(real);
    } catch {
      // A file that is gone is not dirty either; its resolved path is as good as any.
    }
    const rel = relative(root, real);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) inside.push(rel.split(sep).join('/'));
  }
  return inside;
}

/**
 * The base of a new run (see `RepoPort.resolveBase`). A dirty checkout is refused with the list of
 * files under `refuse`, captured in a snapshot commit under `snapshot`; the files in `opts.ignore`
 * (the run's own plan or spec file) count for neither.
 */
export async function resolveBase(
  root: string,
  stateDir: string,
  policy: DirtyPolicy,
  opts: BaseOptions = {},
): Promise<BaseResult> {
  const { signal } = opts;
  const head = await headCommit(root, signal);
  const branch = await currentBranch(root, signal);
  const ignored = insideRepo(root, opts.ignore ?? []);
  const files = (await dirtyFiles(root, signal)).filter((f) => !ignored.includes(f));
  if (files.length === 0) return { ok: true, commit: head, snapshot: false, branch };
  if (policy === 'refuse') {
    const shown = files.slice(0, 20).join(', ') + (files.length > 20 ? `, … (${files.length} in all)` : '');
    return {
      ok: false,
      reason: 'dirty',
      files,
      // What to do is the front end's to say: the CLI has a flag, the panel a setting.
      message: `The working tree has uncommitted changes (${shown}).`,
    };
  }
  const commit = await snapshotCommit(root, stateDir, head, branch, signal, ignored);
  return { ok: true, commit, snapshot: true, branch };
}
