/**
 * Requests in flight. Every request the panel posts gets the next id and a *key* naming the
 * control that sent it ("plan/start", "task:a:stop"); while a key has a request in flight its
 * control shows busy, and the host's error for it is kept under that key until the control sends
 * again. Busy and error look-ups go by key prefix, so one control can stand for a family
 * ("plan/edit" is busy while any card's "plan/edit:<id>:save" is in flight); keys that embed an id
 * end the id with ":" so that "task:a:" never matches "task:ab:". Errors keep the host's typed
 * reason, so the panel can leave out, or forget, the ones another part of it already explains.
 * Pure bookkeeping: posting is the caller's.
 */
import type { Request, RequestEnvelope, RequestError, RequestErrorReason } from '../protocol/panel';

/** The outcome of a finished request, as `request/didFinish` told it. */
export interface Finished {
  key: string;
  ok: boolean;
  error: RequestError | null;
  /** Called back by whoever started the request (a form closing on success, say). */
  onDone?: (ok: boolean) => void;
}

const NONE: ReadonlySet<RequestErrorReason> = new Set();

/** A failed request's error, kept under its control's key, with the host time it arrived at. */
export interface KeptError extends RequestError {
  key: string;
  at: number;
}

interface Pending {
  key: string;
  onDone?: (ok: boolean) => void;
}

/** Ids, keys and errors of the panel's requests. */
export class RequestTracker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly errors = new Map<string, KeptError>();

  /** The envelope for a new request under `key`; clears the key's previous error. */
  start(key: string, request: Request, onDone?: (ok: boolean) => void): RequestEnvelope {
    const id = this.nextId++;
    this.pending.set(id, { key, onDone });
    this.errors.delete(key);
    return { id, request };
  }

  /**
   * Books the host's answer to request `id`, arrived at host time `at`; undefined when no such
   * request is in flight. A failure without an error (or with a blank message) is kept as an
   * unexpected 'The request failed.'.
   */
  finish(id: number, ok: boolean, error: RequestError | null, at = 0): Finished | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (!ok)
      this.errors.set(p.key, {
        key: p.key,
        at,
        message: error?.message.trim() || 'The request failed.',
        reason: error?.reason ?? 'unexpected',
      });
    return { key: p.key, ok, error, onDone: p.onDone };
  }

  /** Whether a request whose key starts with `prefix` is in flight (a whole key is its own prefix). */
  isBusy(prefix: string): boolean {
    for (const p of this.pending.values()) if (p.key.startsWith(prefix)) return true;
    return false;
  }

  /**
   * The messages of the errors kept under keys that start with one of `prefixes`, oldest first,
   * leaving out errors whose reason is in `except`.
   */
  errorsFor(prefixes: readonly string[], except: ReadonlySet<RequestErrorReason> = NONE): string[] {
    const out: string[] = [];
    for (const [key, e] of this.errors)
      if (!except.has(e.reason) && prefixes.some((p) => key.startsWith(p))) out.push(e.message);
    return out;
  }

  /** The latest error kept under a key that starts with one of `prefixes` (leaving out `except`), or null. */
  latestError(prefixes: readonly string[], except: ReadonlySet<RequestErrorReason> = NONE): KeptError | null {
    let latest: KeptError | null = null;
    for (const e of this.errors.values())
      if (!except.has(e.reason) && prefixes.some((p) => e.key.startsWith(p)) && (!latest || e.at >= latest.at))
        latest = e;
    return latest;
  }

  /** Forgets the error under `key` (the developer dismissed it). */
  clearError(key: string): void {
    this.errors.delete(key);
  }

  /** Forgets every error of `reason` (what caused them is over); true when there was one. */
  clearErrorsOf(reason: RequestErrorReason): boolean {
    let cleared = false;
    for (const [key, e] of this.errors)
      if (e.reason === reason) {
        this.errors.delete(key);
        cleared = true;
      }
    return cleared;
  }

  /** How many requests are in flight. */
  get inFlight(): number {
    return this.pending.size;
  }
}
