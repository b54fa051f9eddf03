/**
 * What every view of the panel is given: a way to send requests, the UI state, the clock, and the
 * bookkeeping that shows a control busy while its request is in flight and its error beside it.
 */
import type { Request, RequestErrorReason } from '../protocol/panel';
import { h, icon, setAttr, setHidden, setText } from './dom';
import type { KeptError, RequestTracker } from './requests';
import type { UiState } from './uiState';

/** The panel's services, as views use them. */
export interface PanelContext {
  /** Posts `request` under `key` (see RequestTracker); `onDone` hears whether the host carried it out. */
  send(key: string, request: Request, onDone?: (ok: boolean) => void): void;
  /** The UI state now. */
  ui(): UiState;
  /** Changes and saves the UI state. Views redraw what they own themselves; call `rerender` for more. */
  updateUi(change: (ui: UiState) => UiState): void;
  /** Renders the latest state again (after a UI change other views must see). */
  rerender(): void;
  /** The host's clock now, estimated from the latest state's `now` and the time since it arrived. */
  hostNow(): number;
  /** Milliseconds since the latest state arrived. */
  sinceState(): number;
  /** The spec text was edited: remember it and send it to the host after a short pause. */
  specEdited(text: string): void;
  /** Sends a pending spec edit now (before planning, so the host plans what is on screen). */
  flushSpec(): void;
  controls: Controls;
}

/** Left out of error slots while the blocked banner says it for them. */
const SHOWN_BY_BANNER: ReadonlySet<RequestErrorReason> = new Set(['blocked']);

/**
 * Busy states and errors of controls. A control is bound to a request key; while a request under
 * that key is in flight it is marked `aria-disabled` and busy (not `disabled`, so keyboard focus
 * stays on it), and clicks on it are ignored. `enable` sets whether the state allows it at all,
 * which uses the real `disabled`.
 */
export class Controls {
  private readonly keys = new Map<HTMLButtonElement, string>();
  private readonly allowed = new WeakMap<HTMLButtonElement, boolean>();
  private readonly slots = new Map<HTMLElement, readonly string[]>();
  private bannerShown = false;

  constructor(private readonly tracker: RequestTracker) {}

  /** Binds `btn` to request `key` and returns it. */
  bind(btn: HTMLButtonElement, key: string): HTMLButtonElement {
    this.keys.set(btn, key);
    this.apply(btn);
    return btn;
  }

  /** Sets whether the panel's state allows `btn` now. */
  enable(btn: HTMLButtonElement, enabled: boolean): void {
    this.allowed.set(btn, enabled);
    this.apply(btn);
  }

  /** Whether `btn` may act now (allowed and not busy); click handlers check it. */
  canAct(btn: HTMLButtonElement): boolean {
    const key = this.keys.get(btn);
    return this.allowed.get(btn) !== false && !(key !== undefined && this.tracker.isBusy(key));
  }

  /** An element that shows the errors kept under keys starting with one of `prefixes`. */
  errorSlot(prefixes: readonly string[]): HTMLElement {
    const text = h('span', { class: 'inline-error-text' });
    const el = h('div', { class: 'inline-error', role: 'alert', hidden: true }, icon('error'), text);
    this.slots.set(el, prefixes);
    this.applySlot(el, prefixes);
    return el;
  }

  /**
   * The latest error of the requests whose keys start with one of `prefixes`, for the panel's line
   * (no slot shows those); a 'blocked' one is left out while the blocked banner says it.
   */
  latestError(prefixes: readonly string[]): KeptError | null {
    return this.tracker.latestError(prefixes, this.bannerShown ? SHOWN_BY_BANNER : undefined);
  }

  /** Forgets the error under `key` (the developer dismissed it). */
  dismissError(key: string): void {
    this.tracker.clearError(key);
  }

  /** Forgets the controls and error slots inside `root` (a board row that left the board). */
  release(root: Element): void {
    for (const btn of this.keys.keys()) if (root.contains(btn)) this.keys.delete(btn);
    for (const slot of this.slots.keys()) if (root.contains(slot)) this.slots.delete(slot);
  }

  /**
   * Whether the panel shows why Foreman cannot run here. While it does, a 'blocked' refusal beside
   * a control would only repeat it, so slots leave those out; when the block is lifted they are
   * stale, so they are forgotten.
   */
  setBlockedBanner(shown: boolean): void {
    if (shown === this.bannerShown) return;
    this.bannerShown = shown;
    if (!shown) this.tracker.clearErrorsOf('blocked');
    for (const [slot, prefixes] of this.slots) this.applySlot(slot, prefixes);
  }

  /** Brings every bound control and error slot up to date with the requests in flight. */
  refresh(): void {
    for (const btn of this.keys.keys()) this.apply(btn);
    for (const [slot, prefixes] of this.slots) this.applySlot(slot, prefixes);
  }

  private apply(btn: HTMLButtonElement): void {
    const key = this.keys.get(btn);
    const busy = key !== undefined && this.tracker.isBusy(key);
    const disabled = this.allowed.get(btn) === false;
    if (btn.disabled !== disabled) btn.disabled = disabled;
    setAttr(btn, 'aria-disabled', busy ? 'true' : null);
    setAttr(btn, 'aria-busy', busy ? 'true' : null);
    btn.classList.toggle('is-busy', busy);
  }

  private applySlot(slot: HTMLElement, prefixes: readonly string[]): void {
    const errors = this.tracker.errorsFor(prefixes, this.bannerShown ? SHOWN_BY_BANNER : undefined);
    setText(slot.lastElementChild as Element, errors.join(' '));
    setHidden(slot, errors.length === 0);
  }
}

/**
 * A button bound to request `key` that sends `request()` when clicked, unless disabled or busy.
 * `request` is called at click time so it reads the latest state.
 */
export function requestButton(
  ctx: PanelContext,
  btn: HTMLButtonElement,
  key: string,
  request: () => Request | null,
  onDone?: (ok: boolean) => void,
): HTMLButtonElement {
  ctx.controls.bind(btn, key);
  btn.addEventListener('click', () => {
    if (!ctx.controls.canAct(btn)) return;
    const r = request();
    if (r) ctx.send(key, r, onDone);
  });
  return btn;
}
