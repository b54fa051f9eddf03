/**
 * A task's transcript as a read-only Markdown document, `foreman-transcript:/<runId>/<taskId>.md`,
 * rendered from the conversation file beside the run's journal (src/app/transcriptMarkdown.ts).
 * Its version follows the task's progress on the board, so an open tab (or its preview) is read
 * again as the agent works.
 */
import * as vscode from 'vscode';
import { join } from 'node:path';
import type { BoardRun } from '../app/leadApi';
import { transcriptMarkdown } from '../app/transcriptMarkdown';
import { readTranscript } from '../infra/transcriptFile';

/** The URI scheme of transcripts. */
export const TRANSCRIPT_SCHEME = 'foreman-transcript';

/** Ids as the engine makes them; anything else (a path, `..`) is refused before it reaches the disk. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** What a board document's URI names: `/<runId>/<taskId>.<ext>`. */
export interface BoardDocumentRef {
  runId: string;
  taskId: string;
}

/** Parse `/<runId>/<taskId>.<ext>`; null for anything else. */
export function parseBoardDocumentPath(path: string, ext: string): BoardDocumentRef | null {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m || !m[2].endsWith(ext)) return null;
  const runId = m[1];
  const taskId = m[2].slice(0, -ext.length);
  return ID.test(runId) && ID.test(taskId) && !taskId.includes('..') ? { runId, taskId } : null;
}

/** The transcript URI of a task of a run. */
export function transcriptUri(runId: string, taskId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: TRANSCRIPT_SCHEME, path: `/${runId}/${taskId}.md` });
}

/** The run on the board when `ref` belongs to it, else a sentence saying why it cannot be shown. */
export function boardRunFor(board: BoardRun | null, ref: BoardDocumentRef): BoardRun | string {
  if (board === null) return 'No run is on the board: open the run from the Lead panel to see its tasks.';
  if (board.runId !== ref.runId)
    return `Run ${ref.runId} is no longer on the board: open it from the Lead panel's history to see its tasks.`;
  return board;
}

/** Transcript content, rendered on request; `version` changes whenever it would render differently. */
export class TranscriptContent {
  readonly scheme = TRANSCRIPT_SCHEME;

  constructor(private readonly board: () => BoardRun | null) {}

  /** What the transcript depends on now: the task's step, tool calls, status and commits. */
  version(uri: vscode.Uri): string {
    const ref = parseBoardDocumentPath(uri.path, '.md');
    const run = this.board();
    const task = ref && run?.runId === ref.runId ? run.state.tasks.get(ref.taskId) : undefined;
    if (!ref || !run || !task) return `${run?.runId ?? ''}|none`;
    return [
      run.runId,
      task.status,
      task.step,
      task.toolCalls,
      task.verification.rounds,
      task.commit ?? '',
      task.compactions.length,
    ].join('|');
  }

  async provide(uri: vscode.Uri): Promise<string> {
    const ref = parseBoardDocumentPath(uri.path, '.md');
    if (ref === null) return '# Not a Foreman transcript\n';
    const run = boardRunFor(this.board(), ref);
    if (typeof run === 'string') return `# Transcript of ${ref.taskId}\n\n${run}\n`;
    const task = run.state.tasks.get(ref.taskId);
    const messages = await readTranscript(join(run.runDir, 'transcripts', `${ref.taskId}.jsonl`));
    return transcriptMarkdown(messages, {
      runId: run.runId,
      taskId: ref.taskId,
      title: task?.spec?.title ?? null,
      status: task?.status ?? null,
      compactions: task?.compactions,
    });
  }
}

/**
 * Show a transcript: rendered in Markdown's preview when VS Code's Markdown extension is there (the
 * preview's "Open Source" action shows the searchable text), otherwise as a Markdown document.
 */
export async function showTranscript(uri: vscode.Uri): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  if (vscode.extensions.getExtension('vscode.markdown-language-features')) {
    await vscode.commands.executeCommand('markdown.showPreview', uri);
    return;
  }
  // The `.md` name makes it a Markdown document.
  await vscode.window.showTextDocument(doc, { preview: true });
}
