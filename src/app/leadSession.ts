/**
 * The Lead session: everything the Lead panel does, independent of the editor. It owns the
 * panel's state (src/protocol/panel.ts PanelState), answers the panel's requests through a table
 * of handlers, and drives runs with the same engine and adapters as the command line. The editor
 * reaches it through LeadApi and gives it a LeadHost. It is part of the Lead bundle (leadBundle.ts),
 * loaded on first use; it must never import 'vscode'.
 */
import { priceFor } from '../core/ledger';
import type { Price } from '../core/ledger';
import { describeSandboxState } from '../core/sandbox';
import type { PanelState } from '../protocol/panel';
import { addBackend, discover, useDemo } from './backendHandlers';
import { pricesOf } from './backends';
import type { BoardRun, LeadApi, SessionRequest } from './leadApi';
import { LeadError } from './leadApi';
import type { LeadHost } from './leadHost';
import {
  cancelPlanning,
  changeOptions,
  changeSpec,
  discardPlan,
  editPlan,
  replan,
  startPlanning,
} from './planHandlers';
import { planViewOf } from './planDraft';
import { answerAsk, applyRun, closeRun, decide, openRun, resumeRun, startRun, stopAll, stopTask } from './runHandlers';
import { SessionCore } from './sessionCore';
import type { LeadSessionOptions } from './sessionCore';
import { errorDetail } from '../core/errors';

export type { LeadSessionOptions } from './sessionCore';

type Handler<T extends SessionRequest['type']> = (
  core: SessionCore,
  request: Extract<SessionRequest, { type: T }>,
) => Promise<void> | void;

/** One handler per request the session answers. */
const HANDLERS: { [T in SessionRequest['type']]: Handler<T> } = {
  'spec/change': (core, r) => changeSpec(core, r.spec),
  'options/change': (core, r) => changeOptions(core, r.options),
  'plan/start': (core) => startPlanning(core),
  'plan/cancel': (core) => cancelPlanning(core),
  'plan/replan': (core, r) => replan(core, r.comment),
  'plan/edit': (core, r) => editPlan(core, r.tasks),
  'plan/discard': (core) => discardPlan(core),
  'run/start': (core) => startRun(core),
  'run/stopAll': (core) => stopAll(core),
  'run/resume': (core, r) => resumeRun(core, r.runId, r.budgets),
  'run/open': (core, r) => openRun(core, r.runId),
  'run/close': (core) => closeRun(core),
  'run/apply': (core, r) => applyRun(core, r.mode),
  'task/stop': (core, r) => stopTask(core, r.taskId),
  'task/accept': (core, r) => decide(core, r.taskId, { kind: 'accept' }),
  'task/reject': (core, r) => decide(core, r.taskId, { kind: 'reject' }),
  'task/requestChanges': (core, r) => decide(core, r.taskId, { kind: 'requestChanges', comments: r.comments }),
  'approval/answer': (core, r) => answerAsk(core, r.key, r.choice, r.reason),
  'backend/discover': (core) => discover(core),
  'backend/add': (core, r) => addBackend(core, r),
  'backend/useDemo': (core) => useDemo(core),
  'notice/dismiss': (core, r) => core.dismissNotice(r.id),
};

/**
 * Requests answered even where the session is blocked: they edit the draft, read history or
 * tidy the panel, and run nothing. Every other request asks for trust again first.
 */
const ALWAYS_ALLOWED: ReadonlySet<SessionRequest['type']> = new Set([
  'spec/change',
  'options/change',
  'run/open',
  'run/close',
  'notice/dismiss',
]);

/** The Lead session over one editor window. Create it with `createLeadSession`. */
export class LeadSession implements LeadApi {
  private readonly core: SessionCore;

  constructor(host: LeadHost, options: LeadSessionOptions = {}) {
    this.core = new SessionCore(host, options);
  }

  snapshot(): PanelState {
    const core = this.core;
    const options = core.options();
    const planning = core.planning;
    return {
      blocked: core.blocked,
      sandbox: core.sandbox ? { kind: core.sandbox.kind, text: describeSandboxState(core.sandbox) } : null,
      repo: core.repo?.root ?? null,
      phase: planning ? 'planning' : core.board ? 'run' : core.draft ? 'plan' : 'compose',
      spec: core.spec,
      options,
      // The demo's URL is known once it listens, whichever request started it.
      backends: core.backendList.map((b) => (b.demo ? { ...b, baseUrl: core.demo.url ?? b.baseUrl } : b)),
      discovery: {
        scanning: core.discovery.scanning,
        found: [...core.discovery.found],
        scannedAt: core.discovery.scannedAt,
      },
      planning: planning ? { startedAt: planning.startedAt, message: planning.message } : null,
      plan: core.draft
        ? planViewOf(
            core.draft,
            this.selectedPrice(),
            { runTokens: options.budgetTokens, runCost: options.budgetCost, taskTokens: null, taskCost: null },
            core.settings.review,
          )
        : null,
      run: core.board?.view(core.now(), core.approvals.groups()) ?? null,
      history: [...core.historyEntries],
      notices: core.notices,
      noticesSeen: core.noticesSeen,
      now: core.now(),
    };
  }

  onDidChange(listener: () => void): () => void {
    return this.core.onChange(listener);
  }

  async handle(request: SessionRequest): Promise<void> {
    const core = this.core;
    if (core.disposed) throw new LeadError('The Foreman session has been closed.', 'busy');
    try {
      if (!ALWAYS_ALLOWED.has(request.type)) {
        // A folder made a repository (or opened) since: look again before refusing.
        if (core.blocked && core.blocked.reason !== 'untrusted') await this.refresh();
        core.ensureAllowed();
      }
      const handler = HANDLERS[request.type] as Handler<SessionRequest['type']>;
      await handler(core, request);
    } catch (e) {
      this.report(request.type, e);
      throw e;
    }
  }

  boardRun(): BoardRun | null {
    return this.core.board?.boardRun() ?? null;
  }

  refresh(): Promise<void> {
    return this.core.refresh();
  }

  dispose(): Promise<void> {
    return this.core.dispose();
  }

  /** The price of the selected model, for the plan's estimate. */
  private selectedPrice(): Price | null {
    const { backend, model } = this.core.options();
    return backend && model ? priceFor(pricesOf(this.core.settings, backend), model) : null;
  }

  /**
   * Every failure goes to the log (LeadErrors as warnings: they are answers, not faults). It is
   * not made a notice as well: the request's answer carries it to the control that asked, which
   * says it once.
   */
  private report(type: string, e: unknown): void {
    if (LeadError.is(e)) {
      this.core.host.log('warn', `${type} refused (${e.reason}): ${e.message}`);
      return;
    }
    this.core.host.log('error', `${type} failed: ${errorDetail(e)}`);
  }
}

/** Create the session for `host` and read its settings, workspace and history. */
export async function createLeadSession(host: LeadHost, options: LeadSessionOptions = {}): Promise<LeadSession> {
  const session = new LeadSession(host, options);
  await session.refresh();
  return session;
}

// The extension's eager bundle stays free of zod: it validates webview messages, state and
// settings with the schemas carried by this bundle, which it loads on first use anyway.
