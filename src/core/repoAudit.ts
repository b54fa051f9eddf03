/**
 * The audit trail's view of git: a RepoPort that records every operation a run performs through
 * it (which, for whom, on what, and whether it worked) before handing back the result. Reads are
 * recorded too, so the trail answers "what did Foreman do with my repository" completely.
 */
import { INTEGRATION_ID, taskOfBranch } from './branches';
import { errorMessage } from './errors';
import type { GitOp } from './journal';
import type { RepoPort } from './repoPort';

/** One operation, as the journal's `git` event records it. */
export interface GitRecord {
  taskId: string | null;
  op: GitOp;
  detail: string;
  ok: boolean;
}

/** `repo` with every run operation recorded through `record`. */
export function auditedRepo(repo: RepoPort, record: (entry: GitRecord) => void): RepoPort {
  /** The task each worktree belongs to, learnt as worktrees are made. */
  const owners = new Map<string, string>();
  const ownerOf = (path: string) => owners.get(path) ?? null;

  async function audited<T>(
    taskId: string | null,
    op: GitOp,
    detail: string,
    work: () => Promise<T>,
    outcome: (result: T) => { ok: boolean; detail?: string } = () => ({ ok: true }),
  ): Promise<T> {
    try {
      const result = await work();
      const o = outcome(result);
      record({ taskId, op, detail: o.detail ? `${detail}: ${o.detail}` : detail, ok: o.ok });
      return result;
    } catch (e) {
      record({ taskId, op, detail: `${detail}: ${errorMessage(e)}`, ok: false });
      throw e;
    }
  }

  return {
    root: repo.root,
    stateDir: repo.stateDir,
    resolveBase: (policy, opts) => repo.resolveBase(policy, opts),
    ensureWorktree: (runId, taskId, from, setup, signal) =>
      audited(
        taskId,
        'worktree',
        `worktree for ${taskId} from ${from.slice(0, 10)}`,
        () => repo.ensureWorktree(runId, taskId, from, setup, signal),
        (wt) => {
          owners.set(wt.path, taskId);
          return { ok: true, detail: `${wt.created ? 'made' : 'reused'} ${wt.path} on ${wt.branch}` };
        },
      ),
    commitAll: (path, message, diffFrom) =>
      audited(
        ownerOf(path),
        'commit',
        `commit everything in ${path}`,
        () => repo.commitAll(path, message, diffFrom),
        (commit) => ({ ok: true, detail: commit ?? 'nothing to commit' }),
      ),
    branchHead: (branch) => audited(null, 'branch-head', `head of ${branch}`, () => repo.branchHead(branch)),
    diff: (from, to, maxChars) => audited(null, 'diff', `diff ${from} ${to}`, () => repo.diff(from, to, maxChars)),
    changedFiles: (from, to) =>
      audited(null, 'changed-files', `files changed ${from} ${to}`, () => repo.changedFiles(from, to)),
    merge: (target, branch, message) =>
      audited(
        taskOfBranch(branch) ?? ownerOf(target) ?? INTEGRATION_ID,
        'merge',
        `merge ${branch} into ${target}`,
        () => repo.merge(target, branch, message),
        (m) =>
          m.ok ? { ok: true, detail: m.commit } : { ok: false, detail: `conflict in ${m.files.join(', ') || '?'}` },
      ),
    sharedGitState: () =>
      audited(null, 'read-git-dir', 'fingerprint the shared git directory', () => repo.sharedGitState()),
    listWorktrees: () => repo.listWorktrees(),
    removeWorktree: (path, opts) =>
      audited(
        ownerOf(path),
        'remove-worktree',
        `remove ${path}${opts.deleteBranch ? ` and branch ${opts.deleteBranch}` : ''}`,
        () => repo.removeWorktree(path, opts),
      ),
    apply: (branch, base, mode, message) =>
      audited(
        null,
        'apply',
        `${mode} ${branch} onto your branch`,
        () => repo.apply(branch, base, mode, message),
        (r) => (r.ok ? { ok: true, detail: r.commit } : { ok: false, detail: r.message }),
      ),
  };
}
