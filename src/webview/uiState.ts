/**
 * The panel's own state: what the developer has opened or typed that the host does not keep.
 * It is saved with `vscode.setState` after every change, so it survives the view being hidden and
 * shown again, and read back with `restoreUiState`, which trusts nothing it is given.
 */
import type { PanelState } from '../protocol/panel';
import type { BackendForm } from './options';
import type { TaskDraft } from './planModel';

/** Everything the webview remembers for itself. */
export interface UiState {
  /** Board rows whose details are open, by task id. */
  expanded: string[];
  /** The plan card being edited, with its unsaved fields. */
  editing: { taskId: string; draft: TaskDraft } | null;
  /** The "Add task" form, while it is open. */
  adding: TaskDraft | null;
  /** Spec text typed here that the host has not acknowledged yet; null when the host's spec is current. */
  specDraft: string | null;
  replanComment: string;
  /** Open "Request changes" boxes: task id → the comment typed so far. */
  changeRequests: Record<string, string>;
  backendForm: BackendForm;
  /** The connect box opened by "Add backend" although a backend is configured. */
  connectOpen: boolean;
  historyOpen: boolean;
  /** The log of earlier notices under the panel's line is open. */
  logOpen: boolean;
  scrollY: number;
}

/** A fresh panel's UI state. */
export function initialUiState(): UiState {
  return {
    expanded: [],
    editing: null,
    adding: null,
    specDraft: null,
    replanComment: '',
    changeRequests: {},
    backendForm: { name: '', baseUrl: '', model: '' },
    connectOpen: false,
    historyOpen: true,
    logOpen: false,
    scrollY: 0,
  };
}

type Loose = Record<string, unknown>;

function isObject(x: unknown): x is Loose {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function str(x: unknown, fallback = ''): string {
  return typeof x === 'string' ? x : fallback;
}

function strings(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((v): v is string => typeof v === 'string') : [];
}

function draft(x: unknown): TaskDraft | null {
  if (!isObject(x) || typeof x.id !== 'string') return null;
  return {
    id: x.id,
    title: str(x.title),
    instructions: str(x.instructions),
    acceptance: str(x.acceptance),
    files: str(x.files),
    dependsOn: strings(x.dependsOn),
  };
}

function stringRecord(x: unknown): Record<string, string> {
  if (!isObject(x)) return {};
  return Object.fromEntries(Object.entries(x).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The UI state saved earlier, field by field; anything missing or malformed takes its default. */
export function restoreUiState(saved: unknown): UiState {
  const base = initialUiState();
  if (!isObject(saved)) return base;
  const editing =
    isObject(saved.editing) && typeof saved.editing.taskId === 'string' ? draft(saved.editing.draft) : null;
  const form = isObject(saved.backendForm) ? saved.backendForm : {};
  return {
    expanded: strings(saved.expanded),
    editing: editing && isObject(saved.editing) ? { taskId: str(saved.editing.taskId), draft: editing } : null,
    adding: draft(saved.adding),
    specDraft: typeof saved.specDraft === 'string' ? saved.specDraft : null,
    replanComment: str(saved.replanComment),
    changeRequests: stringRecord(saved.changeRequests),
    backendForm: { name: str(form.name), baseUrl: str(form.baseUrl), model: str(form.model) },
    connectOpen: saved.connectOpen === true,
    historyOpen: typeof saved.historyOpen === 'boolean' ? saved.historyOpen : base.historyOpen,
    logOpen: saved.logOpen === true,
    scrollY: typeof saved.scrollY === 'number' && saved.scrollY >= 0 ? saved.scrollY : 0,
  };
}

/**
 * The UI state that still applies to a new panel state: plan forms only while a plan is shown
 * (and the edited task still exists), row state only for tasks still on the board. Returns the
 * same object when nothing changes.
 */
export function pruneUiState(ui: UiState, state: PanelState): UiState {
  const planIds = new Set(state.phase === 'plan' && state.plan ? state.plan.tasks.map((t) => t.id) : []);
  const rowIds = new Set(state.run ? state.run.tasks.map((t) => t.id) : []);
  const editing = ui.editing && planIds.has(ui.editing.taskId) ? ui.editing : null;
  const adding = state.phase === 'plan' && state.plan ? ui.adding : null;
  const expanded = ui.expanded.filter((id) => rowIds.has(id));
  const requestIds = Object.keys(ui.changeRequests);
  const keptRequests = requestIds.filter((id) => rowIds.has(id));
  const replanComment = state.phase === 'plan' || state.phase === 'planning' ? ui.replanComment : '';
  const same =
    editing === ui.editing &&
    adding === ui.adding &&
    expanded.length === ui.expanded.length &&
    keptRequests.length === requestIds.length &&
    replanComment === ui.replanComment;
  if (same) return ui;
  const changeRequests = Object.fromEntries(keptRequests.map((id) => [id, ui.changeRequests[id]]));
  return { ...ui, editing, adding, expanded, changeRequests, replanComment };
}
