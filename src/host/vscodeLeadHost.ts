/**
 * VS Code as the Lead session's editor (LeadHost): the workspace folder and its trust, the
 * `foreman.*` settings, API keys from SecretStorage, per-workspace memory, the log channel,
 * progress notifications, `.vscode/mcp.json`'s inputs asked for and kept as secrets (mcpInputs.ts),
 * and the sample repository that ships in the extension (samples/demo-shop)
 * with a new window to open its copy in.
 */
import * as vscode from 'vscode';
import { join } from 'node:path';
import { askApproval, showApprovalSummary } from './approvalPrompts';
import type { BackendSetting, LeadHost, LeadSettings } from '../app/leadHost';
import { leadModule } from './lazy';
import { createMcpInputs } from './mcpInputs';

/** Where a backend's API key is kept in SecretStorage. */
export function apiKeySecretName(backend: string): string {
  return `foreman.apiKey.${backend}`;
}

/** The LeadHost the extension gives the session. */
export function createVscodeLeadHost(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): LeadHost {
  let lastWarnings = '';
  return {
    get folder() {
      return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? null;
    },
    isTrusted: () => vscode.workspace.isTrusted,
    readSettings(): LeadSettings {
      const config = vscode.workspace.getConfiguration('foreman');
      const { settings, warnings } = leadModule().readLeadSettings(
        (key) => config.get(key),
        (key) => {
          // The command policy is read per level: a workspace may tighten it, never loosen it.
          const at = config.inspect(key);
          const workspace = [at?.workspaceValue, at?.workspaceFolderValue].filter((v) => v !== undefined);
          return { user: at?.globalValue, workspace };
        },
      );
      // The session reads settings for every plan and run: say each set of problems once.
      const text = warnings.join('\n');
      if (text !== lastWarnings) for (const w of warnings) log.warn(w);
      lastWarnings = text;
      return settings;
    },
    apiKey: async (backend) => context.secrets.get(apiKeySecretName(backend)),
    // SecretStorage cannot test for a key without reading it; the key stays in this function.
    hasApiKey: async (backend) => (await context.secrets.get(apiKeySecretName(backend))) !== undefined,
    addBackend: (backend) => addBackend(backend),
    memory: {
      get: <T>(key: string) => context.workspaceState.get<T>(key),
      set: async (key, value) => context.workspaceState.update(key, value),
    },
    log(level, message) {
      log[level](message);
    },
    withProgress: (title, work) => withProgress(title, work),
    askApproval,
    showApprovalSummary,
    sampleSource: join(context.extensionPath, 'samples', 'demo-shop'),
    openFolder: async (folder) => {
      await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(folder), { forceNewWindow: true });
    },
    mcpInputs: createMcpInputs(context.secrets),
  };
}

/** Writes the backend into the user's `foreman.backends`, replacing one of the same name in place. */
async function addBackend(backend: BackendSetting): Promise<void> {
  const config = vscode.workspace.getConfiguration('foreman');
  const current = config.inspect<unknown[]>('backends')?.globalValue;
  const list = Array.isArray(current) ? [...current] : [];
  const entry = stripUndefined(backend);
  const at = list.findIndex(
    (b) => typeof b === 'object' && b !== null && (b as { name?: unknown }).name === backend.name,
  );
  if (at >= 0) list[at] = entry;
  else list.push(entry);
  await config.update('backends', list, vscode.ConfigurationTarget.Global);
}

/** settings.json should not gain `"prices": undefined`-style keys (they would be written as null). */
function stripUndefined(backend: BackendSetting): Record<string, unknown> {
  return Object.fromEntries(Object.entries(backend).filter(([, v]) => v !== undefined));
}

/** A cancellable notification; cancelling aborts the signal `work` was given. */
function withProgress<T>(title: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const options = { location: vscode.ProgressLocation.Notification, title, cancellable: true };
  return Promise.resolve(
    vscode.window.withProgress(options, async (_progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort(new Error(`${title}: cancelled`)));
      try {
        return await work(abort.signal);
      } finally {
        sub.dispose();
      }
    }),
  );
}
