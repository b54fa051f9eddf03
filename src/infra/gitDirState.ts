/**
 * Reads what Foreman watches in a repository's shared git directory while a task works (see
 * `SharedGitState` in core/repoPort.ts): fingerprints of `config`, `hooks/*` and `info/*`, and every
 * ref outside Foreman's own namespace with whether its reflog accounts for its value. A ref moved
 * by git itself (the developer committing or switching branches) leaves a reflog entry; one written
 * behind git's back, as an escaped agent would, does not.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SharedGitState } from '../core/repoPort';
import { GitCommandError, runGitSteps } from './gitExec';

/** Foreman's own branches, which move as tasks commit and merge. */
const FOREMAN_REFS = 'refs/heads/foreman/';

function fingerprint(path: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return null; // gone (or unreadable): its absence is what is recorded
  }
}

function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() || e.isSymbolicLink())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** The value the newest reflog entry of `ref` gives it, or null without a reflog. */
function loggedValue(commonDir: string, ref: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(commonDir, 'logs', ref), 'utf8');
  } catch {
    return null;
  }
  const last = text.trimEnd().split('\n').at(-1) ?? '';
  return last.split(' ')[1] ?? null;
}

/** The shared git directory's state, read from the main worktree `root`. */
export async function readSharedGitState(root: string, commonDir: string): Promise<SharedGitState> {
  const files: Record<string, string> = {};
  const config = fingerprint(join(commonDir, 'config'));
  if (config !== null) files.config = config;
  for (const dir of ['hooks', 'info']) {
    for (const name of filesIn(join(commonDir, dir))) {
      const print = fingerprint(join(commonDir, dir, name));
      if (print !== null) files[`${dir}/${name}`] = print;
    }
  }
  const refs: Record<string, { value: string; logged: boolean }> = {};
  // Both listings in one process (see runGitSteps): the refs, then HEAD's commit (none when unborn).
  const args = ['for-each-ref', '--format=%(objectname) %(refname)'];
  const out = await runGitSteps(root, [{ args }, { args: ['rev-parse', '--verify', '-q', 'HEAD'] }], '');
  if (out.outputs.length === 0) throw new GitCommandError(args, out.exitCode, out.stderr, root);
  // Ref names cannot hold spaces or line breaks, so one `<id> <name>` line each is unambiguous.
  for (const line of out.outputs[0].split('\n')) {
    const space = line.indexOf(' ');
    const [commit, name] = [line.slice(0, space), line.slice(space + 1)];
    if (space > 0 && !name.startsWith(FOREMAN_REFS)) {
      refs[name] = { value: commit, logged: loggedValue(commonDir, name) === commit };
    }
  }
  const head = readFileSync(join(commonDir, 'HEAD'), 'utf8').trim();
  const commit = out.exitCode === 0 ? (out.outputs[1] ?? '').trim() : '';
  refs.HEAD = { value: `${head} ${commit}`.trim(), logged: commit === '' || loggedValue(commonDir, 'HEAD') === commit };
  return { files, refs };
}
