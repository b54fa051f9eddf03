/**
 * The panel's controller: the one place that talks to VS Code's webview API. It feeds host
 * messages through `reactToHostMessage`, posts requests with increasing ids, saves the UI state,
 * debounces spec edits, and gives the views their context.
 */
import type { Request } from '../protocol/panel';
import { App } from './app';
import { Controls } from './context';
import type { PanelContext } from './context';
import { initialModel, reactToHostMessage } from './hostMessages';
import type { PanelModel, Reaction } from './hostMessages';
import { RequestTracker } from './requests';
import { restoreUiState } from './uiState';
import type { UiState } from './uiState';

/** The part of `acquireVsCodeApi()` the panel uses. */
export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

/** How long spec typing rests before it is sent to the host. */
export const SPEC_DEBOUNCE_MS = 300;

/** Drives the panel. Call `start()` once the root element is in the document. */
export class PanelController implements PanelContext {
  private readonly tracker = new RequestTracker();
  readonly controls = new Controls(this.tracker);
  private model: PanelModel;
  private readonly app: App;
  private specTimer: ReturnType<typeof setTimeout> | null = null;
  private scrollRestored = false;
  private scrollTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly api: VsCodeApi,
    private readonly root: HTMLElement,
  ) {
    this.model = initialModel(restoreUiState(api.getState()));
    this.app = new App(this);
    root.replaceChildren(this.app.el);
  }

  /** Listens to the host, says the panel is ready, and starts the one-second tick. */
  start(): void {
    window.addEventListener('message', (ev: MessageEvent) => this.receive(ev.data));
    window.addEventListener('scroll', () => this.rememberScroll(), { passive: true });
    this.send('panel', { type: 'panel/ready' });
    setInterval(() => this.app.tick(), 1000);
  }

  /** Handles one message from the host (anything at all; invalid ones are counted and ignored). */
  receive(data: unknown): void {
    const specPending = this.specTimer !== null || this.tracker.isBusy('spec');
    const reaction = reactToHostMessage(this.model, data, {
      tracker: this.tracker,
      now: performance.now(),
      specPending,
    });
    const uiChanged = reaction.model.ui !== this.model.ui;
    this.model = reaction.model;
    if (uiChanged) this.api.setState(this.model.ui);
    this.apply(reaction);
  }

  private apply(r: Reaction): void {
    if (this.model.invalid > 0) this.root.dataset.invalidMessages = String(this.model.invalid);
    for (const p of r.posts) this.send(p.key, p.request);
    r.finished?.onDone?.(r.finished.ok);
    if (r.render) this.rerender();
    // Busy marks and errors change only when a request starts (send) or settles (here).
    if (r.finished) this.controls.refresh();
    if (r.announce) this.app.announce(r.announce);
    if (r.focusSpec) this.app.focusSpec();
    if (r.render && !this.scrollRestored && this.model.state) {
      this.scrollRestored = true;
      window.scrollTo(0, this.model.ui.scrollY);
    }
  }

  send(key: string, request: Request, onDone?: (ok: boolean) => void): void {
    this.api.postMessage(this.tracker.start(key, request, onDone));
    this.controls.refresh();
  }

  ui(): UiState {
    return this.model.ui;
  }

  updateUi(change: (ui: UiState) => UiState): void {
    const ui = change(this.model.ui);
    if (ui === this.model.ui) return;
    this.model = { ...this.model, ui };
    this.api.setState(ui);
  }

  rerender(): void {
    if (this.model.state) this.app.render(this.model.state);
  }

  hostNow(): number {
    const s = this.model.state;
    return s ? s.now + this.sinceState() : Date.now();
  }

  sinceState(): number {
    return this.model.state ? performance.now() - this.model.receivedAt : 0;
  }

  specEdited(text: string): void {
    this.updateUi((ui) => ({ ...ui, specDraft: text }));
    if (this.specTimer !== null) clearTimeout(this.specTimer);
    this.specTimer = setTimeout(() => this.flushSpec(), SPEC_DEBOUNCE_MS);
  }

  flushSpec(): void {
    if (this.specTimer === null) return;
    clearTimeout(this.specTimer);
    this.specTimer = null;
    const draft = this.model.ui.specDraft;
    if (draft !== null) this.send('spec', { type: 'spec/change', spec: draft });
  }

  /** Saves the scroll position at most five times a second. */
  private rememberScroll(): void {
    if (this.scrollTimer !== null) return;
    this.scrollTimer = setTimeout(() => {
      this.scrollTimer = null;
      const y = Math.round(window.scrollY);
      if (y !== this.model.ui.scrollY) this.updateUi((ui) => ({ ...ui, scrollY: y }));
    }, 200);
  }
}
