/**
 * "Connect a backend": shown under the spec while only the demo (or nothing) is configured. Three
 * ways in: discover servers running on this machine, add one by hand, or try the scripted demo,
 * which only knows Foreman's sample repository: elsewhere the box offers to open the sample instead.
 */
import type { BackendView, DiscoveredServer, PanelState } from '../protocol/panel';
import { button, h, icon, setHidden, setText, uid } from './dom';
import { requestButton } from './context';
import type { PanelContext } from './context';
import { formatMoment } from './format';
import { backendFormProblem, discoveredName } from './options';
import type { BackendForm } from './options';

const DEMO_HERE =
  'The demo backend is a scripted server that ships with Foreman. No model and no GPU: it plays a whole run of this sample repository so you can see how the board works.';
const DEMO_ELSEWHERE =
  "The demo backend is a scripted server that ships with Foreman. No model and no GPU: it plays a whole run of Foreman's sample repository, a tiny shop library, and only knows that one. Open a fresh copy of the sample in a new window to watch it.";

/** The connect box. */
export class ConnectView {
  readonly el: HTMLElement;
  private readonly scanStatus = h('p', { class: 'connect-status', 'aria-live': 'polite' });
  private readonly found = h('ul', { class: 'found-list' });
  private readonly formError = h('p', { class: 'inline-error', role: 'alert', hidden: true });
  private readonly inputs: Record<keyof BackendForm, HTMLInputElement>;
  private state: PanelState | null = null;
  private foundSignature = '';

  private readonly close: HTMLButtonElement;
  private readonly demoText = h('p', { class: 'muted' });
  private readonly demo: HTMLButtonElement;
  private readonly openSample: HTMLButtonElement;

  /** `onClose` hides the box again (offered while a backend is configured already). */
  constructor(
    private readonly ctx: PanelContext,
    private readonly onClose: () => void,
  ) {
    this.close = button('', { kind: 'icon', icon: 'close', label: 'Close' }, () => this.onClose());
    const discover = requestButton(
      ctx,
      button('Discover local servers', { icon: 'search' }),
      'backend/discover',
      () => ({ type: 'backend/discover' }),
    );
    this.demo = requestButton(ctx, button('Try the demo backend', { icon: 'beaker' }), 'backend/useDemo', () => ({
      type: 'backend/useDemo',
    }));
    this.openSample = requestButton(ctx, button('Open the sample', { icon: 'repo' }), 'sample/open', () => ({
      type: 'sample/open',
    }));
    this.inputs = {
      name: plainInput('text', 'Backend name', 'e.g. vllm'),
      baseUrl: plainInput('url', 'Base URL', 'e.g. http://localhost:8000/v1'),
      model: plainInput('text', 'Model name', 'e.g. Qwen/Qwen2.5-Coder-32B-Instruct'),
    };
    const titleId = uid('connect');
    this.el = h(
      'section',
      { class: 'connect', 'aria-labelledby': titleId },
      h(
        'div',
        { class: 'connect-head' },
        h('h3', { id: titleId, class: 'connect-title' }, icon('plug'), h('span', { text: 'Connect a backend' })),
        this.close,
      ),
      h('p', {
        class: 'muted',
        text: 'Foreman talks to any OpenAI-compatible server: vLLM, SGLang, NIM, Ollama, llama.cpp, LM Studio or a hosted API.',
      }),
      h(
        'div',
        { class: 'connect-step' },
        h('h4', { text: 'Find a server on this machine' }),
        discover,
        this.scanStatus,
        this.found,
        ctx.controls.errorSlot(['backend/discover', 'backend/found:']),
      ),
      this.buildForm(),
      h(
        'div',
        { class: 'connect-step' },
        h('h4', { text: 'Just looking?' }),
        this.demoText,
        this.demo,
        this.openSample,
        ctx.controls.errorSlot(['backend/useDemo', 'sample/open']),
      ),
    );
  }

  private buildForm(): HTMLFormElement {
    const add = this.ctx.controls.bind(button('Add backend', { icon: 'add' }), 'backend/add');
    add.type = 'submit';
    const field = (label: string, input: HTMLInputElement) =>
      h('label', { class: 'field' }, h('span', { class: 'field-label', text: label }), input);
    const form = h(
      'form',
      { class: 'connect-step connect-form', novalidate: true },
      h('h4', { text: 'Add one yourself' }),
      field('Backend name', this.inputs.name),
      field('Base URL', this.inputs.baseUrl),
      field('Model name', this.inputs.model),
      h('div', { class: 'actions' }, add),
      this.formError,
      this.ctx.controls.errorSlot(['backend/add']),
    );
    for (const [k, input] of Object.entries(this.inputs) as [keyof BackendForm, HTMLInputElement][]) {
      input.addEventListener('input', () =>
        this.ctx.updateUi((ui) => ({ ...ui, backendForm: { ...ui.backendForm, [k]: input.value } })),
      );
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (this.ctx.controls.canAct(add)) this.submit();
    });
    return form;
  }

  private submit(): void {
    const form = this.ctx.ui().backendForm;
    const problem = backendFormProblem(form, this.state?.backends ?? []);
    setText(this.formError, problem ?? '');
    setHidden(this.formError, problem === null);
    if (problem) return;
    const request = {
      type: 'backend/add',
      name: form.name.trim(),
      baseUrl: form.baseUrl.trim(),
      model: form.model.trim(),
    } as const;
    this.ctx.send('backend/add', request, (ok) => {
      if (!ok) return;
      this.ctx.updateUi((ui) => ({ ...ui, backendForm: { name: '', baseUrl: '', model: '' } }));
      for (const input of Object.values(this.inputs)) input.value = '';
      this.onClose();
    });
  }

  /** Moves focus into the box (it was just opened). */
  focus(): void {
    this.inputs.name.focus();
  }

  /** `closable`: a backend is configured, so the box may be closed again. */
  update(state: PanelState, closable: boolean): void {
    this.state = state;
    setHidden(this.close, !closable);
    // The demo plays the sample repository's run: here on the sample, elsewhere the sample is offered.
    setText(this.demoText, state.sample ? DEMO_HERE : DEMO_ELSEWHERE);
    setHidden(this.demo, !state.sample);
    setHidden(this.openSample, state.sample);
    const form = this.ctx.ui().backendForm;
    for (const [k, input] of Object.entries(this.inputs) as [keyof BackendForm, HTMLInputElement][]) {
      if (document.activeElement !== input && input.value !== form[k]) input.value = form[k];
    }
    const d = state.discovery;
    setText(this.scanStatus, scanText(d, state.now));
    setHidden(this.scanStatus, scanText(d, state.now) === '');
    const signature = JSON.stringify([d.found, state.backends.map((b) => b.name)]);
    if (signature !== this.foundSignature) {
      this.foundSignature = signature;
      this.ctx.controls.release(this.found);
      this.found.replaceChildren(...d.found.map((s) => this.foundRow(s, state.backends)));
    }
  }

  private foundRow(server: DiscoveredServer, backends: readonly BackendView[]): HTMLElement {
    const name = discoveredName(server, backends);
    const key = `backend/found:${server.baseUrl}:`;
    const request = { type: 'backend/add', name, baseUrl: server.baseUrl, model: server.models[0] ?? '' } as const;
    const add = requestButton(
      this.ctx,
      button('Add', { icon: 'add', title: `Add ${server.baseUrl} as backend "${name}"` }),
      key,
      () => request,
      (ok) => ok && this.onClose(),
    );
    this.ctx.controls.enable(add, server.models.length > 0);
    const models = server.models.length ? server.models.join(', ') : 'no models listed';
    return h(
      'li',
      { class: 'found', role: 'group', 'aria-label': `${server.kind} at ${server.baseUrl}` },
      h(
        'div',
        { class: 'found-head' },
        h('strong', { text: server.kind }),
        h('code', { class: 'found-url', text: server.baseUrl }),
      ),
      h('div', { class: 'found-models muted', text: models }),
      add,
    );
  }
}

function scanText(d: PanelState['discovery'], now: number): string {
  if (d.scanning) return 'Scanning the usual local ports…';
  if (d.scannedAt === null) return '';
  if (d.found.length === 0)
    return `No server answered (looked at ${formatMoment(d.scannedAt, now)}). Start one, or add it below.`;
  return `Found ${d.found.length === 1 ? 'one server' : `${d.found.length} servers`}:`;
}

/** A text field with no autocompletion or spell checking: names and URLs, not prose. */
function plainInput(type: 'text' | 'url', label: string, placeholder: string): HTMLInputElement {
  return h('input', { type, 'aria-label': label, placeholder, autocomplete: 'off', spellcheck: 'false' });
}
