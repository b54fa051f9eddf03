/**
 * The inference client: `ModelClient` over any OpenAI-compatible chat-completions endpoint
 * (vLLM, SGLang, Ollama, llama.cpp, hosted APIs), through the official `openai` SDK with its own
 * retries switched off. Retrying, pacing and structured-output fallback are done here.
 */
import OpenAI from 'openai';
import { ModelError } from '../core/model';
import type { CallOptions, ModelClient, ModelRequest, ModelResponse } from '../core/model';
import { wrapTopLevelErrors } from './errorBodies';
import { createNodeFetch } from './nodeFetch';
import { EndpointPause } from './endpointPause';
import type { Settlement } from './endpointPause';
import { Slots } from '../core/slots';
import { abortedError, backoffDelay, defaultSleep, waitFor } from './openaiRetry';
import type { SleepFn } from './openaiRetry';
import { runAttempt } from './openaiStream';
import type { AttemptAnswer, AttemptFailure, AttemptOutcome } from './openaiStream';
import { buildParams, structuredContent } from './openaiWire';
import type { StructuredMode } from './openaiWire';
import { withoutUrlCredentials } from '../core/text';
import { SessionHints } from './sessionHints';
import type { ClusterRouter } from './sessionHints';

/** Requests a client sends at once when its config names no limit. */
export const DEFAULT_REQUEST_LIMIT = 8;

/** Where and how to reach one model. */
export interface BackendConfig {
  /** Base URL of the API, usually ending in /v1. */
  baseUrl: string;
  model: string;
  /** Sent only as the Authorization bearer token; never logged. */
  apiKey?: string;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Longest one attempt may take, in ms. Default 300000. */
  requestTimeoutMs?: number;
  /** A stream that sends nothing for this long is treated as stalled and retried. Default 60000. */
  idleTimeoutMs?: number;
  /** Retries after the first attempt. Default 4. */
  maxRetries?: number;
  /** First back-off delay in ms, doubled per retry and jittered. Default 500. */
  retryBaseMs?: number;
  /** Cap on one back-off delay in ms. Default 30000. */
  retryMaxMs?: number;
  /** Requests of this client in flight at once. Default DEFAULT_REQUEST_LIMIT. */
  maxConcurrentRequests?: number;
  /** How JSON output is asked for; 'auto' tries json_schema, then a forced tool, then instructions. */
  structuredOutput?: 'auto' | StructuredMode;
  /**
   * What a probe found the server lacks (src/infra/capabilities.ts): `false` means lacking, and
   * requests are shaped without it from the first; null or absent is learned at run time.
   */
  capabilities?: { jsonSchema?: boolean | null; toolCalling?: boolean | null; streamUsage?: boolean | null };
  /**
   * A cluster that routes by itself (src/infra/sessionHints.ts): each request carries the session
   * hint it understands, one stable id per conversation (CallOptions.affinity).
   */
  router?: ClusterRouter | null;
}

/**
 * Injectable clock and randomness, for tests. A fake `sleep` must come with a fake `now` that it
 * advances, or waits on the endpoint's pause would spin.
 */
export interface ClientDeps {
  sleep?: SleepFn;
  random?: () => number;
  now?: () => number;
}

/** Backend support learned at run time, shared by every request of one client. */
interface Learned {
  jsonSchemaUnsupported: boolean;
  toolChoiceUnsupported: boolean;
}

/**
 * Create a ModelClient for `config`. `complete` streams the answer, retries 429, 5xx, connection
 * failures, cut or stalled streams and malformed chunks with jittered exponential back-off, never
 * retries other 4xx or an abort, and resolves only with a whole response. It rejects with
 * ModelError. A 429 (or a 503 with Retry-After) is answered once for the whole client, which is
 * one endpoint: see EndpointPause.
 */
export function createOpenAIClient(config: BackendConfig, deps: ClientDeps = {}): ModelClient {
  return new OpenAIModelClient(config, deps);
}

class OpenAIModelClient implements ModelClient {
  readonly endpoint: string;
  readonly model: string;
  private readonly now: () => number;
  private readonly sleep: SleepFn;
  private readonly random: () => number;
  private readonly settings: Required<
    Omit<BackendConfig, 'baseUrl' | 'model' | 'apiKey' | 'headers' | 'capabilities' | 'router'>
  >;
  private readonly sdk: OpenAI;
  private readonly slots: Slots;
  private readonly pause: EndpointPause;
  private readonly learned: Learned;
  private readonly streamUsage: boolean;
  private readonly hints: SessionHints | null;

  constructor(config: BackendConfig, deps: ClientDeps) {
    this.endpoint = publicEndpoint(config.baseUrl);
    this.model = config.model;
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? defaultSleep;
    this.random = deps.random ?? Math.random;
    this.settings = {
      requestTimeoutMs: config.requestTimeoutMs ?? 300_000,
      idleTimeoutMs: config.idleTimeoutMs ?? 60_000,
      maxRetries: config.maxRetries ?? 4,
      retryBaseMs: config.retryBaseMs ?? 500,
      retryMaxMs: config.retryMaxMs ?? 30_000,
      maxConcurrentRequests: Math.max(1, config.maxConcurrentRequests ?? DEFAULT_REQUEST_LIMIT),
      structuredOutput: config.structuredOutput ?? 'auto',
    };
    this.sdk = new OpenAI({
      baseURL: config.baseUrl,
      apiKey: config.apiKey ?? 'none',
      organization: null, // never pick up OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment
      project: null,
      defaultHeaders: config.headers,
      maxRetries: 0,
      timeout: this.settings.requestTimeoutMs,
      logLevel: 'off',
      // node:http with keep-alive instead of the built-in fetch: much less CPU per request.
      // Top-level error bodies (vLLM < 0.10, SGLang) are handed over in OpenAI's shape (infra/errorBodies.ts).
      fetch: wrapTopLevelErrors(createNodeFetch({ maxSockets: this.settings.maxConcurrentRequests })),
    });
    this.slots = new Slots(this.settings.maxConcurrentRequests);
    const { retryBaseMs, retryMaxMs, requestTimeoutMs } = this.settings;
    const backoff = (strike: number): number => backoffDelay(strike, retryBaseMs, retryMaxMs, this.random);
    this.pause = new EndpointPause(this.now, this.sleep, backoff, requestTimeoutMs);
    const known = config.capabilities ?? {};
    this.learned = {
      jsonSchemaUnsupported: known.jsonSchema === false,
      toolChoiceUnsupported: known.toolCalling === false,
    };
    this.streamUsage = known.streamUsage !== false;
    this.hints = config.router ? new SessionHints(config.router) : null;
  }

  async complete(request: ModelRequest, options: CallOptions = {}): Promise<ModelResponse> {
    let mode = this.firstMode(request);
    let attempts = 0;
    let retries = 0;
    for (;;) {
      attempts++;
      const outcome = await this.attemptOnce(request, mode, options);
      if (outcome.ok) return toResponse(outcome, mode, request, this.model, attempts);
      if (outcome.reason === 'aborted' || options.signal?.aborted) throw abortedError();
      const next = this.fallback(outcome, mode);
      if (next !== null) {
        mode = next;
        continue;
      }
      if (!outcome.retryable || retries >= this.settings.maxRetries)
        throw toModelError(outcome, attempts, this.endpoint);
      retries++;
      if (slowDown(outcome)) continue; // the endpoint's pause now holds this retry with every other request
      const { retryBaseMs, retryMaxMs, requestTimeoutMs } = this.settings;
      const backoff = backoffDelay(retries, retryBaseMs, retryMaxMs, this.random);
      await waitFor(this.sleep, Math.min(outcome.retryAfterMs ?? backoff, requestTimeoutMs), options.signal);
    }
  }

  private firstMode(request: ModelRequest): StructuredMode | null {
    if (!request.responseFormat) return null;
    const configured = this.settings.structuredOutput;
    if (configured !== 'auto') return configured;
    if (!this.learned.jsonSchemaUnsupported) return 'json_schema';
    return this.learned.toolChoiceUnsupported ? 'json_instructions' : 'tool';
  }

  /**
   * In 'auto' mode a 400 on a structured request moves on to the next way of asking. The backend
   * is remembered as lacking the feature only when the error names it (a 400 for a too-long
   * prompt must not downgrade every later request).
   */
  private fallback(failure: AttemptFailure, mode: StructuredMode | null): StructuredMode | null {
    if (this.settings.structuredOutput !== 'auto' || failure.status !== 400) return null;
    if (failure.reason === 'context_length') return null; // another way of asking is no shorter
    if (mode === 'json_schema') {
      if (/response_format|json_schema|json schema|structured|guided/i.test(failure.message)) {
        this.learned.jsonSchemaUnsupported = true;
      }
      return this.learned.toolChoiceUnsupported ? 'json_instructions' : 'tool';
    }
    if (mode === 'tool') {
      if (/tool/i.test(failure.message)) this.learned.toolChoiceUnsupported = true;
      return 'json_instructions';
    }
    return null;
  }

  /**
   * One HTTP attempt, once a concurrency slot is free and the endpoint's pause lets it go. The slot
   * is taken first, so a paused endpoint holds at most the client's limit of waiting requests
   * ready to leave; the rest queue for slots.
   */
  private async attemptOnce(
    request: ModelRequest,
    mode: StructuredMode | null,
    options: CallOptions,
  ): Promise<AttemptOutcome> {
    const release = await this.slots.acquire(options.signal);
    if (!release) throw abortedError();
    let settlement: Settlement = { kind: 'no_answer' };
    try {
      const admission = await this.pause.admit(options.signal);
      try {
        const outcome = await runAttempt({
          sdk: this.sdk,
          params: buildParams(request, this.model, mode, { streamUsage: this.streamUsage }),
          headers: this.hints?.headers(options.affinity),
          onHeaders: this.hints ? (headers) => this.hints?.answered(options.affinity, headers) : undefined,
          request,
          signal: options.signal,
          requestTimeoutMs: this.settings.requestTimeoutMs,
          idleTimeoutMs: this.settings.idleTimeoutMs,
          onDelta: options.onDelta,
          now: this.now,
        });
        settlement = settlementOf(outcome);
        return outcome;
      } finally {
        this.pause.settle(admission, settlement);
      }
    } finally {
      release();
    }
  }
}

/** A 429, or a 503 that says when to come back: the server asks every request to slow down. */
function slowDown(outcome: AttemptOutcome): boolean {
  if (outcome.ok) return false;
  return outcome.reason === 'rate_limited' || (outcome.status === 503 && outcome.retryAfterMs !== null);
}

/** What an attempt tells the endpoint's pause. */
function settlementOf(outcome: AttemptOutcome): Settlement {
  if (slowDown(outcome)) return { kind: 'slow_down', retryAfterMs: outcome.ok ? null : outcome.retryAfterMs };
  if (outcome.ok || outcome.status !== undefined) return { kind: 'answered' };
  return { kind: 'no_answer' };
}

function toResponse(
  answer: AttemptAnswer,
  mode: StructuredMode | null,
  request: ModelRequest,
  configuredModel: string,
  attempts: number,
): ModelResponse {
  let { content, toolCalls, finishReason } = answer;
  if (mode !== null && request.responseFormat) {
    const structured = structuredContent(mode, request.responseFormat.name, content, toolCalls);
    ({ content, toolCalls } = structured);
    if (structured.fromTool && finishReason === 'tool_calls') finishReason = 'stop';
  }
  const generationMs = answer.ttftMs === null ? 0 : answer.durationMs - answer.ttftMs;
  return {
    content,
    toolCalls,
    finishReason,
    usage: answer.usage,
    timing: {
      ttftMs: answer.ttftMs,
      durationMs: answer.durationMs,
      outputTokensPerSec: generationMs > 0 ? answer.usage.completionTokens / (generationMs / 1000) : null,
    },
    model: answer.model ?? configuredModel,
    attempts,
  };
}

function toModelError(failure: AttemptFailure, attempts: number, endpoint: string): ModelError {
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  const what =
    failure.reason === 'connection' || failure.reason === 'timeout'
      ? `could not reach ${endpoint}`
      : `${endpoint} failed`;
  // A failure's text can quote the URL it was given, credentials and all.
  const detail = withoutUrlCredentials(failure.message).replace(/\.+$/, '');
  return new ModelError(failure.reason, `${what} after ${tries}: ${detail}`, failure.status, failure.cause);
}

/**
 * Whether anything answers at the backend's base URL (GET /models): only a connection failure or a
 * time-out counts as unreachable; any HTTP answer, even an error, means a server is there.
 */
export async function probeBackend(
  config: BackendConfig,
  timeoutMs = 10_000,
): Promise<{ ok: true } | { ok: false; message: string }> {
  const url = `${config.baseUrl.replace(/\/$/, '')}/models`;
  const headers: Record<string, string> = { ...(config.headers ?? {}) };
  if (config.apiKey) headers.Authorization = `Bearer ${config.apiKey}`;
  // Node's own http, not the built-in fetch, which refuses ports it deems unsafe (such as 6000).
  const fetchFn = createNodeFetch({ maxSockets: 1 });
  try {
    const res = await fetchFn(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return { ok: true };
  } catch (e) {
    const cause = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    const message = `could not reach the backend at ${publicEndpoint(config.baseUrl)}: ${withoutUrlCredentials(cause)}`;
    return { ok: false, message };
  } finally {
    fetchFn.close();
  }
}

/**
 * The base URL as it may be shown and recorded: credentials in the URL (user:password@) and the
 * query string (where some gateways take a key) are removed.
 */
export function publicEndpoint(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    // Not a URL the SDK could use either; the request will fail with its own message.
    return baseUrl.replace(/\/\/[^@/]*@/, '//').replace(/\?.*$/, '');
  }
}
