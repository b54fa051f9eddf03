/**
 * What the panel does with a message from the host, decided without a DOM: validate it, keep the
 * new state, settle the request it answers, reconcile the UI state with it, and say what to post,
 * render and announce. main.ts carries the reaction out; tests call this directly.
 */
import { HostMessage } from '../protocol/panel';
import type { PanelState, Request } from '../protocol/panel';
import type { Finished, RequestTracker } from './requests';
import { RUN_STATUS_LOOK } from './status';
import { plural } from './format';
import { pruneUiState } from './uiState';
import type { UiState } from './uiState';

/** The panel as the controller holds it. */
export interface PanelModel {
  /** The latest valid state from the host; null until the first one. */
  state: PanelState | null;
  ui: UiState;
  /** The panel's own clock (performance.now()) when `state` arrived, to tick elapsed times from. */
  receivedAt: number;
  /** Messages that failed validation and were ignored. */
  invalid: number;
}

/** A request to post, with the key of the control it belongs to. */
export interface Post {
  key: string;
  request: Request;
}

/** What to do after a host message. */
export interface Reaction {
  model: PanelModel;
  /** Whether the panel must render again (a new state, or a request settled). */
  render: boolean;
  posts: readonly Post[];
  focusSpec: boolean;
  /** The request this message settled, if any. */
  finished: Finished | null;
  /** A sentence for the polite live region (run status changes), or null. */
  announce: string | null;
}

/** The circumstances a message arrives in. */
export interface Circumstances {
  tracker: RequestTracker;
  /** The panel's clock now (performance.now()). */
  now: number;
  /** Whether a spec change is still on its way to the host (debouncing or in flight). */
  specPending: boolean;
}

/** The panel's model before any message. */
export function initialModel(ui: UiState): PanelModel {
  return { state: null, ui, receivedAt: 0, invalid: 0 };
}

const NOTHING = { render: false, posts: [], focusSpec: false, finished: null, announce: null } as const;

/** Decides the panel's reaction to `data`, a message posted by the host (anything at all). */
export function reactToHostMessage(model: PanelModel, data: unknown, c: Circumstances): Reaction {
  const parsed = HostMessage.safeParse(data);
  if (!parsed.success) return { ...NOTHING, model: { ...model, invalid: model.invalid + 1 } };
  const msg = parsed.data;
  switch (msg.type) {
    case 'focus/spec':
      return { ...NOTHING, model, focusSpec: true };
    case 'request/didFinish': {
      // The host's clock now, estimated as the panel's ticks are, so errors and notices order by time.
      const at = model.state ? model.state.now + Math.max(0, c.now - model.receivedAt) : 0;
      const finished = c.tracker.finish(msg.id, msg.ok, msg.error, at) ?? null;
      return { ...NOTHING, model, render: finished !== null, finished };
    }
    case 'state/didChange':
      return reactToState(model, msg.state, c);
  }
}

function reactToState(model: PanelModel, state: PanelState, c: Circumstances): Reaction {
  const posts: Post[] = [];
  let ui = pruneUiState(model.ui, state);
  const draft = ui.specDraft;
  if (draft !== null && model.state === null && draft !== state.spec) {
    // The view was rebuilt with typing the host never got: send it now, keep showing it.
    posts.push({ key: 'spec', request: { type: 'spec/change', spec: draft } });
  } else if (draft !== null && (draft === state.spec || !c.specPending)) {
    // The host has the text (or every change we sent is settled): its spec is the truth again.
    ui = { ...ui, specDraft: null };
  }
  const next: PanelModel = { ...model, state, ui, receivedAt: c.now };
  return { ...NOTHING, model: next, render: true, posts, announce: announcement(model.state, state) };
}

/** A sentence when the run on the board changes status or a plan arrives; null otherwise. */
export function announcement(prev: PanelState | null, next: PanelState): string | null {
  const run = next.run;
  if (run) {
    const before = prev?.run;
    if (before && before.runId === run.runId && before.status === run.status) return null;
    if (!prev) return null;
    const look = RUN_STATUS_LOOK[run.status];
    return run.message ? `Run ${run.runId}: ${look.label}. ${run.message}` : `Run ${run.runId}: ${look.label}.`;
  }
  if (prev && prev.phase !== 'plan' && next.phase === 'plan' && next.plan) {
    return `Plan ready: ${plural(next.plan.tasks.length, 'task')}.`;
  }
  return null;
}
