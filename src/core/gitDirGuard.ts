/**
 * The check after a task's agent and checks have run: did anything in the repository's shared git
 * directory change that Foreman did not change itself? Agents run in a sandbox that keeps that
 * directory read-only; this check is what proves it held, and what catches it when an agent ran
 * unsandboxed. Pure: it compares two readings of `SharedGitState`.
 *
 * A ref that moved with a matching reflog entry is the developer working (committing, switching
 * branches) and passes; a ref moved without one was written behind git's back.
 */
import type { SharedGitState } from './repoPort';

/** What changed from `before` to `after`, one sentence each; empty when nothing did. */
export function gitDirChanges(before: SharedGitState, after: SharedGitState): string[] {
  const changes: string[] = [];
  for (const path of union(before.files, after.files)) {
    const [was, now] = [before.files[path], after.files[path]];
    if (was === now) continue;
    if (was === undefined) changes.push(`${path} was added`);
    else if (now === undefined) changes.push(`${path} was removed`);
    else changes.push(`${path} was changed`);
  }
  for (const ref of union(before.refs, after.refs)) {
    const [was, now] = [before.refs[ref], after.refs[ref]];
    if (was?.value === now?.value) continue;
    if (now === undefined) changes.push(`${ref} was deleted`);
    else if (!now.logged) {
      changes.push(
        was === undefined
          ? `${ref} appeared without a reflog entry`
          : `${ref} moved from ${short(was.value)} to ${short(now.value)} without a reflog entry`,
      );
    }
  }
  return changes;
}

function union(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

/** Commit ids shortened for a message; `HEAD`'s value also names its branch. */
function short(value: string): string {
  return value.replace(/\b[0-9a-f]{40}\b/g, (id) => id.slice(0, 10));
}
