/**
 * One task of a plan under review: a card that reads well, and the form that edits it (also used
 * by "Add task"). The form's fields live in the UI state as a draft, so an edit survives the view
 * being hidden; Save sends the whole task list through `plan/edit`.
 */
import type { PlanTask, PlanView } from '../protocol/panel';
import { button, h, icon, uid } from './dom';
import type { Child } from './dom';
import type { TaskDraft } from './planModel';
import { warningsFor } from './planModel';

type Warning = PlanView['warnings'][number];

/** What the task form needs. */
export interface TaskFormOptions {
  draft: TaskDraft;
  /** Tasks it may depend on. */
  others: readonly PlanTask[];
  /** Show an id field (a new task); an existing task keeps its id. */
  withId: boolean;
  save: HTMLButtonElement;
  onInput(draft: TaskDraft): void;
  onSave(): void;
  onCancel(): void;
}

/** The task form: title, instructions, acceptance and files one per line, dependencies as checkboxes. */
export function taskForm(o: TaskFormOptions): HTMLFormElement {
  const d = { ...o.draft, dependsOn: [...o.draft.dependsOn] };
  const changed = () => o.onInput({ ...d, dependsOn: [...d.dependsOn] });
  const text = (key: 'id' | 'title', label: string, hint?: string) => {
    const input = h('input', {
      type: 'text',
      'aria-label': label,
      autocomplete: 'off',
      spellcheck: key === 'title' ? 'true' : 'false',
      placeholder: hint,
    });
    input.value = d[key];
    input.addEventListener('input', () => ((d[key] = input.value), changed()));
    return h(
      'label',
      { class: 'field' },
      h('span', { class: 'field-label', text: key === 'id' ? 'Id' : label }),
      input,
    );
  };
  const area = (key: 'instructions' | 'acceptance' | 'files', label: string, shown: string, rows: number) => {
    const input = h('textarea', { 'aria-label': label, rows, spellcheck: key === 'files' ? 'false' : 'true' });
    input.value = d[key];
    input.addEventListener('input', () => ((d[key] = input.value), changed()));
    return h('label', { class: 'field' }, h('span', { class: 'field-label', text: shown }), input);
  };
  const cancel = button('Cancel', {}, () => o.onCancel());
  o.save.type = 'submit';
  const form = h(
    'form',
    { class: 'task-form', novalidate: true },
    o.withId ? text('id', 'Task id', 'lowercase-with-dashes') : null,
    text('title', 'Title'),
    area('instructions', 'Instructions', 'Instructions', 4),
    area('acceptance', 'Acceptance criteria', 'Acceptance criteria (one per line)', 3),
    area('files', 'Files', 'Expected files (one per line)', 2),
    dependencyBoxes(o.others, d.dependsOn, (ids) => ((d.dependsOn = ids), changed())),
    h('div', { class: 'actions' }, o.save, cancel),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    o.onSave();
  });
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      o.onCancel();
    } else if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      o.onSave();
    }
  });
  return form;
}

function dependencyBoxes(
  others: readonly PlanTask[],
  chosen: readonly string[],
  onChange: (ids: string[]) => void,
): HTMLElement {
  const set = new Set(chosen);
  const boxes = others.map((t) => {
    const box = h('input', { type: 'checkbox', value: t.id });
    box.checked = set.has(t.id);
    box.addEventListener('change', () => {
      if (box.checked) set.add(t.id);
      else set.delete(t.id);
      onChange(others.map((x) => x.id).filter((id) => set.has(id)));
    });
    return h(
      'label',
      { class: 'check' },
      box,
      h('span', { class: 'task-id', text: t.id }),
      h('span', { text: t.title }),
    );
  });
  return h(
    'fieldset',
    { class: 'deps-field' },
    h('legend', { class: 'field-label', text: 'Depends on' }),
    ...(boxes.length ? boxes : [h('p', { class: 'muted', text: 'No other tasks.' })]),
  );
}

/** The parts of a card a view fills in. */
export interface CardParts {
  task: PlanTask;
  /** Titles of all tasks by id, for dependency chips. */
  titles: ReadonlyMap<string, string>;
  warnings: readonly Warning[];
  edit: HTMLButtonElement;
  remove: HTMLButtonElement;
}

/** The read-only face of a card. */
export function cardFace(p: CardParts): Child[] {
  const t = p.task;
  const titleId = uid('card');
  return [
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'task-id', text: t.id }),
      h('h3', { id: titleId, class: 'card-title', text: t.title || '(untitled)' }),
    ),
    t.instructions ? h('p', { class: 'instructions', text: t.instructions }) : null,
    listSection('Acceptance criteria', t.acceptance, false),
    listSection('Expected files', t.files, true),
    dependencyChips(t.dependsOn, p.titles),
    ...warningsFor(t.id, p.warnings).map((w) => warningNote(w)),
    h('div', { class: 'card-actions' }, p.edit, p.remove),
  ];
}

function listSection(title: string, items: readonly string[], code: boolean): HTMLElement | null {
  if (items.length === 0) return null;
  const lis = items.map((i) => h('li', {}, code ? h('code', { text: i }) : i));
  return h(
    'div',
    { class: 'card-section' },
    h('h4', { text: title }),
    h('ul', { class: code ? 'files' : 'criteria' }, ...lis),
  );
}

function dependencyChips(deps: readonly string[], titles: ReadonlyMap<string, string>): HTMLElement {
  if (deps.length === 0) return h('p', { class: 'deps muted', text: 'No dependencies: starts from the base commit.' });
  const chips = deps.map((d) => {
    const known = titles.has(d);
    return h(
      'li',
      { class: known ? 'chip' : 'chip chip-error', title: titles.get(d) ?? `No task "${d}" in the plan` },
      icon(known ? 'arrow-small-right' : 'warning'),
      h('span', { text: d }),
    );
  });
  return h(
    'div',
    { class: 'deps' },
    h('span', { class: 'deps-label', text: 'Depends on' }),
    h('ul', { class: 'chips', 'aria-label': 'Depends on' }, ...chips),
  );
}

/** A planner warning (tasks touching the same files) as a note on a card or above the cards. */
export function warningNote(w: Warning): HTMLElement {
  const files = w.files.length
    ? h('span', { class: 'warning-files' }, ...w.files.map((f) => h('code', { text: f })))
    : null;
  return h(
    'div',
    { class: 'card-warning', role: 'note' },
    icon('warning'),
    h(
      'div',
      { class: 'note-body' },
      h('span', { class: 'sr-only', text: 'Warning: ' }),
      h('span', { text: w.message }),
      files,
    ),
  );
}
