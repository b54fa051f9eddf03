/**
 * Applying a run changes the developer's own branch, so nothing is applied without a click: the
 * panel's Apply and the "Apply the Run" command both go through this modal question first.
 */
import * as vscode from 'vscode';
import type { LeadApi } from '../app/leadApi';
import { currentBranch } from './gitHead';

/** How the integration branch lands on the developer's branch. */
export type ApplyMode = 'squash' | 'merge';

/**
 * Asks "Apply run X onto branch Y …?" in a modal dialog. Resolves true only when the developer
 * clicked Apply; closing the dialog or pressing Escape is a no.
 */
export async function confirmApply(lead: LeadApi, mode: ApplyMode, folder: string | null): Promise<boolean> {
  const run = lead.snapshot().run;
  const board = lead.boardRun();
  const root = board?.repoRoot ?? folder;
  const branch = (root ? await currentBranch(root) : null) ?? run?.baseBranch ?? null;
  const runName = run ? `run ${run.runId}` : 'the run';
  const onto = branch ? `branch ${branch}` : 'the current branch';
  const how = mode === 'squash' ? 'as one commit' : 'with a merge commit';
  const detail = run
    ? `Brings ${run.integration.branch} onto your checkout. Foreman refuses if your working tree has uncommitted changes in the files involved.`
    : undefined;
  const choice = await vscode.window.showWarningMessage(
    `Apply ${runName} onto ${onto} ${how}?`,
    { modal: true, detail },
    'Apply',
  );
  return choice === 'Apply';
}
