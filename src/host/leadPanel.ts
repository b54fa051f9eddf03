/**
 * The Lead panel: the `foreman.lead` webview view. It loads only the extension's own bundle and
 * styles (CSP with a nonce, localResourceRoots limited to dist/ and media/), validates every
 * message the webview posts, answers every request with `request/didFinish` (a failure with its
 * message and typed reason), and sends the session's state while the view is visible, at most
 * MAX_UPDATES_PER_SECOND times a second (the holder's change signal is already coalesced).
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { HostMessage, PanelState, Request, RequestError } from '../protocol/panel';
import { requestErrorOf } from './errors';
import { leadModule } from './lazy';
import { createPanelDispatcher } from './panelRequests';
import type { PanelRequestDeps } from './panelRequests';
import type { SessionHolder } from './sessionHolder';

/** What the panel needs. */
export interface LeadPanelDeps {
  extensionUri: vscode.Uri;
  holder: SessionHolder;
  log: vscode.LogOutputChannel;
  /** What the request handlers need (the panel adds `sendState` itself). */
  requests: Omit<PanelRequestDeps, 'sendState'>;
  /** Check every message sent against HostMessage (development and tests; it costs a parse per update). */
  validateMessages: boolean;
}

/** The view's id in package.json. */
export const LEAD_VIEW_ID = 'foreman.lead';

/** The `foreman.lead` webview view provider. */
export class LeadPanel implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | null = null;
  private viewSubscriptions: vscode.Disposable[] = [];
  private readonly subscriptions: vscode.Disposable[] = [];
  /** The webview said `panel/ready` since it was last (re)loaded. */
  private ready = false;
  /** "New Spec" asked for focus before the webview was listening: sent after `panel/ready`. */
  private focusPending = false;
  private readonly dispatch: (request: Request) => Promise<void>;
  /** The last problem found in each type of message sent, so each is logged once, not with every update. */
  private readonly lastProblems = new Map<HostMessage['type'], string>();

  constructor(private readonly deps: LeadPanelDeps) {
    this.dispatch = createPanelDispatcher({ ...deps.requests, sendState: () => this.sendState() });
    this.subscriptions.push(deps.holder.onDidChange(() => void this.sendStateIfVisible()));
  }

  /** Called by VS Code when the view is first shown (and again if it was disposed and shown again). */
  resolveWebviewView(view: vscode.WebviewView): void {
    this.releaseView();
    this.view = view;
    this.ready = false;
    const dist = vscode.Uri.joinPath(this.deps.extensionUri, 'dist');
    const media = vscode.Uri.joinPath(this.deps.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    view.webview.html = panelHtml(view.webview, dist, media, randomBytes(16).toString('base64'));
    this.viewSubscriptions.push(
      view.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)),
      view.onDidChangeVisibility(() => {
        // A hidden webview view loses its page (no retainContextWhenHidden); the new page says ready again.
        if (!view.visible) this.ready = false;
        void this.sendStateIfVisible();
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.releaseView();
      }),
    );
    // The panel is the session's first user: start loading it while the webview loads.
    this.deps.holder.get().catch(() => {
      // Logged by the holder; `panel/ready` reports it to the panel.
    });
  }

  /** Moves keyboard focus to the spec box (now, or as soon as the webview is listening). */
  focusSpec(): void {
    this.focusPending = !(this.ready && this.view?.visible);
    if (!this.focusPending) void this.post({ type: 'focus/spec' });
  }

  dispose(): void {
    this.releaseView();
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }

  /** Validates one message from the webview and answers it. */
  private async receive(message: unknown): Promise<void> {
    const parsed = leadModule().RequestEnvelope.safeParse(message);
    if (!parsed.success) {
      this.deps.log.warn(
        `Ignored a malformed message from the Lead panel: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
      return;
    }
    const { id, request } = parsed.data;
    if (request.type === 'panel/ready') this.ready = true;
    let error: RequestError | null = null;
    try {
      await this.dispatch(request);
    } catch (e) {
      error = requestErrorOf(e, this.deps.log, `The panel's ${request.type}`);
    }
    await this.post({ type: 'request/didFinish', id, ok: error === null, error });
    if (request.type === 'panel/ready' && this.focusPending) this.focusSpec();
  }

  /** Sends the session's whole state now (the answer to `panel/ready`); creates the session if needed. */
  async sendState(): Promise<void> {
    await this.deps.holder.get();
    const state = this.deps.holder.state();
    if (state) await this.postState(state);
  }

  private async sendStateIfVisible(): Promise<void> {
    if (!this.view?.visible) return;
    const state = this.deps.holder.state();
    if (state) await this.postState(state);
  }

  private async postState(state: PanelState): Promise<void> {
    await this.post({ type: 'state/didChange', state });
  }

  /** Posts one message (checked first, if asked); false when there is no webview to take it (hidden, disposed). */
  private async post(message: HostMessage): Promise<boolean> {
    const view = this.view;
    if (!view) return false;
    if (this.deps.validateMessages) this.check(message);
    try {
      return await view.webview.postMessage(message);
    } catch {
      // The webview was disposed between the check and the post: nothing is listening to answer.
      return false;
    }
  }

  /** Logs a message that does not match the protocol, once per distinct problem (states come ten a second). */
  private check(message: HostMessage): void {
    const checked = leadModule().HostMessage.safeParse(message);
    const problem = checked.success ? '' : JSON.stringify(checked.error.issues.slice(0, 3));
    if (problem !== '' && problem !== this.lastProblems.get(message.type))
      this.deps.log.error(`The panel's ${message.type} does not match the panel protocol: ${problem}`);
    this.lastProblems.set(message.type, problem);
  }

  private releaseView(): void {
    for (const d of this.viewSubscriptions.splice(0)) d.dispose();
    this.view = null;
    this.ready = false;
  }
}

/** The panel's page: only the extension's own script (with the nonce) and styles may load. */
export function panelHtml(webview: vscode.Webview, dist: vscode.Uri, media: vscode.Uri, nonce: string): string {
  const uri = (base: vscode.Uri, ...path: string[]): string =>
    webview.asWebviewUri(vscode.Uri.joinPath(base, ...path)).toString();
  const csp = webview.cspSource;
  return `<!DOCTYPE html><html lang="en"><head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${csp}; font-src ${csp}; img-src ${csp} data:; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${uri(dist, 'codicons', 'codicon.css')}" rel="stylesheet" id="vscode-codicon-stylesheet">
<link href="${uri(media, 'panel.css')}" rel="stylesheet">
<title>Foreman Lead</title></head>
<body><div id="app"></div><script nonce="${nonce}" src="${uri(dist, 'webview.js')}"></script></body></html>`;
}
