/**
 * The status bar while a run is live: agents at work, output tokens/s and spend (click: the Lead
 * panel), and a Stop item beside it. When the run ends, its outcome stays for a few seconds, then
 * both items hide. The `foreman.running` context key drives the Stop button in the view's title.
 * Updates come through the session holder's coalesced change signal.
 */
import * as vscode from 'vscode';
import type { RunView } from '../protocol/panel';
import type { SessionHolder } from './sessionHolder';
import { costText, liveText, outcomeText, sandboxWarning } from './statusText';

/** How long a finished run's outcome stays in the status bar. */
const OUTCOME_MS = 8000;

function tooltip(run: RunView): vscode.MarkdownString {
  const u = run.usage;
  const merged = run.tasks.filter((t) => t.status === 'merged').length;
  const lines = [
    `**Foreman run ${run.runId}** (${run.live ? 'running' : run.status})`,
    `Tasks: ${merged}/${run.tasks.length} merged`,
    `Tokens: ${u.input.toLocaleString()} in (${u.cached.toLocaleString()} cached) · ${u.output.toLocaleString()} out${u.estimated ? ' (estimated)' : ''}`,
    `Cost: ${costText(u) ?? 'nothing spent yet'}${u.unpriced ? ' (some requests had no price: set prices in foreman.backends)' : ''}`,
    run.live ? 'Click to open the Lead panel.' : (run.message ?? ''),
  ];
  const md = new vscode.MarkdownString(lines.filter((l) => l !== '').join('\n\n'));
  md.supportThemeIcons = true;
  return md;
}

/** Creates both items and keeps them in step with the session. */
export function createStatusBar(holder: SessionHolder): vscode.Disposable {
  const main = vscode.window.createStatusBarItem('foreman.status', vscode.StatusBarAlignment.Left, 50);
  main.name = 'Foreman';
  main.command = 'foreman.lead.focus';
  const stop = vscode.window.createStatusBarItem('foreman.stop', vscode.StatusBarAlignment.Left, 49);
  stop.name = 'Foreman: Stop All';
  stop.text = '$(debug-stop) Stop';
  stop.tooltip = 'Stop every Foreman agent (their work so far is kept)';
  stop.command = 'foreman.run.stopAll';
  let running = false;
  let wasLive: string | null = null;
  let hideTimer: ReturnType<typeof setTimeout> | undefined;

  const setRunning = (value: boolean): void => {
    if (value === running) return;
    running = value;
    void vscode.commands.executeCommand('setContext', 'foreman.running', value);
  };

  const update = (): void => {
    const run = holder.state()?.run ?? null;
    const live = run?.live === true;
    setRunning(live);
    if (run && live) {
      clearTimeout(hideTimer);
      hideTimer = undefined;
      wasLive = run.runId;
      const sandbox = holder.state()?.sandbox ?? null;
      main.text = liveText(run) + (sandbox?.kind === 'off' ? ' · $(warning) no sandbox' : '');
      main.tooltip = tooltip(run);
      main.show();
      stop.show();
      return;
    }
    stop.hide();
    if (run && wasLive === run.runId) showOutcome(run);
    else if (hideTimer === undefined) showSandboxOrHide();
    wasLive = null;
  };

  /** Between runs the item stays only to say that agent commands would not be confined. */
  const showSandboxOrHide = (): void => {
    const sandbox = holder.state()?.sandbox ?? null;
    const text = sandbox ? sandboxWarning(sandbox.kind) : null;
    if (!sandbox || text === null) return main.hide();
    main.text = text;
    main.tooltip = `${sandbox.text} Click to open the Lead panel.`;
    main.show();
  };

  const showOutcome = (run: RunView): void => {
    main.text = outcomeText(run);
    main.tooltip = tooltip(run);
    main.show();
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => {
      hideTimer = undefined;
      showSandboxOrHide();
    }, OUTCOME_MS);
  };

  const sub = holder.onDidChange(update);
  return new vscode.Disposable(() => {
    sub.dispose();
    clearTimeout(hideTimer);
    setRunning(false);
    main.dispose();
    stop.dispose();
  });
}
