/**
 * Read-only documents of files at a commit, for the diff editor: `foreman-git:/<path>?<query>`,
 * where the query is JSON `{"root": <repository top level>, "commit": <commit id or null>}`. The
 * path stays the URI's path so the editor's title, icon and language come from the file name; a
 * null commit is the empty side of an added or deleted file. Content at a fixed commit never
 * changes, so nothing here is ever refreshed. Nothing is checked out: content comes from git's
 * object store (src/infra/gitShow.ts).
 */
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import { leadModule } from './lazy';

/** The URI scheme of files at a commit. */
export const GIT_SCHEME = 'foreman-git';

/** What a `foreman-git` URI points at. */
export interface GitFileRef {
  root: string;
  /** The commit to read; null for an empty document. */
  commit: string | null;
  /** Repository-relative, `/`-separated. */
  path: string;
}

/** The URI of `path` at `commit` in the repository at `root`. */
export function gitFileUri(ref: GitFileRef): vscode.Uri {
  return vscode.Uri.from({
    scheme: GIT_SCHEME,
    path: `/${ref.path}`,
    query: JSON.stringify({ root: ref.root, commit: ref.commit }),
  });
}

/** The reference a `foreman-git` URI encodes, or null when it is not one of ours. */
export function parseGitFileUri(uri: vscode.Uri): GitFileRef | null {
  if (uri.scheme !== GIT_SCHEME) return null;
  try {
    const q = JSON.parse(uri.query) as unknown;
    if (typeof q !== 'object' || q === null) return null;
    const { root, commit } = q as Record<string, unknown>;
    if (typeof root !== 'string' || (commit !== null && typeof commit !== 'string')) return null;
    return { root, commit, path: uri.path.replace(/^\//, '') };
  } catch {
    // A query that is not JSON was not made by gitFileUri.
    return null;
  }
}

/**
 * The content provider of `foreman-git`. It serves only repositories it was told about with
 * `allow` (those of runs shown on the board), so a crafted link cannot make it read elsewhere.
 */
export class GitContentProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly roots = new Set<string>();
  /** Documents refused so far (tabs restored before the board's run was known), by repository. */
  private readonly refused = new Map<string, vscode.Uri[]>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Let documents of the repository at `root` be served; documents refused before are read again. */
  allow(root: string): void {
    if (this.roots.has(root)) return;
    this.roots.add(root);
    for (const uri of this.refused.get(root) ?? []) this.changed.fire(uri);
    this.refused.delete(root);
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const ref = parseGitFileUri(uri);
    if (ref === null) return '[not a file reference Foreman made]\n';
    if (!this.roots.has(ref.root)) {
      this.refused.set(ref.root, [...(this.refused.get(ref.root) ?? []), uri].slice(-100));
      return `[Foreman shows files only of repositories with a run on the board; ${ref.root} has none now]\n`;
    }
    if (ref.commit === null) return '';
    const abort = new AbortController();
    const sub = token.onCancellationRequested(() => abort.abort());
    try {
      const git = leadModule();
      return git.fileAtCommitText(await git.readFileAtCommit(ref.root, ref.commit, ref.path, { signal: abort.signal }));
    } catch (e) {
      const message = errorMessage(e);
      this.log.warn(`Could not read ${ref.path} at ${ref.commit} in ${ref.root}: ${message}`);
      return `[could not read ${ref.path} at commit ${ref.commit.slice(0, 10)}: ${message}]\n`;
    } finally {
      sub.dispose();
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
