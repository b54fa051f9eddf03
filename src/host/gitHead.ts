/**
 * The checked-out branch, read from git's files. Used where starting a git process would be too
 * slow or too heavy for the extension bundle (the host does not bundle the git adapters).
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

/**
 * The branch checked out in `root`, read from git's HEAD file (no git process: this runs before a
 * dialog); null when HEAD is detached or cannot be read. Handles linked worktrees, whose `.git` is a
 * file pointing at the real git directory.
 */
export async function currentBranch(root: string): Promise<string | null> {
  try {
    const dotGit = join(root, '.git');
    let gitDir = dotGit;
    if ((await stat(dotGit)).isFile()) {
      const pointer = /^gitdir:\s*(.+)$/m.exec(await readFile(dotGit, 'utf8'));
      if (!pointer) return null;
      gitDir = isAbsolute(pointer[1].trim()) ? pointer[1].trim() : join(root, pointer[1].trim());
    }
    const head = await readFile(join(gitDir, 'HEAD'), 'utf8');
    const ref = /^ref:\s*refs\/heads\/(.+)$/m.exec(head);
    return ref ? ref[1].trim() : null;
  } catch {
    // No repository, or an unreadable one: the dialog then names the run's base branch instead.
    return null;
  }
}
