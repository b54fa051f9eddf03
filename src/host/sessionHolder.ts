/**
 * The one Lead session of the window, created on first use. Activation only builds this holder: the
 * session's code (engine, git, openai client) is the separate bundle dist/lead.js, loaded by the
 * first `get()` (the panel resolving, or any command). Its change signal is coalesced here, once,
 * to MAX_UPDATES_PER_SECOND, and every consumer (panel, status bar, changes tree) listens to that.
 */
import * as vscode from 'vscode';
import type { LeadApi } from '../app/leadApi';
import type { LeadHost } from '../app/leadHost';
import type { PanelState } from '../protocol/panel';
import { createUpdateThrottle } from '../app/updateThrottle';
import { MAX_UPDATES_PER_SECOND } from '../protocol/constants';
import { DisposableStore, toDisposable } from './disposables';
import { leadModule } from './lazy';
import { errorDetail } from '../core/errors';

/** Loads the session bundle; replaceable in tests. */
export type SessionFactory = (host: LeadHost) => Promise<LeadApi>;

const loadSession: SessionFactory = async (host) => {
  // dist/lead.js, a bundle of its own, loaded here on first use (src/host/lazy.ts).
  const { createLeadSession } = leadModule();
  return createLeadSession(host);
};

/** Owner of the lazily created session. Nothing is loaded until `get()`. */
export class SessionHolder implements vscode.Disposable {
  /** Fires at most MAX_UPDATES_PER_SECOND times a second after the session changed, and once when it is created. */
  readonly onDidChange: vscode.Event<void>;
  /** The emitter, and once the session exists, its throttle and the subscription to it. */
  private readonly store = new DisposableStore();
  private readonly changed: vscode.EventEmitter<void>;
  private session: LeadApi | null = null;
  private creating: Promise<LeadApi> | null = null;
  private closed: Promise<void> | null = null;
  /** The snapshot shared by the listeners of the change being delivered; null outside a delivery. */
  private shared: PanelState | null = null;
  private delivering = false;

  constructor(
    private readonly host: LeadHost,
    private readonly log: vscode.LogOutputChannel,
    private readonly factory: SessionFactory = loadSession,
  ) {
    this.changed = this.store.add(new vscode.EventEmitter<void>());
    this.onDidChange = this.changed.event;
  }

  /** The session, created (once) on the first call. A failed creation is retried by the next call. */
  get(): Promise<LeadApi> {
    if (this.closed) return Promise.reject(new Error('The Foreman extension is shutting down.'));
    if (this.session) return Promise.resolve(this.session);
    this.creating ??= this.create().catch((e: unknown) => {
      this.creating = null;
      this.log.error(`Could not start the Lead session: ${errorDetail(e)}`);
      throw e;
    });
    return this.creating;
  }

  /** The session if it exists, without creating it. */
  current(): LeadApi | null {
    return this.session;
  }

  /**
   * The session's snapshot, or null before it exists. Listeners of one `onDidChange` share one
   * snapshot (the panel and the status bar read it on the same signal); other callers get a fresh one.
   */
  state(): PanelState | null {
    if (!this.session) return null;
    if (!this.delivering) return this.session.snapshot();
    this.shared ??= this.session.snapshot();
    return this.shared;
  }

  /** Re-reads settings, trust and history, if a session exists (a new one reads them anyway). */
  async refresh(): Promise<void> {
    await this.session?.refresh();
  }

  /** Stops the session's live runs and releases it; waits for that. Idempotent. */
  shutdown(): Promise<void> {
    this.closed ??= this.close();
    return this.closed;
  }

  dispose(): void {
    this.shutdown().catch((e: unknown) => this.log.error(`Stopping the Lead session failed: ${String(e)}`));
  }

  private async create(): Promise<LeadApi> {
    const started = performance.now();
    const created = await this.factory(this.host);
    if (this.closed) {
      await created.dispose();
      throw new Error('The Foreman session was created after the extension shut down.');
    }
    // Made with the session: the protocol module that holds the rate is not loaded at activation.
    const throttle = this.store.add(createUpdateThrottle(() => this.fire(), MAX_UPDATES_PER_SECOND));
    this.session = created;
    this.store.add(toDisposable(created.onDidChange(() => throttle.signal())));
    this.log.info(`Lead session ready in ${(performance.now() - started).toFixed(0)} ms`);
    throttle.signal();
    return created;
  }

  /** Nothing more is delivered from here on; a session being created is disposed when it arrives. */
  private async close(): Promise<void> {
    this.store.dispose();
    const live = this.session ?? (await this.creating?.catch(() => null)) ?? null;
    this.session = null;
    await live?.dispose();
  }

  /**
   * Delivers one (coalesced) change. A failing view must not throw into the session's change loop:
   * its error is logged instead.
   */
  private fire(): void {
    this.delivering = true;
    try {
      this.changed.fire();
    } catch (e) {
      this.log.error(`A Foreman view failed to update: ${errorDetail(e)}`);
    } finally {
      this.delivering = false;
      this.shared = null;
    }
  }
}
