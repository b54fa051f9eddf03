/**
 * What an OpenAI-compatible endpoint can do for one model, found by asking it: the model list
 * (`GET /models`: whether the model is listed, and its context window where the server gives one),
 * then three one-token chat requests: a streamed one with `stream_options.include_usage` (does the
 * stream end with usage, and does usage carry `prompt_tokens_details.cached_tokens`), one with
 * `response_format: json_schema`, and one offering a tool with `tool_choice: "auto"`. A 400 to
 * either of the last two means the server lacks it; any other failure leaves it unknown (null).
 * Beside them, the server's own limit of requests at once, where it publishes one (serverLimit.ts).
 *
 * Results are kept per process and, when a file is given, on disk for a time (`CapabilityCache`),
 * so a run does not ask again what the last one learned. The model client adapts its requests to
 * what is found (BackendConfig.capabilities); the router skips a model without tool calling for
 * agents, who need tools.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createNodeFetch } from './nodeFetch';
import type { NodeFetch } from './nodeFetch';
import { publicEndpoint } from './openaiClient';
import { readServerLimit } from './serverLimit';
import { withoutUrlCredentials } from '../core/text';

/** What a probe found. `null` everywhere means "could not tell", never "no". */
export interface Capabilities {
  /** The endpoint as it may be shown (no credentials). */
  endpoint: string;
  model: string;
  /** Whether GET /models lists the model; null when the list could not be read. */
  listed: boolean | null;
  /** The model's context window in tokens, where the model list gives one. */
  contextWindow: number | null;
  /** The model-list field the context window came from (e.g. `max_model_len`). */
  contextField: string | null;
  toolCalling: boolean | null;
  jsonSchema: boolean | null;
  /** A streamed answer ends with a usage chunk when `stream_options.include_usage` is asked. */
  streamUsage: boolean | null;
  /** Usage carries `prompt_tokens_details.cached_tokens` (prefix-cache hits are reported). */
  cachedTokens: boolean | null;
  /** The requests the server says it runs at once (src/infra/serverLimit.ts); null where it says nothing. */
  requestLimit: number | null;
  /** Where `requestLimit` came from (e.g. `total_slots of llama.cpp's /props`). */
  requestLimitSource: string | null;
  /** Date.now() of the probe. */
  probedAt: number;
}

/** A probe's outcome: what was found, or why nothing answered (one sentence, no stack). */
export type ProbeOutcome = { ok: true; capabilities: Capabilities } | { ok: false; message: string };

/** Where and how to ask. The key is sent only as the bearer token. */
export interface ProbeTarget {
  baseUrl: string;
  model: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

/**
 * The model-list fields that carry a context window, in the order they are trusted: vLLM and
 * SGLang's `max_model_len`; `context_length` (OpenRouter, Together, Fireworks, and LM Studio's
 * own API); `context_window` (Groq); `max_context_length` (LM Studio's /api/v0); llama.cpp's
 * `meta.n_ctx_train` (the context the model was trained with; the server's own may be smaller).
 */
const CONTEXT_FIELDS: readonly [string, (entry: Record<string, unknown>) => unknown][] = [
  ['max_model_len', (e) => e.max_model_len],
  ['context_length', (e) => e.context_length],
  ['context_window', (e) => e.context_window],
  ['max_context_length', (e) => e.max_context_length],
  ['meta.n_ctx_train', (e) => (e.meta as Record<string, unknown> | undefined)?.n_ctx_train],
];

/** Probe one endpoint and model; never rejects. `timeoutMs` bounds each of the four requests. */
export async function probeCapabilities(target: ProbeTarget, timeoutMs = 15_000): Promise<ProbeOutcome> {
  const endpoint = publicEndpoint(target.baseUrl);
  const fetchFn = createNodeFetch({ maxSockets: 1 });
  const ask = new Asker(fetchFn, target, timeoutMs);
  // Asked beside the rest: a server that publishes no limit costs nothing but its 404s.
  const limit = readServerLimit(target, Math.min(timeoutMs, 3_000));
  try {
    const list = await ask.models();
    if (list.kind === 'unreachable') return { ok: false, message: unreachableText(endpoint, list.cause, timeoutMs) };
    const usage = await ask.streamUsage();
    const jsonSchema = await ask.supports({
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'probe', schema: { type: 'object', properties: { ok: { type: 'boolean' } } } },
      },
    });
    const toolCalling = await ask.supports({
      tools: [
        {
          type: 'function',
          function: { name: 'probe', description: 'Say ok.', parameters: { type: 'object', properties: {} } },
        },
      ],
      tool_choice: 'auto',
    });
    const entry = list.kind === 'list' ? list.entries.find((e) => e.id === target.model) : undefined;
    const context = entry ? contextWindowOf(entry) : null;
    const reported = await limit;
    return {
      ok: true,
      capabilities: {
        endpoint,
        model: target.model,
        listed: list.kind === 'list' ? entry !== undefined : null,
        contextWindow: context?.tokens ?? null,
        contextField: context?.field ?? null,
        toolCalling,
        jsonSchema,
        streamUsage: usage.streamUsage,
        cachedTokens: usage.cachedTokens,
        requestLimit: reported?.requests ?? null,
        requestLimitSource: reported?.source ?? null,
        probedAt: Date.now(),
      },
    };
  } finally {
    fetchFn.close();
  }
}

/** The context window an entry of the model list gives, and the field it came from. */
export function contextWindowOf(entry: Record<string, unknown>): { tokens: number; field: string } | null {
  for (const [field, read] of CONTEXT_FIELDS) {
    const value = read(entry);
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return { tokens: value, field };
  }
  return null;
}

type ModelList =
  | { kind: 'list'; entries: (Record<string, unknown> & { id?: unknown })[] }
  | { kind: 'no_list' }
  | { kind: 'unreachable'; cause: unknown };

/** The four requests of a probe, over one connection. */
class Asker {
  constructor(
    private readonly fetchFn: NodeFetch,
    private readonly target: ProbeTarget,
    private readonly timeoutMs: number,
  ) {}

  private url(path: string): string {
    return `${this.target.baseUrl.replace(/\/+$/, '')}${path}`;
  }

  private headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json', ...(this.target.headers ?? {}) };
    if (json) headers['content-type'] = 'application/json';
    if (this.target.apiKey) headers.authorization = `Bearer ${this.target.apiKey}`;
    return headers;
  }

  async models(): Promise<ModelList> {
    try {
      const res = await this.fetchFn(this.url('/models'), {
        headers: this.headers(false),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) {
        await res.body?.cancel();
        return { kind: 'no_list' };
      }
      const data = ((await res.json()) as { data?: unknown } | null)?.data;
      return Array.isArray(data) ? { kind: 'list', entries: data as Record<string, unknown>[] } : { kind: 'no_list' };
    } catch (e) {
      if (e instanceof SyntaxError) return { kind: 'no_list' };
      return { kind: 'unreachable', cause: e };
    }
  }

  /** A one-token chat request with `extra` in its body: its HTTP status, or null without an answer. */
  private async chat(extra: Record<string, unknown>): Promise<{ status: number; text: string } | null> {
    const body = {
      model: this.target.model,
      messages: [{ role: 'user', content: 'Say ok.' }],
      max_tokens: 1,
      ...extra,
    };
    try {
      const res = await this.fetchFn(this.url('/chat/completions'), {
        method: 'POST',
        headers: this.headers(true),
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { status: res.status, text: await res.text() };
    } catch {
      // No answer (time-out, connection dropped): the capability stays unknown.
      return null;
    }
  }

  /** Whether a request with `extra` is accepted: a 2xx yes, a 400 or 422 no, anything else unknown. */
  async supports(extra: Record<string, unknown>): Promise<boolean | null> {
    const answer = await this.chat(extra);
    if (answer === null) return null;
    if (answer.status >= 200 && answer.status < 300) return true;
    return answer.status === 400 || answer.status === 422 ? false : null;
  }

  async streamUsage(): Promise<{ streamUsage: boolean | null; cachedTokens: boolean | null }> {
    const answer = await this.chat({ stream: true, stream_options: { include_usage: true } });
    if (answer === null) return { streamUsage: null, cachedTokens: null };
    if (answer.status === 400 || answer.status === 422) return { streamUsage: false, cachedTokens: null };
    if (answer.status < 200 || answer.status >= 300) return { streamUsage: null, cachedTokens: null };
    const usage = lastUsage(answer.text);
    if (usage === null) return { streamUsage: false, cachedTokens: null };
    const details = usage.prompt_tokens_details as { cached_tokens?: unknown } | null | undefined;
    return { streamUsage: true, cachedTokens: typeof details?.cached_tokens === 'number' };
  }
}

/** The last `usage` object of an SSE body, or null when no chunk carried one. */
function lastUsage(sse: string): Record<string, unknown> | null {
  let found: Record<string, unknown> | null = null;
  for (const line of sse.split('\n')) {
    const data = line.startsWith('data:') ? line.slice(5).trim() : '';
    if (!data || data === '[DONE]') continue;
    try {
      const usage = (JSON.parse(data) as { usage?: unknown }).usage;
      if (usage && typeof usage === 'object') found = usage as Record<string, unknown>;
    } catch {
      // A line that is not JSON says nothing about usage.
    }
  }
  return found;
}

function unreachableText(endpoint: string, cause: unknown, timeoutMs: number): string {
  const err = cause as (Error & { code?: string; cause?: { code?: string; message?: string } }) | null;
  const code = err?.code ?? err?.cause?.code;
  let why: string;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') why = `no answer within ${timeoutMs / 1000} s`;
  else if (code === 'ECONNREFUSED') why = 'connection refused: nothing listens there';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = 'its host name does not resolve';
  else why = withoutUrlCredentials(err?.cause?.message ?? err?.message ?? String(cause));
  return `Nothing answers at ${endpoint} (${why}). Is the server running, and is the URL right?`;
}

/** One line saying what was found, for the CLI and the panel. */
export function describeCapabilities(c: Capabilities): string {
  const yes = (v: boolean | null, what: string, no: string): string =>
    v === null ? `${what}: unknown` : v ? `${what}: yes` : `${what}: no (${no})`;
  const context =
    c.contextWindow === null
      ? 'context window: not given'
      : `context window: ${c.contextWindow.toLocaleString('en-US')} tokens (${c.contextField})`;
  return [
    c.listed === false ? `not in the server's model list` : null,
    context,
    yes(c.toolCalling, 'tool calling', 'agents cannot use this model'),
    yes(c.jsonSchema, 'json_schema', 'JSON is asked for with a forced tool or instructions'),
    yes(c.streamUsage, 'usage in streams', 'token counts are estimated'),
    c.cachedTokens === null ? null : yes(c.cachedTokens, 'cached tokens reported', 'cache reuse is not measured'),
  ]
    .filter((p): p is string => p !== null)
    .join(' · ');
}

/** Stored probes: `{ version: 1, entries: { "<endpoint>\u0000<model>": Capabilities } }`. */
interface CacheFile {
  version: 1;
  entries: Record<string, Capabilities>;
}

/**
 * Probes kept per process and, when `file` is given, on disk, each for `ttlMs` (default one hour).
 * Only successful probes are kept: an endpoint that did not answer is asked again next time.
 */
export class CapabilityCache {
  private readonly memory = new Map<string, Promise<ProbeOutcome>>();
  /** The settled successes of `memory`, for `peek`. */
  private readonly found = new Map<string, Capabilities>();

  constructor(
    private readonly file: string | null,
    private readonly ttlMs = 60 * 60_000,
    private readonly probe: (target: ProbeTarget) => Promise<ProbeOutcome> = (t) => probeCapabilities(t),
  ) {}

  /** What this process's cache holds for `target` now, without asking anyone (null: nothing yet). */
  peek(target: Pick<ProbeTarget, 'baseUrl' | 'model'>): Capabilities | null {
    const key = `${publicEndpoint(target.baseUrl)}\u0000${target.model}`;
    return this.found.get(key) ?? null;
  }

  /** The endpoint's capabilities for `target.model`, from the cache while fresh, else probed. */
  get(target: ProbeTarget, options: { fresh?: boolean } = {}): Promise<ProbeOutcome> {
    const key = `${publicEndpoint(target.baseUrl)}\u0000${target.model}`;
    const held = options.fresh ? undefined : this.memory.get(key);
    if (held) return held;
    const outcome = this.lookUp(key, target, options.fresh ?? false);
    this.memory.set(key, outcome);
    void outcome.then((o) => {
      if (o.ok) this.found.set(key, o.capabilities);
      else this.memory.delete(key);
    });
    return outcome;
  }

  private async lookUp(key: string, target: ProbeTarget, fresh: boolean): Promise<ProbeOutcome> {
    if (!fresh) {
      const stored = (await this.read()).entries[key];
      // An entry written before the request limit was read has no such field: it was not reported then.
      if (stored && Date.now() - stored.probedAt < this.ttlMs)
        return {
          ok: true,
          capabilities: {
            ...stored,
            requestLimit: stored.requestLimit ?? null,
            requestLimitSource: stored.requestLimitSource ?? null,
          },
        };
    }
    const outcome = await this.probe(target);
    if (outcome.ok) await this.store(key, outcome.capabilities);
    return outcome;
  }

  private async read(): Promise<CacheFile> {
    if (!this.file) return { version: 1, entries: {} };
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Partial<CacheFile>;
      if (parsed.version === 1 && parsed.entries && typeof parsed.entries === 'object')
        return { version: 1, entries: parsed.entries };
    } catch {
      // Absent or damaged: probed again and written afresh.
    }
    return { version: 1, entries: {} };
  }

  private async store(key: string, capabilities: Capabilities): Promise<void> {
    if (!this.file) return;
    const current = await this.read();
    current.entries[key] = capabilities;
    try {
      await mkdir(dirname(this.file), { recursive: true });
      const temp = `${this.file}.${process.pid}.tmp`;
      await writeFile(temp, `${JSON.stringify(current, null, 2)}\n`);
      await rename(temp, this.file);
    } catch {
      // A cache that cannot be written only means the next process probes again.
    }
  }
}
