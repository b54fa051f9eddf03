/**
 * The Changes view (`foreman.changes`): one node per task of the board's run that has a commit,
 * plus the integration branch once something is merged into it; under each, the files it changed.
 * A task's files are those between the commit its worktree started from and its latest commit, so
 * a task that started after its dependencies shows only its own work (for a task without
 * dependencies that start is the run's base). The integration branch is compared with the base.
 *
 * Cheap at scale: the board can change ten times a second, but the tree fires only when what it
 * shows changed (a status, a new commit), and git is asked once per pair of commits, whose list of
 * changed files never changes; only visible nodes ask at all.
 */
import * as vscode from 'vscode';
import { posix } from 'node:path';
import type { BoardRun } from '../app/leadApi';
import { INTEGRATION_ID, integrationBranch } from '../core/branches';
import type { RunState, TaskState } from '../core/runState';
import type { ChangedFile, ChangeKind } from '../infra/gitShow';
import { gitFileUri } from './gitContent';
import { leadModule } from './lazy';
import { STATUS_ICON } from './statusIcons';
import type { TaskStatus } from '../protocol/panel';
import { errorMessage } from '../core/errors';

/** The scheme of the tree's file items (they carry the change kind for the decoration). */
export const CHANGE_SCHEME = 'foreman-change';

/** A task, or the integration branch, with the two commits it is compared between. */
export interface TargetNode {
  kind: 'target';
  /** `<runId>/<taskId>`, stable across refreshes so the tree keeps what is expanded. */
  id: string;
  taskId: string;
  runId: string;
  root: string;
  label: string;
  /** The task's status; null for the integration branch. */
  status: string | null;
  from: string;
  to: string;
  /** How the diff title names the left side: `base`, or the commit a dependent task started from. */
  fromLabel: string;
}

/** One changed file of a target. */
export interface FileNode {
  kind: 'file';
  parent: TargetNode;
  file: ChangedFile;
}

export type ChangesNode = TargetNode | FileNode;

/** A list of changed files being fetched, fetched, or failed. */
interface ListEntry {
  promise: Promise<ChangedFile[]>;
  files: ChangedFile[] | null;
  error: string | null;
}

/** Lists kept at most (a run has far fewer task commits; the cap only bounds a very long session). */
const MAX_LISTS = 512;

const KIND_WORDS: Record<ChangeKind, string> = { A: 'Added', M: 'Modified', D: 'Deleted', R: 'Renamed' };

/** The tree's data. `onRepository` is told of every repository whose files the tree links to. */
export class ChangesTree implements vscode.TreeDataProvider<ChangesNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ChangesNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly nodes = new Map<string, TargetNode>();
  private targets: TargetNode[] = [];
  private signature: string | null = null;
  private readonly lists = new Map<string, ListEntry>();
  /** The integration branch's head for a given set of merges (`key`), once resolved. */
  private integration: { key: string; head: string | null } | null = null;
  private resolving: string | null = null;
  private fireTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly board: () => BoardRun | null,
    private readonly log: vscode.LogOutputChannel,
    private readonly onRepository: (root: string) => void,
  ) {}

  /** Re-read the board; the tree fires only when a node's label, status or commits changed. */
  update(): void {
    if (this.sync()) this.fireSoon();
  }

  /** Forget failed lookups and the integration head, and show everything again. */
  reload(): void {
    for (const [key, entry] of this.lists) if (entry.error !== null) this.lists.delete(key);
    this.integration = null;
    this.signature = null;
    this.sync();
    this.fireSoon();
  }

  /** The node of `taskId` (or INTEGRATION_ID) in the board's run, or null when it has no commits to compare. */
  target(taskId: string): TargetNode | null {
    this.sync();
    return this.targets.find((t) => t.taskId === taskId) ?? null;
  }

  /** The files `target` changed (fetched once per pair of commits). Rejects when git fails. */
  files(target: TargetNode): Promise<ChangedFile[]> {
    const { root, from, to } = target;
    const key = `${root}\0${from}\0${to}`;
    const known = this.lists.get(key);
    if (known) return known.promise;
    if (this.lists.size >= MAX_LISTS) this.lists.delete(this.lists.keys().next().value ?? '');
    const entry: ListEntry = { files: null, error: null, promise: Promise.resolve([]) };
    entry.promise = Promise.resolve()
      .then(() => leadModule().listChangedFiles(root, from, to))
      .then(
        (files) => {
          entry.files = files;
          return files;
        },
        (e: unknown) => {
          entry.error = errorMessage(e);
          this.log.warn(`Could not list the changes of ${target.id}: ${entry.error}`);
          throw e;
        },
      )
      .finally(() => this.fireSoon());
    this.lists.set(key, entry);
    return entry.promise;
  }

  getTreeItem(node: ChangesNode): vscode.TreeItem {
    return node.kind === 'target' ? this.targetItem(node) : fileItem(node);
  }

  async getChildren(node?: ChangesNode): Promise<ChangesNode[]> {
    if (node === undefined) {
      this.sync();
      return this.targets;
    }
    if (node.kind === 'file') return [];
    try {
      return (await this.files(node)).map((file) => ({ kind: 'file', parent: node, file }));
    } catch {
      // Already logged by files(); the node's description says the list could not be read.
      return [];
    }
  }

  getParent(node: ChangesNode): ChangesNode | undefined {
    return node.kind === 'file' ? node.parent : undefined;
  }

  dispose(): void {
    clearTimeout(this.fireTimer);
    this.changed.dispose();
  }

  private targetItem(node: TargetNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = node.id;
    const entry = this.lists.get(`${node.root}\0${node.from}\0${node.to}`);
    if (!entry) void this.files(node).catch(() => undefined);
    const count = entry?.error ? 'could not list the files' : entry?.files ? plural(entry.files.length, 'file') : '…';
    item.description = node.status ? `${node.status.replace('_', ' ')} · ${count}` : count;
    const status = node.status ? `${node.taskId} · ${node.status}` : integrationBranch(node.runId);
    item.tooltip = `${node.label}\n${status}\n${node.fromLabel} ${node.from.slice(0, 10)} → ${node.to.slice(0, 10)}${entry?.error ? `\n${entry.error}` : ''}`;
    item.iconPath = new vscode.ThemeIcon(
      node.status ? (STATUS_ICON[node.status as TaskStatus] ?? 'circle-outline') : 'git-branch',
    );
    item.contextValue = node.status ? 'foreman.changes.task' : 'foreman.changes.integration';
    return item;
  }

  /** Recompute the targets from the board; true when something the tree shows changed. */
  private sync(): boolean {
    const run = this.board();
    const targets = run && run.state.base ? this.targetsOf(run, run.state.base) : [];
    const signature = targets.map((t) => [t.id, t.label, t.status, t.from, t.to].join('\0')).join('\n');
    if (signature === this.signature) return false;
    this.signature = signature;
    this.targets = targets;
    for (const id of [...this.nodes.keys()]) if (!targets.some((t) => t.id === id)) this.nodes.delete(id);
    return true;
  }

  private targetsOf(run: BoardRun, base: string): TargetNode[] {
    this.onRepository(run.repoRoot);
    const out: TargetNode[] = [];
    for (const task of run.state.tasks.values()) {
      if (task.commit === null) continue;
      const from = task.from ?? base;
      const fromLabel = from === base ? 'base' : `start ${from.slice(0, 7)}`;
      out.push(
        this.node(run, task.id, {
          label: task.spec?.title ?? task.id,
          status: task.status,
          from,
          to: task.commit,
          fromLabel,
        }),
      );
    }
    const head = this.integrationHead(run);
    if (head !== null && head !== base) {
      out.push(
        this.node(run, INTEGRATION_ID, {
          label: 'Integration branch',
          status: null,
          from: base,
          to: head,
          fromLabel: 'base',
        }),
      );
    }
    return out;
  }

  /** The node object for a target, reused across refreshes so `reveal` and selection keep working. */
  private node(
    run: BoardRun,
    taskId: string,
    fields: Pick<TargetNode, 'label' | 'status' | 'from' | 'to' | 'fromLabel'>,
  ): TargetNode {
    const id = `${run.runId}/${taskId}`;
    const node = this.nodes.get(id) ?? { kind: 'target', id, taskId, runId: run.runId, root: run.repoRoot, ...fields };
    Object.assign(node, { root: run.repoRoot }, fields);
    this.nodes.set(id, node);
    return node;
  }

  /**
   * The integration branch's head as last resolved, or null while nothing is merged. Git is asked
   * again only when the set of merges changes; the answer arrives later and refreshes the tree.
   */
  private integrationHead(run: BoardRun): string | null {
    const key = mergeKey(run.repoRoot, run.state);
    if (key === null) return null;
    if (this.integration?.key !== key && this.resolving !== key) {
      this.resolving = key;
      void Promise.resolve()
        .then(() => leadModule().resolveCommit(run.repoRoot, integrationBranch(run.runId)))
        .catch((e: unknown) => {
          this.log.warn(`Could not read the integration branch of ${run.runId}: ${errorMessage(e)}`);
          return null;
        })
        .then((head) => {
          if (this.resolving === key) this.resolving = null;
          this.integration = { key, head };
          this.update();
        });
    }
    return this.integration?.key.startsWith(`${run.repoRoot}\0${run.runId}\0`) ? this.integration.head : null;
  }

  /** Fire once for a burst of changes (a refresh and the lists it starts). */
  private fireSoon(): void {
    if (this.fireTimer !== undefined) return;
    this.fireTimer = setTimeout(() => {
      this.fireTimer = undefined;
      this.changed.fire(undefined);
    }, 50);
  }
}

/** What identifies the integration branch's content: the run and its merge commits; null when none. */
function mergeKey(root: string, state: RunState): string | null {
  const merges = [...state.tasks.values()]
    .filter((t: TaskState) => t.merge?.ok && t.merge.commit)
    .map((t) => t.merge?.commit ?? '');
  return merges.length === 0 ? null : `${root}\0${state.runId}\0${merges.sort().join(',')}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The URI a file item carries: its path (for the icon) and its change kind (for the decoration). */
export function changeUri(node: FileNode): vscode.Uri {
  return vscode.Uri.from({
    scheme: CHANGE_SCHEME,
    path: `/${node.file.path}`,
    query: JSON.stringify({ kind: node.file.kind, target: node.parent.id }),
  });
}

function fileItem(node: FileNode): vscode.TreeItem {
  const { path, oldPath, kind } = node.file;
  const item = new vscode.TreeItem(changeUri(node), vscode.TreeItemCollapsibleState.None);
  item.id = `${node.parent.id}:${path}`;
  item.label = posix.basename(path);
  const dir = posix.dirname(path);
  item.description = [dir === '.' ? '' : dir, oldPath ? `← ${oldPath}` : ''].filter(Boolean).join(' ');
  item.iconPath = vscode.ThemeIcon.File;
  item.tooltip = `${path}\n${KIND_WORDS[kind]}${oldPath ? ` from ${oldPath}` : ''}`;
  item.contextValue = 'foreman.changes.file';
  item.command = { command: 'foreman.changes.openDiff', title: 'Open Diff', arguments: [node] };
  return item;
}

/** Open the diff of one changed file: the left side at the target's start, the right at its commit. */
export async function openFileDiff(node: FileNode): Promise<void> {
  const { parent, file } = node;
  const left = gitFileUri({
    root: parent.root,
    commit: file.kind === 'A' ? null : parent.from,
    path: file.oldPath ?? file.path,
  });
  const right = gitFileUri({ root: parent.root, commit: file.kind === 'D' ? null : parent.to, path: file.path });
  const name = file.oldPath
    ? `${posix.basename(file.oldPath)} → ${posix.basename(file.path)}`
    : posix.basename(file.path);
  const title = `${name} (${parent.fromLabel} ↔ ${parent.status === null ? 'integration' : parent.taskId})`;
  await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: true });
}

const DECORATIONS: Record<ChangeKind, vscode.FileDecoration> = {
  A: new vscode.FileDecoration('A', 'Added', new vscode.ThemeColor('gitDecoration.addedResourceForeground')),
  M: new vscode.FileDecoration('M', 'Modified', new vscode.ThemeColor('gitDecoration.modifiedResourceForeground')),
  D: new vscode.FileDecoration('D', 'Deleted', new vscode.ThemeColor('gitDecoration.deletedResourceForeground')),
  R: new vscode.FileDecoration('R', 'Renamed', new vscode.ThemeColor('gitDecoration.renamedResourceForeground')),
};

/** The A/M/D/R letter and git colour of the tree's file items; other URIs are left alone. */
export class ChangeDecorations implements vscode.FileDecorationProvider {
  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== CHANGE_SCHEME) return undefined;
    try {
      const kind = (JSON.parse(uri.query) as { kind?: unknown }).kind;
      return typeof kind === 'string' && kind in DECORATIONS ? DECORATIONS[kind as ChangeKind] : undefined;
    } catch {
      // Not a URI the tree made.
      return undefined;
    }
  }
}
