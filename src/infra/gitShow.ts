/**
 * Reading a repository at fixed commits, for review: which files changed between two commits and
 * what a file held at one commit. Nothing here touches a working tree, the index or a ref, so it
 * is safe on the developer's repository while agents work in their worktrees.
 */
import { gitOk, runGit, splitNul } from './gitExec';

/** How a file changed between two commits: added, modified (content or type), deleted, renamed. */
export type ChangeKind = 'A' | 'M' | 'D' | 'R';

/** One changed file. `oldPath` is the path before a rename (or the source of a copy), else null. */
export interface ChangedFile {
  kind: ChangeKind;
  /** Repository-relative, `/`-separated; for a deleted file, the path it had. */
  path: string;
  oldPath: string | null;
}

/**
 * What a path held at a commit. Text is returned whole up to the size cap; binary files (a NUL in
 * the first 8000 bytes, git's own test), files over the cap and submodules come back without
 * their content, so a caller can say why.
 */
export type FileAtCommit =
  | { kind: 'text'; text: string; size: number }
  | { kind: 'binary'; size: number }
  | { kind: 'tooLarge'; size: number; limit: number }
  | { kind: 'submodule'; commit: string }
  | { kind: 'symlink'; target: string };

/** Files larger than this are not read (the diff editor would crawl anyway). */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

/** The bytes git looks at to decide that a blob is binary. */
const BINARY_PROBE = 8000;

/** `git diff` from `from` to `to` with `format`: paths as they are, NUL-separated, renames found, no external diff. */
function diffArgs(format: string[], from: string, to: string): string[] {
  return [
    '-c',
    'core.quotePath=false',
    'diff',
    '--no-ext-diff',
    ...format,
    '-z',
    '--find-renames',
    '--end-of-options',
    from,
    to,
    '--',
  ];
}

/**
 * The files changed from `from` to `to` (`git diff --name-status --find-renames`), in git's
 * order (by path). The explicit `--find-renames` overrides a `diff.renames` setting, so copies are
 * plain additions whatever the repository's configuration; type changes count as modifications.
 * Rejects with a `GitCommandError` when a commit does not exist.
 */
export async function listChangedFiles(
  root: string,
  from: string,
  to: string,
  signal?: AbortSignal,
): Promise<ChangedFile[]> {
  return parseNameStatus(await gitOk(root, diffArgs(['--name-status'], from, to), { signal }));
}

/** Parse `git diff --name-status -z` output: `X\0path\0`, or `R<score>\0old\0new\0` for renames (copies, `C`, alike: an addition with its source). */
export function parseNameStatus(out: string): ChangedFile[] {
  const fields = splitNul(out);
  const files: ChangedFile[] = [];
  for (let i = 0; i < fields.length; i++) {
    const status = fields[i];
    const letter = status.charAt(0);
    if (letter === 'R' || letter === 'C') {
      const oldPath = fields[++i] ?? '';
      const path = fields[++i] ?? '';
      files.push({ kind: letter === 'R' ? 'R' : 'A', path, oldPath });
    } else {
      const path = fields[++i] ?? '';
      files.push({ kind: letter === 'A' || letter === 'D' ? letter : 'M', path, oldPath: null });
    }
  }
  return files;
}

/** Lines added and removed from `from` to `to`, and the files changed (a binary file counts no lines). */
export interface LineStat {
  files: string[];
  added: number;
  removed: number;
}

/**
 * What changed from `from` to `to` in lines (`git diff --numstat`, renames found, no external diff
 * or text conversion). Rejects with a `GitCommandError` when a commit does not exist.
 */
export async function diffLineStat(root: string, from: string, to: string, signal?: AbortSignal): Promise<LineStat> {
  return parseNumstat(await gitOk(root, diffArgs(['--no-textconv', '--numstat'], from, to), { signal }));
}

/**
 * Parse `git diff --numstat -z`: `added\tremoved\tpath\0`, or for a rename `added\tremoved\t\0old\0new\0`;
 * a binary file's counts are `-`.
 */
export function parseNumstat(out: string): LineStat {
  const fields = out.split('\0');
  const stat: LineStat = { files: [], added: 0, removed: 0 };
  for (let i = 0; i < fields.length; i++) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(fields[i]);
    if (!m) continue;
    let path = m[3];
    if (path === '') {
      i += 2; // a rename: the old path, then the new one
      path = fields[i] ?? '';
    }
    stat.files.push(path);
    if (m[1] !== '-') stat.added += Number(m[1]);
    if (m[2] !== '-') stat.removed += Number(m[2]);
  }
  return stat;
}

/** One entry of `git ls-tree -l`: mode, type, object id and size (`-` for a submodule). */
interface TreeEntry {
  mode: string;
  type: string;
  object: string;
  size: number;
}

/** The tree entry of exactly `path` at `commit`, or null when the commit holds no such path. */
async function treeEntry(root: string, commit: string, path: string, signal?: AbortSignal): Promise<TreeEntry | null> {
  // --literal-pathspecs: a path such as `a[1].txt` is a name, not a pattern; --full-tree: relative to the top.
  const out = await gitOk(
    root,
    ['--literal-pathspecs', 'ls-tree', '-l', '-z', '--full-tree', '--end-of-options', commit, '--', path],
    { signal },
  );
  for (const line of splitNul(out)) {
    const tab = line.indexOf('\t');
    if (tab < 0 || line.slice(tab + 1) !== path) continue;
    const [mode, type, object, size] = line.slice(0, tab).split(/\s+/);
    return { mode, type, object, size: size === '-' ? 0 : Number(size) };
  }
  return null;
}

/**
 * What `path` (repository-relative, `/`-separated) held at `commit`, or null when the commit has
 * no file there (never existed, deleted, or a directory). Files over `maxBytes` are not read.
 * Rejects with a `GitCommandError` when `commit` does not exist.
 */
export async function readFileAtCommit(
  root: string,
  commit: string,
  path: string,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<FileAtCommit | null> {
  const entry = await treeEntry(root, commit, path, options.signal);
  if (entry === null) return null;
  if (entry.type === 'commit') return { kind: 'submodule', commit: entry.object };
  if (entry.type !== 'blob') return null;
  const limit = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (entry.size > limit) return { kind: 'tooLarge', size: entry.size, limit };
  const out = await runGit(root, ['cat-file', 'blob', entry.object], { signal: options.signal });
  if (out.exitCode !== 0) return null;
  if (entry.mode === '120000') return { kind: 'symlink', target: out.stdout };
  if (out.stdout.slice(0, BINARY_PROBE).includes('\0')) return { kind: 'binary', size: entry.size };
  return { kind: 'text', text: out.stdout, size: entry.size };
}

/**
 * The text an editor shows for a file at a commit: the content itself for text, otherwise one
 * line in brackets that says what the file is and why its content is not shown. A missing file
 * is empty (the empty side of a diff of an added or deleted file).
 */
export function fileAtCommitText(file: FileAtCommit | null): string {
  if (file === null) return '';
  switch (file.kind) {
    case 'text':
      return file.text;
    case 'binary':
      return `[binary file, ${formatBytes(file.size)}: not shown]\n`;
    case 'tooLarge':
      return `[file of ${formatBytes(file.size)}, larger than the ${formatBytes(file.limit)} shown at most: not shown]\n`;
    case 'submodule':
      return `[submodule at commit ${file.commit}]\n`;
    case 'symlink':
      return `[symbolic link to ${file.target}]\n`;
  }
}

/** A byte count for people: `512 bytes`, `3.4 KiB`, `1.2 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The commit `ref` (a branch, tag or commit id) names, or null when it names none. */
export async function resolveCommit(root: string, ref: string, signal?: AbortSignal): Promise<string | null> {
  const out = await runGit(root, ['rev-parse', '--verify', '-q', '--end-of-options', `${ref}^{commit}`], { signal });
  return out.exitCode === 0 ? out.stdout.trim() : null;
}
