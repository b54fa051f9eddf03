/**
 * Requests in flight. Every request the panel posts gets the next id and a *key* naming the
 * control that sent it ("plan/start", "task:a:stop"); while a key has a request in flight its
 * control shows busy, and the host's error for it is kept under that key until the control sends
 * again. Busy and error look-ups go by key prefix, so one control can stand for a family
 * ("plan/edit" is busy while any card's "plan/edit:<id>:save" is in flight); keys that embed an id
 * end the id with ":" so that "task:a:" never matches "task:ab:". Pure bookkeeping: posting is
 * the caller's.
 */
import type { Request, RequestEnvelope } from '../protocol/panel';

/** The outcome of a finished request, as `request/didFinish` told it. */
export interface Finished {
  key: string;
  ok: boolean;
  error: string | null;
  /** Called back by whoever started the request (a form closing on success, say). */
  onDone?: (ok: boolean) => void;
}

interface Pending {
  key: string;
  onDone?: (ok: boolean) => void;
}

/** Ids, keys and errors of the panel's requests. */
export class RequestTracker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly errors = new Map<string, string>();

  /** The envelope for a new request under `key`; clears the key's previous error. */
  start(key: string, request: Request, onDone?: (ok: boolean) => void): RequestEnvelope {
    const id = this.nextId++;
    this.pending.set(id, { key, onDone });
    this.errors.delete(key);
    return { id, request };
  }

  /** Books the host's answer to request `id`; undefined when no such request is in flight. */
  finish(id: number, ok: boolean, error: string | null): Finished | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (!ok) this.errors.set(p.key, error?.trim() || 'The request failed.');
    return { key: p.key, ok, error, onDone: p.onDone };
  }

  /** Whether a request whose key starts with `prefix` is in flight (a whole key is its own prefix). */
  isBusy(prefix: string): boolean {
    for (const p of this.pending.values()) if (p.key.startsWith(prefix)) return true;
    return false;
  }

  /** The errors kept under keys that start with one of `prefixes`, oldest first. */
  errorsFor(prefixes: readonly string[]): string[] {
    const out: string[] = [];
    for (const [key, text] of this.errors) if (prefixes.some((p) => key.startsWith(p))) out.push(text);
    return out;
  }

  /** Forgets the error under `key` (the developer dismissed it). */
  clearError(key: string): void {
    this.errors.delete(key);
  }

  /** How many requests are in flight. */
  get inFlight(): number {
    return this.pending.size;
  }
}
