/**
 * Whether the Lead session can plan and run in the workspace folder, and if not, why not in words
 * that say what to do: no folder, not a git repository, no commit yet, or an untrusted workspace.
 */
import { runGit } from '../infra/gitExec';
import { createGitRepo } from '../infra/gitRepo';
import { isSampleRepository } from '../infra/sampleRepo';
import type { PanelState } from '../protocol/panel';
import type { LeadHost } from './leadHost';

/** Why the session cannot plan or run here. */
export type Blocked = NonNullable<PanelState['blocked']>;

/** The repository the session works on. */
export interface SessionRepo {
  root: string;
  stateDir: string;
  /** Whether it is (a copy of) Foreman's sample repository, the one the demo backend knows. */
  sample: boolean;
}

/** What the check found: the repository, if any, and what blocks the session, if anything. */
export interface WorkspaceCheck {
  repo: SessionRepo | null;
  blocked: Blocked | null;
}

/** Look at the host's folder; trust is asked last, so it is the editor's answer as the check ends. */
export async function checkWorkspace(host: Pick<LeadHost, 'folder' | 'isTrusted'>): Promise<WorkspaceCheck> {
  const folder = host.folder;
  if (!folder) {
    return {
      repo: null,
      blocked: {
        reason: 'noFolder',
        message: 'Open a folder to use Foreman: its agents work on the git repository of the workspace folder.',
      },
    };
  }
  let repo: SessionRepo;
  try {
    const opened = await createGitRepo({ cwd: folder });
    repo = { root: opened.root, stateDir: opened.stateDir, sample: isSampleRepository(opened.root) };
  } catch {
    // createGitRepo says why in git's words; the panel says what to do.
    return {
      repo: null,
      blocked: {
        reason: 'notGit',
        message: `${folder} is not in a git repository. Foreman's agents work in git worktrees: run \`git init\` there and make a first commit, then refresh.`,
      },
    };
  }
  const head = await runGit(repo.root, ['rev-parse', '--verify', '-q', 'HEAD^{commit}']);
  if (head.exitCode !== 0) {
    return {
      repo,
      blocked: {
        reason: 'notGit',
        message: `The repository at ${repo.root} has no commits yet. Make a first commit (\`git add -A && git commit -m "Initial commit"\`), then refresh.`,
      },
    };
  }
  return { repo, blocked: host.isTrusted() ? null : untrusted() };
}

/** The block of an untrusted workspace. */
export function untrusted(): Blocked {
  return {
    reason: 'untrusted',
    message:
      "This workspace is not trusted, so Foreman's agents do not run here (they run commands and change files). Trust the workspace to plan and run; past runs can still be viewed.",
  };
}
