/**
 * What a sandboxed command sees of the file system outside its scope: which folders are hidden
 * (shown empty), and what inside them is brought back, read-only, because the command's
 * environment needs it. A pure function of the scope and the environment, so that every `Sandbox`
 * hides the same things and the rule is tested without one.
 *
 * Hidden: the developer's checkout, Foreman's home folder and the system's temporary folder (the
 * scope's `hidden`). Brought back: the folders on the command's PATH that lie in a hidden folder
 * (a toolchain in the home folder, such as nvm's node or cargo's binaries), with the toolchain's
 * root when the folder is a `bin` (nvm's `npm` is a link into `../lib`), and any path a variable of
 * the environment names (a set-up command's REPO_PATH, a RUSTUP_HOME the user passes through
 * `sandbox.env`). The worktree, the task's own folders and the `readOnly` paths are mounted by the
 * sandbox itself, over whatever hides them.
 */
import path from 'node:path';
import type { SandboxScope } from './sandbox';

/** What a command needs of the system to run: never hidden, nor any folder that holds one of them. */
const SYSTEM_FOLDERS: readonly string[] = ['/bin', '/dev', '/etc', '/lib', '/proc', '/sbin', '/usr'];

/** Variables that point at the scope's own folders, or that are read as PATH is. */
const NOT_NAMING_PATHS: ReadonlySet<string> = new Set(['PATH', 'HOME', 'TMPDIR', 'XDG_CACHE_HOME']);

/**
 * `~/.local` is not a toolchain: beside `bin/` it holds applications' data and shell history
 * (`share/`, `state/`). Of it, only `bin/` and the virtual environments pipx links `bin/` into
 * come back.
 */
const LOCAL_SHOWN: readonly string[] = [path.join('share', 'pipx')];

/** The folders a sandboxed command cannot read, and what inside them it can, read-only. */
export interface SandboxView {
  /** Folders shown empty and read-only: only the outermost of nested ones, sorted. */
  hidden: string[];
  /** Paths inside a hidden folder shown as they are, read-only: only the outermost, sorted. */
  shown: string[];
}

/** Whether `inner` is `outer` or lies below it (both absolute and normalised). */
export function isWithin(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}

/** The absolute paths of a `:`-separated list, normalised; relative entries are dropped. */
function absoluteEntries(value: string): string[] {
  return value
    .split(':')
    .filter((entry) => path.isAbsolute(entry))
    .map((entry) => path.resolve(entry));
}

/** Each PATH folder, with its toolchain's root when it is a `bin` (`.local` brings back less). */
function pathFolders(value: string): string[] {
  return absoluteEntries(value).flatMap((dir) => {
    if (path.basename(dir) !== 'bin') return [dir];
    const root = path.dirname(dir);
    if (path.basename(root) === '.local') return [dir, ...LOCAL_SHOWN.map((rel) => path.join(root, rel))];
    return [dir, root];
  });
}

/** The outermost of `paths`, without duplicates, sorted. */
function outermost(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  return sorted.filter((p) => !sorted.some((q) => q !== p && isWithin(q, p)));
}

/**
 * The view of a command with environment `env` in `scope`. A hidden folder that is `/`, holds a
 * system folder (`/usr`, `/etc`, …) or lies inside the worktree is not hidden. A PATH folder is
 * brought back only when it lies strictly inside a hidden folder (a PATH naming the home folder
 * itself does not bring it back); a path another variable names is brought back even when it is
 * a hidden folder itself, since the command was given it to read.
 */
export function sandboxView(scope: SandboxScope, env: Readonly<Record<string, string>>): SandboxView {
  const hidden = outermost(
    scope.hidden
      .filter((p) => path.isAbsolute(p))
      .map((p) => path.resolve(p))
      .filter((p) => p !== '/' && !SYSTEM_FOLDERS.some((s) => isWithin(p, s)) && !isWithin(scope.worktree, p)),
  );
  const inHidden = (p: string, strictly: boolean): boolean =>
    hidden.some((h) => isWithin(h, p) && (!strictly || p !== h));
  const shown = [
    ...pathFolders(env.PATH ?? '').filter((p) => inHidden(p, true)),
    ...Object.entries(env)
      .filter(([name]) => !NOT_NAMING_PATHS.has(name))
      .flatMap(([, value]) => absoluteEntries(value))
      .filter((p) => inHidden(p, false)),
  ];
  return { hidden, shown: outermost(shown) };
}
