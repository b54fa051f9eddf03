/**
 * The "Foreman: Show Runs" command: the runs of the workspace's repository, rebuilt from their
 * journals by the Lead session (its history), one line each in Foreman's output channel.
 */
import * as vscode from 'vscode';
import type { HistoryEntry } from '../protocol/panel';
import { messageForUser } from './errors';
import { costText } from './statusText';
import type { SessionHolder } from './sessionHolder';

/** One line per run: id, status (with the commit an applied run went in as), tasks merged, checks, tokens and cost. */
export function describeRun(entry: HistoryEntry): string {
  const tokens = entry.usage.input + entry.usage.output;
  const cost = costText(entry.usage) ?? 'nothing spent';
  const status = entry.applied ? `applied ${entry.applied.commit.slice(0, 7)}` : entry.status;
  const unverified = entry.verification === 'skipped' ? ', not verified (no checks)' : '';
  return `${entry.runId}  ${status.padEnd(15)} ${entry.merged}/${entry.tasks} merged${unverified}  ${tokens} tokens  ${cost}`;
}

/** Registers the command; the returned disposable removes it. */
export function registerRunsCommand(holder: SessionHolder, output: vscode.LogOutputChannel): vscode.Disposable {
  return vscode.commands.registerCommand('foreman.runs.show', async () => {
    output.show(true);
    try {
      const lead = await holder.get();
      await lead.refresh();
      const { blocked, repo, history } = lead.snapshot();
      if (repo === null) {
        output.info(blocked?.message ?? 'Foreman: open a folder that is a git repository first.');
        return;
      }
      output.info(history.length ? `Runs of ${repo}:` : `No Foreman runs in ${repo} yet.`);
      for (const entry of history) output.info(`  ${describeRun(entry)}`);
    } catch (e) {
      output.error(`Could not read the runs: ${messageForUser(e, output, 'Show Runs')}`);
    }
  });
}
