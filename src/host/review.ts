/**
 * The editor's review features for the run on the Lead panel's board: the Changes tree with a diff
 * per changed file (content read from git's objects, never checked out), each task's transcript
 * rendered as Markdown, and each task's check output, all in read-only editor tabs that follow the
 * run as it goes. Created once by the extension's composition root; it registers and disposes its
 * own providers, tree view and the `foreman.changes.*` commands.
 */
import * as vscode from 'vscode';
import type { BoardRun, LeadApi } from '../app/leadApi';
import { INTEGRATION_ID } from '../core/branches';
import { ChangeDecorations, ChangesTree, openFileDiff } from './changesTree';
import type { ChangesNode } from './changesTree';
import { CHECKS_SCHEME, ChecksContent, checksUri, showChecks, verificationOf } from './checksDocument';
import { AUDIT_SCHEME, AuditContent, auditUri } from './auditDocument';
import { GIT_SCHEME, GitContentProvider } from './gitContent';
import { showTranscript, TRANSCRIPT_SCHEME, TranscriptContent, transcriptUri } from './transcriptDocument';
import { errorMessage } from '../core/errors';

/** What the rest of the extension uses of the review features. */
export interface ReviewFeatures extends vscode.Disposable {
  /**
   * Reveal the task's files in the Changes tree and open the first file's diff. `taskId` may be
   * INTEGRATION_ID for the integration branch. Says so in a message when there is nothing to show.
   */
  openChanges(taskId: string): Promise<void>;
  /** Open the task's transcript, rendered, in a read-only editor tab. */
  openTranscript(taskId: string): Promise<void>;
  /** Open the task's (or the integration branch's) latest verification output in a read-only editor tab. */
  openChecks(taskId: string): Promise<void>;
  /** Open the task's transcript and, beside it, its audit trail. */
  openAudit(taskId: string): Promise<void>;
  /** The board changed: cheap, may be called many times a second; the work is throttled. */
  refresh(): void;
}

/** How often the tree looks at the board at most, and how often open documents are read again. */
const TREE_INTERVAL_MS = 250;
const DOCUMENT_INTERVAL_MS = 1000;

/** Content whose `version` says when it would read differently. */
interface VersionedContent {
  readonly scheme: string;
  version(uri: vscode.Uri): string;
  provide(uri: vscode.Uri): string | Promise<string>;
}

/**
 * A content provider for documents that follow the board: it remembers the version each open
 * document was served at and fires `onDidChange` for those whose version has moved on.
 */
class LiveDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly served = new Map<string, { uri: vscode.Uri; version: string }>();

  constructor(
    private readonly content: VersionedContent,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    this.served.set(uri.toString(), { uri, version: this.content.version(uri) });
    try {
      return await this.content.provide(uri);
    } catch (e) {
      const message = errorMessage(e);
      this.log.error(`Could not show ${uri.toString(true)}: ${message}`);
      return `Foreman could not read this document: ${message}\n`;
    }
  }

  /** Ask the editor to read again every open document whose content has changed. */
  update(): void {
    for (const entry of this.served.values()) {
      const version = this.content.version(entry.uri);
      if (version === entry.version) continue;
      entry.version = version;
      this.changed.fire(entry.uri);
    }
  }

  /** The document was closed: stop following it. */
  forget(uri: vscode.Uri): void {
    this.served.delete(uri.toString());
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Runs `work` at most once per `ms`, the first call of a burst after `ms`. */
class Throttle implements vscode.Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly ms: number,
    private readonly work: () => void,
  ) {}

  schedule(): void {
    if (this.disposed || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.work();
    }, this.ms);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
  }
}

class Review implements ReviewFeatures {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly tree: ChangesTree;
  private readonly view: vscode.TreeView<ChangesNode>;
  private readonly transcripts: LiveDocuments;
  private readonly checks: LiveDocuments;
  private readonly audits: LiveDocuments;
  private readonly treeThrottle: Throttle;
  private readonly documentThrottle: Throttle;

  constructor(
    private readonly lead: () => LeadApi | null,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const board = (): BoardRun | null => this.lead()?.boardRun() ?? null;
    const git = this.register(new GitContentProvider(log));
    this.tree = this.register(new ChangesTree(board, log, (root) => git.allow(root)));
    this.view = this.register(
      vscode.window.createTreeView('foreman.changes', { treeDataProvider: this.tree, showCollapseAll: true }),
    );
    this.transcripts = this.register(new LiveDocuments(new TranscriptContent(board), log));
    this.checks = this.register(new LiveDocuments(new ChecksContent(board), log));
    this.audits = this.register(new LiveDocuments(new AuditContent(board), log));
    this.treeThrottle = this.register(new Throttle(TREE_INTERVAL_MS, () => this.tree.update()));
    this.documentThrottle = this.register(
      new Throttle(DOCUMENT_INTERVAL_MS, () => {
        this.transcripts.update();
        this.checks.update();
        this.audits.update();
      }),
    );
    this.register(vscode.workspace.registerTextDocumentContentProvider(GIT_SCHEME, git));
    this.register(vscode.workspace.registerTextDocumentContentProvider(TRANSCRIPT_SCHEME, this.transcripts));
    this.register(vscode.workspace.registerTextDocumentContentProvider(CHECKS_SCHEME, this.checks));
    this.register(vscode.workspace.registerTextDocumentContentProvider(AUDIT_SCHEME, this.audits));
    this.register(vscode.window.registerFileDecorationProvider(new ChangeDecorations()));
    this.register(
      vscode.workspace.onDidCloseTextDocument((doc) => {
        this.transcripts.forget(doc.uri);
        this.checks.forget(doc.uri);
        this.audits.forget(doc.uri);
      }),
    );
    this.register(
      vscode.commands.registerCommand('foreman.changes.openDiff', (node?: ChangesNode) =>
        this.guard('open the diff', () => this.openDiff(node)),
      ),
    );
    this.register(vscode.commands.registerCommand('foreman.changes.refresh', () => this.tree.reload()));
  }

  refresh(): void {
    this.treeThrottle.schedule();
    this.documentThrottle.schedule();
  }

  openChanges(taskId: string): Promise<void> {
    return this.guard('show the changes', async () => {
      if (!this.board()) return;
      const target = this.tree.target(taskId);
      if (target === null) {
        const why =
          taskId === INTEGRATION_ID
            ? 'Nothing is merged into the integration branch yet.'
            : `Task ${taskId} has no committed changes yet.`;
        void vscode.window.showInformationMessage(`Foreman: ${why}`);
        return;
      }
      const files = await this.tree.files(target);
      await this.view.reveal(target, { expand: true, select: true, focus: false });
      if (files.length === 0) {
        void vscode.window.showInformationMessage(`Foreman: ${target.label} changed no files.`);
        return;
      }
      await openFileDiff({ kind: 'file', parent: target, file: files[0] });
    });
  }

  openTranscript(taskId: string): Promise<void> {
    return this.guard('open the transcript', async () => {
      const run = this.board();
      if (!run) return;
      if (taskId === INTEGRATION_ID) {
        void vscode.window.showInformationMessage(
          "Foreman: the integration branch has no conversation; open a task's transcript instead.",
        );
        return;
      }
      if (!run.state.tasks.has(taskId)) {
        void vscode.window.showWarningMessage(`Foreman: run ${run.runId} has no task ${taskId}.`);
        return;
      }
      await showTranscript(transcriptUri(run.runId, taskId));
    });
  }

  openChecks(taskId: string): Promise<void> {
    return this.guard('open the check output', async () => {
      const run = this.board();
      if (!run) return;
      const found = verificationOf(run, taskId);
      if (found === null) {
        void vscode.window.showWarningMessage(`Foreman: run ${run.runId} has no task ${taskId}.`);
        return;
      }
      if (found.verification.last === null) {
        void vscode.window.showInformationMessage(`Foreman: no verification of ${found.target} has run yet.`);
        return;
      }
      await showChecks(checksUri(run.runId, taskId));
    });
  }

  openAudit(taskId: string): Promise<void> {
    return this.guard('open the audit trail', async () => {
      const run = this.board();
      if (!run) return;
      if (!run.state.tasks.has(taskId)) {
        void vscode.window.showWarningMessage(`Foreman: run ${run.runId} has no task ${taskId}.`);
        return;
      }
      await showTranscript(transcriptUri(run.runId, taskId));
      const doc = await vscode.workspace.openTextDocument(auditUri(run.runId, taskId));
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0).reverse()) d.dispose();
  }

  /** The run on the board; when there is none, says so and returns null. */
  private board(): BoardRun | null {
    const run = this.lead()?.boardRun() ?? null;
    if (run === null)
      void vscode.window.showInformationMessage(
        'Foreman: no run is on the board. Run a plan or open a past run in the Lead panel.',
      );
    return run;
  }

  /** The diff of a file item, or of the first file of a task item; the tree's selection when none is given. */
  private async openDiff(node: ChangesNode | undefined): Promise<void> {
    const chosen = node ?? this.view.selection[0];
    if (chosen === undefined) return;
    if (chosen.kind === 'file') {
      await openFileDiff(chosen);
      return;
    }
    const files = await this.tree.files(chosen);
    if (files.length > 0) await openFileDiff({ kind: 'file', parent: chosen, file: files[0] });
  }

  /** Run a user action; an unexpected failure is logged and shown instead of rejecting. */
  private async guard(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (e) {
      const message = errorMessage(e);
      this.log.error(`Could not ${what}: ${message}`);
      void vscode.window.showErrorMessage(`Foreman could not ${what}: ${message}`);
    }
  }

  private register<T extends vscode.Disposable>(d: T): T {
    this.disposables.push(d);
    return d;
  }
}

/**
 * Create the review features. `lead` gives the Lead session once it is loaded (null before); the
 * features read the board's run from it on demand and never change run state.
 */
export function createReviewFeatures(lead: () => LeadApi | null, log: vscode.LogOutputChannel): ReviewFeatures {
  return new Review(lead, log);
}
