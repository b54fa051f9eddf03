/**
 * The extension's composition root: creates each contribution, registers it with the extension's
 * subscriptions, and nothing else. Features live in src/host/.
 */
import * as vscode from 'vscode';
import { registerRunsCommand } from './host/runsOutput';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Foreman', { log: true });
  context.subscriptions.push(output, registerRunsCommand(output));
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
