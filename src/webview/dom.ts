/**
 * The few DOM helpers the panel is built with. Text goes in through `textContent` only, never as
 * HTML (model output and file names are data), and nothing sets a `style` attribute (the CSP
 * forbids inline styles; sizes go through the CSSOM). The setters touch the DOM only when a value
 * changes, so updating a board of a hundred rows with the same state costs almost nothing.
 */

/** Attributes `h` sets: `class`, `text` (textContent), and any other as an attribute. `false`/`undefined` skip it. */
export type Attrs = Record<string, string | number | boolean | undefined>;

/** A child: a node, a text, or nothing. */
export type Child = Node | string | null | undefined | false;

/** Creates an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') el.className = String(value);
    else if (name === 'text') el.textContent = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
}

/** A codicon, hidden from assistive technology (the text beside it says the same). */
export function icon(name: string, spin = false): HTMLSpanElement {
  return h('span', { class: `codicon codicon-${name}${spin ? ' codicon-modifier-spin' : ''}`, 'aria-hidden': 'true' });
}

/** Points an existing codicon at another icon. */
export function setIcon(el: Element, name: string, spin = false): void {
  setClass(el, `codicon codicon-${name}${spin ? ' codicon-modifier-spin' : ''}`);
}

/** A button's look: primary (the phase's main action), secondary, danger, an icon alone, or a link. */
export type ButtonKind = 'primary' | 'secondary' | 'danger' | 'icon' | 'link';

/** Options of `button`: an icon before the text, an accessible name when the text is an icon, a tooltip. */
export interface ButtonOptions {
  kind?: ButtonKind;
  icon?: string;
  label?: string;
  title?: string;
}

/** A real `<button type="button">` with its visible text (its accessible name unless `label` is given). */
export function button(text: string, o: ButtonOptions = {}, onClick?: (ev: MouseEvent) => void): HTMLButtonElement {
  const b = h('button', {
    type: 'button',
    class: `btn btn-${o.kind ?? 'secondary'}`,
    'aria-label': o.label,
    title: o.title ?? o.label,
  });
  if (o.icon) b.append(icon(o.icon));
  if (text) b.append(h('span', { class: 'btn-text', text }));
  if (onClick) b.addEventListener('click', onClick);
  return b;
}

const texts = new WeakMap<Node, string>();

/** Sets an element's text when it differs from what was set before (the panel is its only writer). */
export function setText(el: Element, text: string): void {
  if (texts.get(el) === text) return;
  el.textContent = text;
  texts.set(el, text);
}

/** Sets (or with null removes) an attribute when it differs. */
export function setAttr(el: Element, name: string, value: string | null): void {
  if (el.getAttribute(name) === value) return;
  if (value === null) el.removeAttribute(name);
  else el.setAttribute(name, value);
}

/** Sets the whole class list when it differs. */
export function setClass(el: Element, className: string): void {
  if (el.className !== className) el.className = className;
}

/** Shows or hides an element through the `hidden` attribute. */
export function setHidden(el: HTMLElement, hidden: boolean): void {
  if (el.hidden !== hidden) el.hidden = hidden;
}

/** Sets a form control's value unless the developer is typing in it (focus wins over the host). */
export function setValue(el: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, value: string): void {
  if (document.activeElement === el || el.value === value) return;
  el.value = value;
}

const signatures = new WeakMap<Element, string>();

/**
 * Rebuilds an element's children with `build` only when `signature` differs from the one it was
 * last built with; returns whether it rebuilt. For small parts whose content changes rarely.
 */
export function rebuildIfChanged(el: Element, signature: string, build: () => Child[]): boolean {
  if (signatures.get(el) === signature) return false;
  signatures.set(el, signature);
  el.replaceChildren();
  append(el, build());
  return true;
}

/**
 * Keeps `container`'s children in the order of `keys`, reusing the element made for each key and
 * creating or dropping the rest. Moves nodes only where the order differs.
 */
export function reconcile<T extends Element>(
  container: Element,
  keys: readonly string[],
  cache: Map<string, T>,
  create: (key: string) => T,
): T[] {
  const wanted = new Set(keys);
  for (const [key, el] of cache) {
    if (!wanted.has(key)) {
      el.remove();
      cache.delete(key);
    }
  }
  const out: T[] = [];
  let cursor = container.firstElementChild;
  for (const key of keys) {
    let el = cache.get(key);
    if (!el) {
      el = create(key);
      cache.set(key, el);
    }
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
    out.push(el);
  }
  return out;
}

let idCounter = 0;

/** A unique element id for label/aria wiring. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}
