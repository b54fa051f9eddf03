/**
 * The messages at the top of the panel: one line for the latest event (the host's notices, and the
 * errors of the run's own requests, which no control beside them shows), the log of earlier
 * events on demand, and, when Foreman cannot run here, why not.
 */
import type { Notice, PanelState } from '../protocol/panel';
import { button, h, icon, setAttr, setHidden, setText, uid } from './dom';
import type { PanelContext } from './context';
import { formatMoment } from './format';

const NOTICE_ICON: Record<Notice['kind'], string> = { info: 'info', warning: 'warning', error: 'error' };

/**
 * The keys of the board's run requests (Apply, Resume, Stop all, New spec): their errors are run
 * errors, said in the panel's line and nowhere else.
 */
export const LINE_ERROR_KEYS: readonly string[] = ['run/apply', 'run/resume', 'run/stopAll', 'run/close'];

/** What the line shows: a notice, or a run request's error. */
type LineItem = { source: 'notice'; notice: Notice } | { source: 'error'; key: string; text: string; at: number };

/**
 * The panel's one line: the latest event, with a toggle that opens the log of earlier ones
 * ("3 earlier") and a button that dismisses the line (the log keeps it). Errors are alerts, the
 * rest polite status messages; a long message is cut to four lines until the log is open.
 */
export class NoticeLine {
  private readonly icon = icon('info');
  private readonly text = h('div', { class: 'line-text' });
  private readonly toggle: HTMLButtonElement;
  private readonly dismiss: HTMLButtonElement;
  private readonly line: HTMLElement;
  private readonly log = h('ol', { class: 'notice-log', 'aria-label': 'Earlier events', hidden: true });
  readonly el: HTMLElement;
  private item: LineItem | null = null;
  private signature = '';

  constructor(private readonly ctx: PanelContext) {
    this.log.id = uid('log');
    this.toggle = button('', { kind: 'link', title: 'Show the earlier events' }, () => {
      this.ctx.updateUi((ui) => ({ ...ui, logOpen: !ui.logOpen }));
      this.ctx.rerender();
    });
    setAttr(this.toggle, 'aria-controls', this.log.id);
    setAttr(this.toggle, 'aria-expanded', 'false');
    this.toggle.classList.add('line-toggle');
    this.dismiss = button('', { kind: 'icon', icon: 'close', label: 'Dismiss' }, () => this.dismissItem());
    this.line = h('div', { class: 'notice line' }, this.icon, this.text, this.toggle, this.dismiss);
    this.el = h('div', { class: 'line-area' }, this.line, this.log);
  }

  /** The run whose outcome the line tells now (the board then leaves out its own message), or null. */
  outcomeShown(): string | null {
    const item = this.item;
    return item?.source === 'notice' && item.notice.outcome ? item.notice.runId : null;
  }

  update(state: PanelState): void {
    const latest = state.notices.at(-1);
    const unseen = latest && latest.id > state.noticesSeen ? latest : null;
    const error = this.ctx.controls.latestError(LINE_ERROR_KEYS);
    this.item =
      error && (!unseen || error.at >= unseen.at)
        ? { source: 'error', key: error.key, text: error.message, at: error.at }
        : unseen
          ? { source: 'notice', notice: unseen }
          : null;
    const shownId = this.item?.source === 'notice' ? this.item.notice.id : null;
    const earlier = state.notices.filter((n) => n.id !== shownId).reverse();
    const open = this.ctx.ui().logOpen && earlier.length > 0;
    this.fillLine(earlier.length, open);
    const signature = JSON.stringify([open, earlier.map((n) => n.id), state.now - (state.now % 60_000)]);
    if (signature !== this.signature) {
      this.signature = signature;
      this.log.replaceChildren(...(open ? earlier.map((n) => logItem(n, state.now)) : []));
    }
    setHidden(this.log, !open);
  }

  private fillLine(earlier: number, open: boolean): void {
    const item = this.item;
    const kind = item ? (item.source === 'error' ? 'error' : item.notice.kind) : null;
    setHidden(this.el, !item && earlier === 0);
    setAttr(this.line, 'class', `notice line${kind ? ` notice-${kind}` : ' line-quiet'}${open ? ' open' : ''}`);
    setAttr(this.line, 'role', kind === 'error' ? 'alert' : 'status');
    setAttr(this.line, 'data-notice-kind', kind);
    setAttr(this.line, 'data-line-source', item?.source ?? null);
    setAttr(this.icon, 'class', `codicon codicon-${kind ? NOTICE_ICON[kind] : 'history'}`);
    setText(this.text, item ? (item.source === 'error' ? item.text : item.notice.text) : '');
    setHidden(this.text, !item);
    setHidden(this.dismiss, !item);
    setHidden(this.toggle, earlier === 0);
    setText(this.toggle, `${earlier} earlier`);
    setAttr(this.toggle, 'aria-expanded', String(open));
  }

  private dismissItem(): void {
    const item = this.item;
    if (!item) return;
    if (item.source === 'error') {
      this.ctx.controls.dismissError(item.key);
      this.ctx.rerender();
    } else this.ctx.send('notice', { type: 'notice/dismiss', id: item.notice.id });
  }
}

/** One earlier event of the log: its time, its kind and its text. */
function logItem(n: Notice, now: number): HTMLElement {
  return h(
    'li',
    { class: `log-item notice-${n.kind}`, 'data-notice-id': n.id, 'data-notice-kind': n.kind },
    icon(NOTICE_ICON[n.kind]),
    h('time', { class: 'muted', text: formatMoment(n.at, now) }),
    h('span', { class: 'log-text', text: n.text }),
  );
}

type Blocked = NonNullable<PanelState['blocked']>;

const BLOCKED_TEXT: Record<Blocked['reason'], { title: string; icon: string; explain: string }> = {
  untrusted: {
    title: 'This workspace is not trusted',
    icon: 'shield',
    explain:
      "Foreman's agents run commands and write files, so nothing plans, runs, verifies or applies until you trust this workspace (Manage Workspace Trust in the Command Palette). Past runs stay readable below.",
  },
  noFolder: {
    title: 'No folder is open',
    icon: 'folder',
    explain: 'Open a folder that is a git repository: Foreman works on branches and worktrees of it.',
  },
  notGit: {
    title: 'This folder is not a git repository',
    icon: 'source-control',
    explain:
      'Foreman gives every task its own branch and worktree, so it needs a git repository with at least one commit (git init, then commit).',
  },
};

/** Why Foreman cannot run in this window; hidden when it can. */
export class BlockedView {
  private readonly title = h('h2', { class: 'blocked-title' });
  private readonly icon = icon('shield');
  private readonly explain = h('p', { class: 'blocked-explain' });
  private readonly detail = h('p', { class: 'blocked-detail' });
  readonly el = h(
    'section',
    { class: 'blocked', role: 'status', hidden: true },
    h('div', { class: 'blocked-head' }, this.icon, this.title),
    this.explain,
    this.detail,
  );

  update(blocked: PanelState['blocked']): void {
    setHidden(this.el, blocked === null);
    if (!blocked) {
      setAttr(this.el, 'data-blocked', null);
      return;
    }
    const t = BLOCKED_TEXT[blocked.reason];
    setAttr(this.el, 'data-blocked', blocked.reason);
    setAttr(this.icon, 'class', `codicon codicon-${t.icon}`);
    setText(this.title, t.title);
    setText(this.explain, t.explain);
    setText(this.detail, blocked.message);
    // The panel's own text already explains trust; the host's message adds specifics (a path, git's words) otherwise.
    setHidden(
      this.detail,
      blocked.reason === 'untrusted' || blocked.message.trim() === '' || blocked.message === t.explain,
    );
  }
}

/**
 * One line when agent commands do not run in the sandbox: a warning when the user turned it off,
 * an error when no sandbox can run here (runs are refused); hidden while the sandbox holds.
 */
export class SandboxLine {
  private readonly icon = icon('shield');
  private readonly text = h('div', { class: 'notice-text' });
  readonly el = h('div', { class: 'notice sandbox-line', hidden: true }, this.icon, this.text);

  update(sandbox: PanelState['sandbox']): void {
    const show = sandbox !== null && sandbox.kind !== 'on';
    setHidden(this.el, !show);
    if (!show) return;
    const error = sandbox.kind === 'unavailable';
    setAttr(this.el, 'class', `notice sandbox-line notice-${error ? 'error' : 'warning'}`);
    setAttr(this.el, 'role', error ? 'alert' : 'status');
    setAttr(this.el, 'data-sandbox', sandbox.kind);
    setText(this.text, sandbox.text);
  }
}
