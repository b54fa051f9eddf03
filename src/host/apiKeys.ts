/**
 * API keys: entered in a password box, kept in VS Code's SecretStorage under
 * `foreman.apiKey.<backend>`, handed only to the session's model client (LeadHost.apiKey). A key is
 * never put in settings, never logged, and never sent to the webview (which only learns `hasKey`).
 */
import * as vscode from 'vscode';
import type { BackendView } from '../protocol/panel';
import type { SessionHolder } from './sessionHolder';
import { apiKeySecretName } from './vscodeLeadHost';

/** The key commands, for the command table and the panel's `backend/setKey`. */
export interface ApiKeys {
  /** Asks for `backend`'s key (or first which backend) and stores it. Resolves false when cancelled. */
  set(backend?: string): Promise<boolean>;
  /** Removes `backend`'s key (or first asks which). Resolves false when cancelled. */
  clear(backend?: string): Promise<boolean>;
}

/** Creates the key commands over the extension's SecretStorage. */
export function createApiKeys(secrets: vscode.SecretStorage, holder: SessionHolder): ApiKeys {
  const backends = async (): Promise<BackendView[]> => (await holder.get()).snapshot().backends.filter((b) => !b.demo);
  return {
    async set(backend) {
      const name = backend ?? (await pickBackend(await backends(), 'Set the API key of which backend?', offerToAdd));
      if (name === undefined) return false;
      const key = await vscode.window.showInputBox({
        title: `API key for ${name}`,
        prompt: "Kept in VS Code's secret storage; never written to settings or logs.",
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() === '' ? 'Enter the key, or press Escape to cancel.' : null),
      });
      if (key === undefined) return false;
      await secrets.store(apiKeySecretName(name), key.trim());
      await holder.refresh();
      void vscode.window.showInformationMessage(`Foreman: saved the API key for ${name}.`);
      return true;
    },
    async clear(backend) {
      const name =
        backend ??
        (await pickBackend(
          (await backends()).filter((b) => b.hasKey),
          'Remove the API key of which backend?',
          noKeys,
        ));
      if (name === undefined) return false;
      await secrets.delete(apiKeySecretName(name));
      await holder.refresh();
      void vscode.window.showInformationMessage(`Foreman: removed the API key for ${name}.`);
      return true;
    },
  };
}

/** Says there is nothing to pick and offers the Add command (without waiting for the toast to close). */
function offerToAdd(): void {
  const add = 'Add a Backend…';
  void vscode.window
    .showInformationMessage('Foreman: no backend is configured yet. Add one first.', add)
    .then((choice) => {
      if (choice === add) void vscode.commands.executeCommand('foreman.backend.add');
    });
}

function noKeys(): void {
  void vscode.window.showInformationMessage('Foreman: no backend has a stored API key.');
}

/** A backend's name picked from `list`; undefined when the pick is cancelled or `list` is empty (then `whenEmpty` runs). */
async function pickBackend(list: BackendView[], title: string, whenEmpty: () => void): Promise<string | undefined> {
  if (list.length === 0) {
    whenEmpty();
    return undefined;
  }
  const items = list.map((b) => ({
    label: b.name,
    description: b.baseUrl,
    detail: b.hasKey ? 'Has a key' : 'No key yet',
    name: b.name,
  }));
  const picked = await vscode.window.showQuickPick(items, { title, ignoreFocusOut: true });
  return picked?.name;
}
