/**
 * The messages at the top of the panel: the host's notices (each dismissable) and, when Foreman
 * cannot run here, why not.
 */
import type { Notice, PanelState } from '../protocol/panel';
import { button, h, icon, reconcile, setAttr, setHidden, setText } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';

const NOTICE_ICON: Record<Notice['kind'], string> = { info: 'info', warning: 'warning', error: 'error' };

/** The stack of notices; errors are alerts, the rest polite status messages. */
export class NoticesView {
  readonly el = h('div', { class: 'notices' });
  private readonly items = new Map<string, HTMLElement>();

  constructor(private readonly ctx: PanelContext) {}

  update(notices: readonly Notice[]): void {
    const byKey = new Map(notices.map((n) => [String(n.id), n]));
    const keys = [...byKey.keys()];
    for (const [key, el] of this.items) if (!byKey.has(key)) this.ctx.controls.release(el);
    const rows = reconcile(this.el, keys, this.items, (key) => this.create(byKey.get(key) as Notice));
    rows.forEach((row, i) => this.fill(row, byKey.get(keys[i]) as Notice));
    setHidden(this.el, notices.length === 0);
  }

  private create(n: Notice): HTMLElement {
    const text = h('div', { class: 'notice-text' });
    const dismiss = requestButton(
      this.ctx,
      button('', { kind: 'icon', icon: 'close', label: 'Dismiss' }),
      `notice:${n.id}:`,
      () => ({ type: 'notice/dismiss', id: n.id }),
    );
    return h('div', { class: 'notice' }, icon(NOTICE_ICON[n.kind]), text, dismiss);
  }

  private fill(row: HTMLElement, n: Notice): void {
    setAttr(row, 'class', `notice notice-${n.kind}`);
    setAttr(row, 'role', n.kind === 'error' ? 'alert' : 'status');
    setAttr(row, 'data-notice-kind', n.kind);
    setText(row.querySelector('.notice-text') as Element, n.text);
  }
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
