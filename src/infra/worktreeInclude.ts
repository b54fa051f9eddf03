/**
 * The allow-list of files copied from the developer's checkout into a fresh worktree (`.env`,
 * local config and the like, which git does not carry). Patterns follow .gitignore's syntax:
 * `*` and `?` within one path segment, `**` across segments, `[...]` classes, a trailing `/` for
 * directories only, a leading `/` (or any inner `/`) anchors to the root, `!` re-excludes, `#`
 * starts a comment. Only files git does not track are candidates; tracked ones are in the
 * worktree already.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitOk, splitNul } from './gitExec';

/** One parsed line of an allow-list. */
export interface IncludeRule {
  source: string;
  negate: boolean;
  dirOnly: boolean;
  /** Matches the whole root-relative path (`/`-separated). */
  regex: RegExp;
  /** Per-segment matchers for an anchored rule without `**`; null when it can match at any depth. */
  segments: RegExp[] | null;
}

/**
 * The allow-list used when neither the caller (the user's `setup.include`) nor `.worktreeinclude`
 * names one: empty. An untracked file, a `.env` above all, holds the developer's secrets, and what
 * a worktree holds its agent reads and sends to the model; it is copied only when named.
 */
export const DEFAULT_INCLUDE: readonly string[] = [];

/** Translate one glob segment run (no `**` handling) to regular-expression source. */
function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) out += escapeChar(glob[++i]);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      const body = glob
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      out += `[${body}]`;
      i = end;
    } else out += escapeChar(c);
  }
  return out;
}

function escapeChar(c: string): string {
  return /[.+^${}()|[\]\\*?]/.test(c) ? `\\${c}` : c;
}

/** Build the whole-path regular expression of a rule body (already without `!`, `/` ends). */
function ruleRegex(body: string): RegExp {
  const parts = body.split('/');
  let src = '';
  parts.forEach((part, index) => {
    const last = index === parts.length - 1;
    if (part === '**') src += last ? '.*' : '(?:[^/]+/)*';
    else src += globToRegex(part) + (last ? '' : '/');
  });
  return new RegExp(`^${src}$`);
}

/**
 * Parse allow-list lines into rules; blank lines and `#` comments are skipped. Lines that are not
 * anchored (no `/` but a trailing one) match a file or directory name at any depth.
 */
export function parseIncludeRules(lines: readonly string[]): IncludeRule[] {
  const rules: IncludeRule[] = [];
  for (const raw of lines) {
    let line = raw.replace(/\r$/, '').replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.replace(/\/+$/, '');
    const anchored = line.includes('/');
    line = line.replace(/^\/+/, '');
    if (line === '') continue;
    const body = anchored ? line : `**/${line}`;
    const segments = body.split('/').includes('**')
      ? null
      : body.split('/').map((s) => new RegExp(`^${globToRegex(s)}$`));
    rules.push({ source: raw, negate, dirOnly, regex: ruleRegex(body), segments });
  }
  return rules;
}

/** The verdict of the last rule matching `path` itself, or undefined when none does. */
function lastVerdict(rules: readonly IncludeRule[], path: string, isDir: boolean): boolean | undefined {
  let verdict: boolean | undefined;
  for (const rule of rules) {
    if (rule.dirOnly && !isDir) continue;
    if (rule.regex.test(path)) verdict = !rule.negate;
  }
  return verdict;
}

/**
 * Whether `path` (root-relative, `/`-separated) is on the allow-list: a directory that matches
 * brings in everything below it, unless a later rule matching a deeper path says `!`.
 */
export function isIncluded(rules: readonly IncludeRule[], path: string, isDir: boolean): boolean {
  const segs = path.split('/');
  let included = false;
  for (let i = 1; i <= segs.length; i++) {
    const verdict = lastVerdict(rules, segs.slice(0, i).join('/'), i < segs.length || isDir);
    if (verdict !== undefined) included = verdict;
  }
  return included;
}

/** Whether some rule could match a path below directory `dir` (so it is worth walking). */
export function couldMatchBelow(rules: readonly IncludeRule[], dir: string): boolean {
  const segs = dir.split('/');
  return rules.some((rule) => {
    if (rule.negate) return false;
    const segments = rule.segments;
    if (segments === null) return true;
    if (segments.length <= segs.length) return false;
    return segs.every((seg, i) => segments[i].test(seg));
  });
}

/**
 * The allow-list of the repository's `.worktreeinclude`, or null when the file does not exist.
 */
export async function readWorktreeInclude(repoRoot: string): Promise<string[] | null> {
  try {
    return (await readFile(join(repoRoot, '.worktreeinclude'), 'utf8')).split('\n');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Walk an untracked directory (never through symlinked directories), keeping allowed paths. */
async function walkDir(
  root: string,
  dir: string,
  rules: readonly IncludeRule[],
  out: string[],
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  const wholeDir = isIncluded(rules, dir, true);
  if (!wholeDir && !couldMatchBelow(rules, dir)) return;
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    if (entry.name === '.git') continue;
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) await walkDir(root, rel, rules, out, signal);
    else if (isIncluded(rules, rel, false)) out.push(rel);
  }
}

/**
 * Files of the developer's checkout at `repoRoot` that the allow-list names, as root-relative
 * paths: untracked files only (ignored ones included), `.git` never. Symlinks are listed as found;
 * the copier decides whether they may be followed.
 */
export async function collectIncludedFiles(
  repoRoot: string,
  lines: readonly string[],
  signal?: AbortSignal,
): Promise<string[]> {
  const rules = parseIncludeRules(lines);
  if (!rules.some((r) => !r.negate)) return [];
  const listed = splitNul(await gitOk(repoRoot, ['ls-files', '--others', '--directory', '-z'], { signal }));
  const out: string[] = [];
  for (const entry of listed) {
    if (entry.endsWith('/')) {
      const dir = entry.replace(/\/+$/, '');
      const info = await lstat(join(repoRoot, dir));
      if (info.isDirectory()) await walkDir(repoRoot, dir, rules, out, signal);
    } else if (isIncluded(rules, entry, false)) out.push(entry);
  }
  return out.sort();
}
