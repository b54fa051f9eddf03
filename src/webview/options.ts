/**
 * The run options next to the spec, without a DOM: reading the inputs, naming backends, and what
 * `options/change` carries when one control changes. The host validates again with RunOptions.
 */
import type { BackendView, DiscoveredServer, PanelState, RunOptions } from '../protocol/panel';

/** A parsed input: its value, or why it cannot be used (for a person). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Concurrency: a whole number from 1 to 256. */
export function parseConcurrency(text: string): Parsed<number> {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(n) || n < 1 || n > 256)
    return { ok: false, error: 'Concurrency is a whole number from 1 to 256.' };
  return { ok: true, value: n };
}

const TOKEN_SUFFIX: Record<string, number> = { '': 1, k: 1e3, m: 1e6 };

/** A token budget: blank for none; a positive number, "500k" or "1.5M" otherwise. */
export function parseTokenBudget(text: string): Parsed<number | null> {
  const t = text.trim().replace(/[,_\s]/g, '');
  if (t === '') return { ok: true, value: null };
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(t);
  const value = m ? Math.round(Number(m[1]) * TOKEN_SUFFIX[m[2].toLowerCase()]) : NaN;
  if (!(value > 0))
    return { ok: false, error: 'A token budget is a positive number such as 200000 or 200k (blank for none).' };
  return { ok: true, value };
}

/** A cost budget: blank for none; a positive amount, with or without a leading "$". */
export function parseCostBudget(text: string): Parsed<number | null> {
  const t = text.trim().replace(/^\$/, '').trim();
  if (t === '') return { ok: true, value: null };
  const value = /^(?:\d+\.?\d*|\.\d+)$/.test(t) ? Number(t) : NaN;
  if (!(value > 0)) return { ok: false, error: 'A cost budget is a positive amount such as 2.50 (blank for none).' };
  return { ok: true, value };
}

/** The label of a backend in the select; the demo says plainly that no model is behind it. */
export function backendLabel(b: BackendView): string {
  return b.demo ? 'Demo — scripted, no model' : b.name;
}

/** Whether a backend other than the demo is configured. */
export function hasRealBackend(backends: readonly BackendView[]): boolean {
  return backends.some((b) => !b.demo);
}

/** The backend the options point at: the named one, else the first configured; null when none. */
export function selectedBackend(state: Pick<PanelState, 'backends' | 'options'>): BackendView | null {
  return state.backends.find((b) => b.name === state.options.backend) ?? state.backends[0] ?? null;
}

/** The models the Model select offers: the backend's, plus the chosen one if it is not among them. */
export function modelChoices(backend: BackendView | null, chosen: string | null): string[] {
  const models = backend ? [...backend.models] : [];
  if (chosen && !models.includes(chosen)) models.unshift(chosen);
  return models;
}

/** The change a new backend choice makes: that backend, and its first model. */
export function backendChange(backends: readonly BackendView[], name: string): Partial<RunOptions> {
  const b = backends.find((x) => x.name === name);
  return { backend: name, model: b?.models[0] ?? null };
}

/**
 * A name for a discovered server, after its kind ("vllm", "ollama", "openai-compatible"), made
 * unique among the configured backends with "-2", "-3" ….
 */
export function discoveredName(server: Pick<DiscoveredServer, 'kind'>, backends: readonly BackendView[]): string {
  const base =
    server.kind
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'server';
  const taken = new Set(backends.map((b) => b.name));
  if (!taken.has(base)) return base;
  let n = 2;
  while (taken.has(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}

/** The add-backend form's fields. */
export interface BackendForm {
  name: string;
  baseUrl: string;
  model: string;
}

/** Why the add-backend form cannot be sent, or null when it can. */
export function backendFormProblem(form: BackendForm, backends: readonly BackendView[]): string | null {
  if (form.name.trim() === '') return 'Give the backend a name.';
  if (backends.some((b) => b.name === form.name.trim() && b.demo)) return 'That name belongs to the demo backend.';
  if (!isHttpUrl(form.baseUrl.trim()))
    return 'The base URL is an http:// or https:// address, such as http://localhost:8000/v1.';
  if (form.model.trim() === '') return 'Name the model the server serves.';
  return null;
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    // Not a URL at all: the form says what it expects.
    return false;
  }
}
