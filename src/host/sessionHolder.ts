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
import type { UpdateThrottle } from '../app/updateThrottle';
import { MAX_UPDATES_PER_SECOND } from '../protocol/constants';
import { leadModule } from './lazy';
import { errorDetail } from '../core/errors';

/** Owner of the lazily created session. */
export interface SessionHolder extends vscode.Disposable {
  /** The session, created (once) on the first call. A failed creation is retried by the next call. */
  get(): Promise<LeadApi>;
  /** The session if it exists, without creating it. */
  current(): LeadApi | null;
  /**
   * The session's snapshot, or null before it exists. Listeners of one `onDidChange` share one
   * snapshot (the panel and the status bar read it on the same signal); other callers get a fresh one.
   */
  state(): PanelState | null;
  /** Fires at most MAX_UPDATES_PER_SECOND times a second after the session changed, and once when it is created. */
  readonly onDidChange: vscode.Event<void>;
  /** Re-reads settings, trust and history, if a session exists (a new one reads them anyway). */
  refresh(): Promise<void>;
  /** Stops the session's live runs and releases it; waits for that. Idempotent. */
  shutdown(): Promise<void>;
}

/** Loads the session bundle; replaceable in tests. */
export type SessionFactory = (host: LeadHost) => Promise<LeadApi>;

const loadSession: SessionFactory = async (host) => {
  // dist/lead.js, a bundle of its own, loaded here on first use (src/host/lazy.ts).
  const { createLeadSession } = leadModule();
  return createLeadSession(host);
};

/** Creates the holder; nothing is loaded until `get()`. */
export function createSessionHolder(
  host: LeadHost,
  log: vscode.LogOutputChannel,
  factory: SessionFactory = loadSession,
): SessionHolder {
  const changed = new vscode.EventEmitter<void>();
  let session: LeadApi | null = null;
  /** The snapshot shared by the listeners of the change being delivered; null outside a delivery. */
  let shared: PanelState | null = null;
  let delivering = false;
  // A failing view must not throw into the session's change loop: its error is logged instead.
  const fire = (): void => {
    delivering = true;
    try {
      changed.fire();
    } catch (e) {
      log.error(`A Foreman view failed to update: ${errorDetail(e)}`);
    } finally {
      delivering = false;
      shared = null;
    }
  };
  // Made with the session: the protocol module that holds the rate is not loaded at activation.
  let throttle: UpdateThrottle | null = null;
  let creating: Promise<LeadApi> | null = null;
  let unsubscribe: (() => void) | null = null;
  let closed: Promise<void> | null = null;

  const create = async (): Promise<LeadApi> => {
    const started = performance.now();
    const created = await factory(host);
    if (closed) {
      await created.dispose();
      throw new Error('The Foreman session was created after the extension shut down.');
    }
    const coalesced = createUpdateThrottle(fire, MAX_UPDATES_PER_SECOND);
    throttle = coalesced;
    session = created;
    unsubscribe = created.onDidChange(() => coalesced.signal());
    log.info(`Lead session ready in ${(performance.now() - started).toFixed(0)} ms`);
    coalesced.signal();
    return created;
  };

  const shutdown = (): Promise<void> => {
    closed ??= (async () => {
      throttle?.dispose();
      const pending = creating;
      const live = session ?? (pending ? await pending.catch(() => null) : null);
      unsubscribe?.();
      session = null;
      changed.dispose();
      await live?.dispose();
    })();
    return closed;
  };

  return {
    get() {
      if (closed) return Promise.reject(new Error('The Foreman extension is shutting down.'));
      if (session) return Promise.resolve(session);
      creating ??= create().catch((e: unknown) => {
        creating = null;
        log.error(`Could not start the Lead session: ${errorDetail(e)}`);
        throw e;
      });
      return creating;
    },
    current: () => session,
    state() {
      if (!session) return null;
      if (!delivering) return session.snapshot();
      shared ??= session.snapshot();
      return shared;
    },
    onDidChange: changed.event,
    async refresh() {
      await session?.refresh();
    },
    shutdown,
    dispose() {
      void shutdown().catch((e: unknown) => log.error(`Stopping the Lead session failed: ${String(e)}`));
    },
  };
}
