/**
 * Routing over several endpoints: replica pools and role chains.
 *
 * A `ReplicaPool` is every endpoint that serves one model. A conversation (CallOptions.affinity,
 * a task's id) stays on the replica it started on, so its growing prompt stays in that replica's
 * prefix cache; a new conversation goes to the least-loaded healthy replica (requests in flight,
 * plus the server's waiting queue where a `LoadReadings` source has a reading). A replica whose
 * requests fail with connection errors, time-outs or 5xx after the client's own retries is taken
 * out: its conversations move to another replica, and it is tried again after a back-off that
 * doubles with each failure in a row. A pool of one endpoint behaves as that endpoint's client.
 *
 * A `RoleClient` serves one role (planner, agent, reviewer) from a chain of pools, first choice
 * first: when a pool fails a request for good (every replica down, or an error that is not the
 * conversation's own), the next pool in the chain answers, the first is skipped for a back-off and
 * then tried again. Each such change is told to `onNotice` once, in a sentence.
 */
import { ModelError } from '../core/model';
import type { CallOptions, ModelClient, ModelRequest, ModelResponse } from '../core/model';
import { errorMessage } from '../core/errors';

/** One endpoint serving a pool's model. */
export interface Replica {
  /** The endpoint's configured name. */
  name: string;
  client: ModelClient;
  /** Whether the model there takes tool calls (null: unknown, tried). */
  toolCalling?: boolean | null;
}

/**
 * Load readings from outside (the server's own metrics): requests waiting in an endpoint's queue,
 * or null without a fresh reading. QueueReadings implements it.
 */
export interface LoadReadings {
  waiting(endpoint: string): number | null;
}

/**
 * The waiting queue each endpoint's `/metrics` last showed (noted by the backend watch,
 * infra/backendTelemetry.ts), by endpoint as the model client names it. A reading older than
 * `maxAgeMs` is not used: a watch that stopped says nothing about the server now.
 */
export class QueueReadings implements LoadReadings {
  private readonly latest = new Map<string, { waiting: number; atMs: number }>();

  constructor(
    private readonly maxAgeMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  note(endpoint: string, waiting: number | null): void {
    if (waiting === null) this.latest.delete(endpoint);
    else this.latest.set(endpoint, { waiting, atMs: this.now() });
  }

  waiting(endpoint: string): number | null {
    const reading = this.latest.get(endpoint);
    return reading && this.now() - reading.atMs <= this.maxAgeMs ? reading.waiting : null;
  }
}

/**
 * The process's readings: one server's queue is the same whichever run's watch read it, so every
 * watch notes here and every pool reads from here unless given others.
 */
export const SERVER_QUEUES = new QueueReadings();

/** How new conversations are spread: Foreman's affinity, or round-robin (kept for comparison). */
export type Balance = 'affinity' | 'round-robin';

/** Options shared by the pools and role clients of one run. */
export interface RouterOptions {
  balance?: Balance;
  load?: LoadReadings;
  /** A sentence for the journal, the CLI and the panel. Must not throw. */
  onNotice?: (text: string) => void;
  now?: () => number;
  /** First back-off of a failed replica or chain link in ms, doubled per failure in a row (default 5000). */
  backoffMs?: number;
  /** Longest back-off in ms (default 120000). */
  maxBackoffMs?: number;
}

interface ReplicaState {
  replica: Replica;
  inFlight: number;
  /** Conversations held. */
  held: Set<string>;
  downUntil: number;
  strikes: number;
  lastError: string | null;
}

/** Failures that say the replica (not the request) is unwell. */
const REPLICA_FAILURES = new Set(['connection', 'timeout', 'idle_timeout', 'server_error']);

/** Every endpoint serving one model. */
export class ReplicaPool {
  private readonly states: ReplicaState[];
  private readonly owner = new Map<string, ReplicaState>();
  private turn = 0;
  private readonly now: () => number;

  constructor(
    readonly model: string,
    replicas: Replica[],
    private readonly options: RouterOptions = {},
  ) {
    if (replicas.length === 0) throw new Error(`the pool of ${model} has no endpoint`);
    this.states = replicas.map((replica) => ({
      replica,
      inFlight: 0,
      held: new Set(),
      downUntil: 0,
      strikes: 0,
      lastError: null,
    }));
    this.now = options.now ?? Date.now;
  }

  get replicas(): readonly Replica[] {
    return this.states.map((s) => s.replica);
  }

  /** Whether the model there takes tools at all (false only when every replica is known not to). */
  get toolCalling(): boolean {
    return this.states.some((s) => s.replica.toolCalling !== false);
  }

  /** Whether every replica is out (none may be asked before its back-off ends). */
  get down(): boolean {
    const now = this.now();
    return this.states.every((s) => s.downUntil > now);
  }

  /** The replica a conversation is held on, by endpoint name (for tests and the panel). */
  holder(affinity: string): string | null {
    return this.owner.get(affinity)?.replica.name ?? null;
  }

  /** Requests in flight and conversations held, per replica. */
  loads(): { name: string; endpoint: string; inFlight: number; held: number; down: boolean }[] {
    const now = this.now();
    return this.states.map((s) => ({
      name: s.replica.name,
      endpoint: s.replica.client.endpoint,
      inFlight: s.inFlight,
      held: s.held.size,
      down: s.downUntil > now,
    }));
  }

  /**
   * Take a replica out before any request (a probe found nothing answering there): it gets the
   * first back-off like any failed replica, and is tried again after it.
   */
  takeOutAtStart(name: string, why: string): void {
    const state = this.states.find((s) => s.replica.name === name);
    if (!state || this.states.length === 1) return;
    state.strikes = 1;
    state.downUntil = this.now() + (this.options.backoffMs ?? 5000);
    state.lastError = why;
  }

  /**
   * Send `request` to a replica. A replica failure moves the conversation to another healthy
   * replica and tries there; the last failure is thrown when none is left.
   */
  async complete(request: ModelRequest, options: CallOptions = {}): Promise<ModelResponse> {
    const tried = new Set<ReplicaState>();
    for (;;) {
      const state = this.pick(options.affinity, tried);
      tried.add(state);
      state.inFlight++;
      try {
        const response = await state.replica.client.complete(request, options);
        this.healthy(state);
        return { ...response, route: { model: this.model, endpoint: state.replica.client.endpoint } };
      } catch (e) {
        if (!ModelError.is(e) || !REPLICA_FAILURES.has(e.reason) || this.states.length === 1) throw e;
        this.takeOut(state, e);
        if (this.states.every((s) => tried.has(s) || s.downUntil > this.now())) throw e;
      } finally {
        state.inFlight--;
      }
    }
  }

  /** The replica for this request: the conversation's own while it is up, else the least loaded. */
  private pick(affinity: string | undefined, tried: Set<ReplicaState>): ReplicaState {
    const now = this.now();
    const up = this.states.filter((s) => s.downUntil <= now && !tried.has(s));
    const held = affinity === undefined ? undefined : this.owner.get(affinity);
    if (held && up.includes(held) && this.options.balance !== 'round-robin') return held;
    // With every replica out, the one back soonest is asked rather than failing unasked.
    const candidates = up.length > 0 ? up : [...this.states].sort((a, b) => a.downUntil - b.downUntil).slice(0, 1);
    const chosen = this.options.balance === 'round-robin' ? this.nextInTurn(candidates) : this.leastLoaded(candidates);
    if (affinity !== undefined) this.hold(affinity, held, chosen);
    return chosen;
  }

  private nextInTurn(candidates: ReplicaState[]): ReplicaState {
    const chosen = candidates[this.turn % candidates.length];
    this.turn++;
    return chosen;
  }

  private leastLoaded(candidates: ReplicaState[]): ReplicaState {
    const load = (s: ReplicaState): number => s.inFlight + (this.options.load?.waiting(s.replica.client.endpoint) ?? 0);
    return candidates.reduce((best, s) => {
      const d = load(s) - load(best);
      return d < 0 || (d === 0 && s.held.size < best.held.size) ? s : best;
    });
  }

  private hold(affinity: string, from: ReplicaState | undefined, to: ReplicaState): void {
    if (from === to) return;
    from?.held.delete(affinity);
    to.held.add(affinity);
    this.owner.set(affinity, to);
    if (from && this.options.balance !== 'round-robin')
      this.options.onNotice?.(
        `Task ${affinity} moved from ${from.replica.name} to ${to.replica.name} (${this.model}): ${from.replica.name} is out${from.lastError ? ` after "${from.lastError}"` : ''}.`,
      );
  }

  private takeOut(state: ReplicaState, error: ModelError): void {
    const now = this.now();
    if (state.downUntil > now) return; // already out: a request that was in flight when it went
    state.strikes++;
    const base = this.options.backoffMs ?? 5000;
    const wait = Math.min(base * 2 ** (state.strikes - 1), this.options.maxBackoffMs ?? 120_000);
    state.downUntil = now + wait;
    state.lastError = errorMessage(error);
    this.options.onNotice?.(
      `Replica ${state.replica.name} (${state.replica.client.endpoint}) of ${this.model} is taken out for ${wait < 1000 ? `${wait} ms` : `${Math.round(wait / 1000)} s`} after a ${error.reason} failure; its tasks move to the other replicas.`,
    );
  }

  private healthy(state: ReplicaState): void {
    if (state.strikes === 0) return;
    state.strikes = 0;
    state.lastError = null;
    this.options.onNotice?.(
      `Replica ${state.replica.name} (${state.replica.client.endpoint}) of ${this.model} answers again and takes new tasks.`,
    );
  }
}

/** Errors that are the conversation's own: another model would fail them the same way, or should not see them. */
function conversationsOwn(e: ModelError): boolean {
  return e.reason === 'aborted' || /context length|context window|maximum context|too many tokens/i.test(e.message);
}

/** One role's chain of pools, first choice first. */
export class RoleClient implements ModelClient {
  readonly endpoint: string;
  readonly model: string;
  private readonly skipUntil: number[];
  private readonly strikes: number[];
  private readonly now: () => number;

  constructor(
    readonly role: string,
    private readonly chain: ReplicaPool[],
    private readonly options: RouterOptions = {},
  ) {
    if (chain.length === 0) throw new Error(`the ${role} has no model`);
    this.endpoint = chain[0].replicas[0].client.endpoint;
    this.model = chain[0].model;
    this.skipUntil = chain.map(() => 0);
    this.strikes = chain.map(() => 0);
    this.now = options.now ?? Date.now;
  }

  async complete(request: ModelRequest, options: CallOptions = {}): Promise<ModelResponse> {
    const usable = this.chain.map((pool) => !(request.tools?.length && !pool.toolCalling));
    for (let i = 0; i < this.chain.length; i++) {
      if (!usable[i]) continue;
      const later = this.chain.findIndex((_, j) => j > i && usable[j]);
      if (later >= 0 && (this.skipUntil[i] > this.now() || this.chain[i].down)) continue;
      try {
        const response = await this.chain[i].complete(request, options);
        this.answered(i);
        return response;
      } catch (e) {
        // The last usable link always runs, and its failure is the request's.
        if (!ModelError.is(e) || conversationsOwn(e) || later < 0) throw e;
        this.failed(i, later, e);
      }
    }
    throw new ModelError(
      'bad_request',
      `no model of the ${this.role} takes tool calls (${this.chain.map((p) => p.model).join(', ')}); give the ${this.role} one that does`,
    );
  }

  private failed(i: number, next: number, e: ModelError): void {
    const fresh = this.skipUntil[i] <= this.now();
    this.strikes[i]++;
    const base = this.options.backoffMs ?? 5000;
    this.skipUntil[i] = this.now() + Math.min(base * 2 ** (this.strikes[i] - 1), this.options.maxBackoffMs ?? 120_000);
    if (fresh)
      this.options.onNotice?.(
        `The ${this.role}'s model ${this.chain[i].model} failed (${e.reason}: ${errorMessage(e)}); using ${this.chain[next].model} instead until it answers again.`,
      );
  }

  private answered(i: number): void {
    if (this.strikes[i] === 0) return;
    this.strikes[i] = 0;
    this.skipUntil[i] = 0;
    this.options.onNotice?.(`The ${this.role}'s model ${this.chain[i].model} answers again.`);
  }
}
