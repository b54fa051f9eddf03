/**
 * The extension's composition root: a list of contributions, each created in its own guard so one
 * failure is logged and cannot block the rest, each registered with the extension's subscriptions.
 * Activation loads nothing heavy: the Lead session (engine, git, model client) is dist/lead.js,
 * loaded when the panel or a command first needs it. Features live in src/host/.
 */
// First: it records when the bundle began to run (see loadClock.ts).
import { bundleStartedAt } from './host/loadClock';
import * as vscode from 'vscode';
import type { LeadApi } from './app/leadApi';
import { createApiKeys } from './host/apiKeys';
import { registerCommands } from './host/commands';
import { LEAD_VIEW_ID, LeadPanel } from './host/leadPanel';
import type { ReviewOpeners } from './host/panelRequests';
import { registerMcpServerProvider } from './host/mcpServerProvider';
import { registerForgetMcpInputs } from './host/mcpInputs';
import { createReviewFeatures } from './host/review';
import { registerRunsCommand } from './host/runsOutput';
import { SessionHolder } from './host/sessionHolder';
import { createStatusBar } from './host/statusBar';
import { createVscodeLeadHost } from './host/vscodeLeadHost';
import { errorDetail } from './core/errors';

/**
 * How long the bundle's code took to evaluate: every import above has run by the time this line
 * does. Together with activate()'s own duration this is Foreman's activation cost; the time VS Code
 * spends between loading the module and calling activate() (its own set-up, other extensions) is not.
 */
const codeMs = performance.now() - bundleStartedAt;

/** What activate() returns to other extensions and to the extension-host tests. */
export interface ForemanApi {
  /** Foreman's activation cost in ms: evaluating the bundle's code plus running activate(). */
  readonly activationMs: number;
  /** The Lead session (created on the first call). */
  lead(): Promise<LeadApi>;
}

let holder: SessionHolder | undefined;

export function activate(context: vscode.ExtensionContext): ForemanApi {
  const activateStarted = performance.now();
  const log = vscode.window.createOutputChannel('Foreman', { log: true });
  context.subscriptions.push(log);
  const add = <T extends vscode.Disposable>(name: string, create: () => T): T | null => {
    try {
      const created = create();
      context.subscriptions.push(created);
      return created;
    } catch (e) {
      log.error(`Foreman could not start its ${name}: ${errorDetail(e)}`);
      return null;
    }
  };

  const folder = (): string | null => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? null;
  const session = new SessionHolder(createVscodeLeadHost(context, log), log);
  holder = session;
  context.subscriptions.push(session);
  const keys = createApiKeys(context.secrets, session);
  const review = add('review features', () => createReviewFeatures(() => session.current(), log));
  const openers: ReviewOpeners = review ?? reviewUnavailable();
  const panel = add(
    'Lead panel',
    () =>
      new LeadPanel({
        extensionUri: context.extensionUri,
        holder: session,
        log,
        requests: { lead: () => session.get(), review: openers, keys, folder },
        validateMessages: context.extensionMode !== vscode.ExtensionMode.Production,
      }),
  );
  if (panel) add('Lead view', () => vscode.window.registerWebviewViewProvider(LEAD_VIEW_ID, panel));
  add('commands', () =>
    registerCommands({ holder: session, review: openers, keys, log, folder, focusSpec: () => panel?.focusSpec() }),
  );
  add('Show Runs command', () => registerRunsCommand(session, log));
  add('status bar', () => createStatusBar(session));
  add('changes refresh', () => session.onDidChange(() => review?.refresh()));
  add('settings and trust listeners', () => watchSettingsAndTrust(context, session, log));
  const manifest = context.extension.packageJSON as { version?: string };
  add('MCP server definition', () =>
    registerMcpServerProvider({
      extensionPath: context.extensionPath,
      version: manifest.version ?? '0.0.0',
      secrets: context.secrets,
      log,
    }),
  );

  add('Forget MCP Inputs command', () => registerForgetMcpInputs(context.secrets));

  const activateMs = performance.now() - activateStarted;
  const activationMs = codeMs + activateMs;
  log.info(
    `Foreman activated in ${activationMs.toFixed(1)} ms (code ${codeMs.toFixed(1)} ms, activate() ${activateMs.toFixed(1)} ms)`,
  );
  return { activationMs, lead: () => session.get() };
}

/** Waits for the session's live runs to stop (their processes killed, work kept). */
export async function deactivate(): Promise<void> {
  await holder?.shutdown();
  holder = undefined;
}

/** The session reads settings, trust and keys again when any of them changes. */
function watchSettingsAndTrust(
  context: vscode.ExtensionContext,
  session: SessionHolder,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  const refresh = (): void => {
    session.refresh().catch((e: unknown) => log.error(`Refreshing the Lead session failed: ${errorDetail(e)}`));
  };
  return vscode.Disposable.from(
    vscode.workspace.onDidGrantWorkspaceTrust(refresh),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('foreman') && refresh()),
    vscode.workspace.onDidChangeWorkspaceFolders(refresh),
    context.secrets.onDidChange((e) => e.key.startsWith('foreman.apiKey.') && refresh()),
  );
}

/** Stands in for the review features when they failed to start (the log says why). */
function reviewUnavailable(): ReviewOpeners {
  const fail = (): Promise<never> => Promise.reject(new Error("Foreman's review features did not start"));
  return { openChanges: fail, openTranscript: fail, openChecks: fail, openAudit: fail };
}
