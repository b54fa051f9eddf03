/**
 * The "Foreman: Show Runs" command: the runs of the workspace's repository, rebuilt from their
 * journals, written to Foreman's output channel. The Lead panel will build on the same data.
 */
import * as vscode from 'vscode';
import { reduceJournal } from '../core/runState';
import type { RunState } from '../core/runState';
import { createGitRepo } from '../infra/gitRepo';
import { listRunIds, readJournal, runJournalPath } from '../infra/journalFile';
import { createProcessRunner } from '../infra/processRunner';

/** One line per run: id, status, tasks merged, tokens and cost. */
export function describeRun(state: RunState): string {
  const tasks = [...state.tasks.values()];
  const merged = tasks.filter((t) => t.status === 'merged').length;
  const tokens = state.usage.input + state.usage.output;
  const cost = state.usage.cost === null ? 'unpriced' : `$${state.usage.cost.toFixed(4)}`;
  return `${state.runId}  ${state.status.padEnd(11)} ${merged}/${tasks.length} merged  ${tokens} tokens  ${cost}`;
}

/** Registers the command; the returned disposable removes it. */
export function registerRunsCommand(output: vscode.OutputChannel): vscode.Disposable {
  return vscode.commands.registerCommand('foreman.runs.show', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showInformationMessage('Foreman: open a folder that is a git repository first.');
      return;
    }
    output.show(true);
    try {
      const repo = await createGitRepo({ cwd: folder.uri.fsPath, runner: createProcessRunner() });
      const ids = await listRunIds(repo.stateDir);
      output.appendLine(ids.length ? `Runs of ${repo.root}:` : `No Foreman runs in ${repo.root} yet.`);
      for (const id of ids) {
        const { events } = await readJournal(runJournalPath(repo.stateDir, id));
        output.appendLine(`  ${describeRun(reduceJournal(events))}`);
      }
    } catch (e) {
      output.appendLine(`Could not read the runs: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}
