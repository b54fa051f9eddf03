/**
 * The backends the Lead panel can use: those in the editor's settings, and always the built-in
 * demo, a scripted OpenAI-compatible server started in this process on first use (no model runs:
 * every answer is written out in src/scripted/demoScenario.ts). Resolving a backend builds its
 * model client; the API key goes from the editor's secret storage straight into that client and
 * nowhere else.
 */
import type { PriceTable } from '../core/ledger';
import type { ModelClient, ModelErrorReason } from '../core/model';
import { createNodeFetch } from '../infra/nodeFetch';
import { createOpenAIClient, publicEndpoint } from '../infra/openaiClient';
import { DEMO_MODEL } from '../infra/sampleRepo';
import type { BackendView, RunOptions } from '../protocol/panel';
import { demoScenario } from '../scripted/demoScenario';
import { scenarioResponder } from '../scripted/scenario';
import { createScriptedServer } from '../scripted/server';
import type { ChatRequest, Fault, Reply, Responder, ScriptedServer } from '../scripted/server';
import { LeadError } from './leadApi';
import { CapabilityCache, describeCapabilities } from '../infra/capabilities';
import { buildFabric, describeFabric, limitOf, NoticeRelay } from './fabric';
import { resolveFabric } from './fabricSettings';
import type { EndpointEntry } from './fabricSettings';
import { SettingsError } from './settingsError';
import type { BackendSetting, LeadHost, LeadSettings } from './leadHost';

/** The demo backend's name (reserved: a configured backend may not use it). */
export const DEMO_BACKEND = 'demo';
/** The model name the demo server reports (defined with the sample it knows). */
export { DEMO_MODEL };
/** Example prices per million tokens, so the demo shows costs as a priced backend would. */
const DEMO_PRICES: PriceTable = { [DEMO_MODEL]: { input: 0.15, cachedInput: 0.015, output: 0.6 } };

/** A backend ready to use: its client, where it is, and its prices. */
export interface ResolvedBackend {
  name: string;
  model: string;
  demo: boolean;
  /** The configured base URL (may carry credentials: show `endpoint` instead). */
  baseUrl: string;
  /** The base URL as it may be shown and recorded. */
  endpoint: string;
  /** The agents' client (their chain over replicas when `foreman.roles` names models). */
  client: ModelClient;
  /** The planner's and the reviewer's clients (the same as `client` without `foreman.roles`). */
  roles: { planner: ModelClient; reviewer: ModelClient };
  /** Lines saying which model each role uses and what the probe found (empty for the demo). */
  lines: string[];
  /** Sentences about fallbacks and replicas during the run: to the log, and the run's journal once attached. */
  notices: NoticeRelay;
  prices: PriceTable;
  /** Requests the client sends to the backend at once. */
  requestLimit: number;
}

/**
 * What the panel's probes found, kept for this editor session (an hour each): shown beside the
 * backend picker, and used to shape requests to what each server lacks.
 */
const PANEL_PROBES = new CapabilityCache(null);

/** Where the demo is asked to work: the session's repository (null without one) and whether it is the sample. */
export interface DemoWorkspace {
  root: string | null;
  sample: boolean;
}

/** Why the demo backend will not work on `root`, and what to do instead. */
export function demoElsewhereText(root: string | null): string {
  return `The demo backend only knows Foreman's sample repository (a tiny shop library): its plan and every answer of its agents are written out for that sample, so it cannot work on ${root ?? 'this workspace'}. Choose "Open the sample" to try the demo on a fresh copy in a new window, or connect a real backend to work here.`;
}

/**
 * The scripted demo server, started on first use, with a fresh script for every plan and run. It
 * plays the sample repository's run (samples/demo-shop) and nothing else, so it refuses any other
 * workspace (`requireSample`).
 */
export class DemoServer {
  private server: Promise<ScriptedServer> | null = null;
  private listening: ScriptedServer | null = null;
  private play: Responder = scenarioResponder(demoScenario);

  /**
   * `paceMs`: pause between streamed chunks, so a newcomer can watch the agents work.
   * `workspace`: where the session works now, asked at every use.
   */
  constructor(
    private readonly paceMs: number,
    private readonly workspace: () => DemoWorkspace,
  ) {}

  /**
   * Refuses (LeadError 'invalid', saying what to do instead) unless the workspace is Foreman's
   * sample repository: on any other repository the demo would run the sample's plan, with the
   * sample's files and checks, as though it were that repository's.
   */
  requireSample(): void {
    const { root, sample } = this.workspace();
    if (!sample) throw new LeadError(demoElsewhereText(root), 'invalid');
  }

  /** Whether the workspace is the sample, where the demo can work. */
  get here(): boolean {
    return this.workspace().sample;
  }

  /** The server's base URL once it listens; null before. */
  get url(): string | null {
    return this.listening?.url ?? null;
  }

  /** Start it (once) on 127.0.0.1 and a free port; resolves with its base URL. */
  async start(): Promise<string> {
    this.server ??= createScriptedServer({
      responder: (request, ctx) => this.answer(request, ctx),
      host: '127.0.0.1',
      port: 0,
      model: DEMO_MODEL,
    });
    try {
      this.listening = await this.server;
    } catch (e) {
      this.server = null;
      throw e;
    }
    return this.listening.url;
  }

  /** Start the script again for the next plan or run (its fault counters are per run). */
  freshScript(): void {
    this.play = scenarioResponder(demoScenario);
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.listening = null;
    if (server) await (await server.catch(() => null))?.close();
  }

  private async answer(request: ChatRequest, ctx: { index: number }): Promise<Reply | Fault> {
    const reply = await this.play(request, ctx);
    return 'fault' in reply || this.paceMs <= 0 ? reply : { chunkDelayMs: this.paceMs, ...reply };
  }
}

/**
 * Every backend the panel offers: the configured ones, then the demo where it can work (`demoHere`:
 * the workspace is the sample repository; elsewhere the panel offers to open the sample instead).
 */
export function availableBackends(settings: LeadSettings, demoUrl: string | null, demoHere: boolean): BackendSetting[] {
  const configured = settings.backends.filter((b) => b.name !== DEMO_BACKEND);
  if (!demoHere) return configured;
  return [...configured, { name: DEMO_BACKEND, baseUrl: demoUrl ?? 'built in', models: [DEMO_MODEL] }];
}

/** The price table of a backend (the demo's example prices for the demo). */
export function pricesOf(settings: LeadSettings, name: string): PriceTable {
  return name === DEMO_BACKEND ? DEMO_PRICES : (settings.backends.find((b) => b.name === name)?.prices ?? {});
}

/** The backends as the panel shows them, with whether a key is stored for each. */
export async function backendViews(host: LeadHost, backends: BackendSetting[]): Promise<BackendView[]> {
  return Promise.all(
    backends.map(async (b) => {
      const demo = b.name === DEMO_BACKEND;
      return {
        name: b.name,
        baseUrl: demo ? b.baseUrl : publicEndpoint(b.baseUrl),
        models: b.models,
        demo,
        hasKey: demo ? false : await hasKey(host, b.name),
        probed: demo ? {} : probedLines(b),
      };
    }),
  );
}

/** What the session's probes found for each model of `b`, one line each. */
function probedLines(b: BackendSetting): Record<string, string> {
  const lines: Record<string, string> = {};
  for (const model of b.models) {
    const found = PANEL_PROBES.peek({ baseUrl: b.baseUrl, model });
    if (found) lines[model] = describeCapabilities(found);
  }
  return lines;
}

async function hasKey(host: LeadHost, name: string): Promise<boolean> {
  if (host.hasApiKey) return host.hasApiKey(name);
  // The key itself is dropped at once: only whether there is one is kept.
  return (await host.apiKey(name)) !== undefined;
}

/**
 * The selected backend with its client. The demo is started when it is chosen. Rejects with
 * LeadError 'invalid' when no backend or model is chosen, the backend is not configured, or the
 * backend is the demo and the workspace is not the sample.
 */
export async function resolveBackend(
  host: LeadHost,
  settings: LeadSettings,
  options: RunOptions,
  demo: DemoServer,
): Promise<ResolvedBackend> {
  const { backend: name, model } = options;
  if (!name || !model) {
    const demoWay = demo.here
      ? 'or try the demo backend'
      : 'or, to try the demo backend, open the sample repository it knows ("Open the sample")';
    throw new LeadError(
      `Choose a backend and a model first: add one (Add backend, or foreman.backends in the settings), use a discovered local server, ${demoWay}.`,
      'invalid',
    );
  }
  if (name === DEMO_BACKEND) {
    demo.requireSample();
    const url = await demo.start();
    demo.freshScript();
    const client = createOpenAIClient({ baseUrl: url, model, maxConcurrentRequests: options.concurrency });
    return {
      name,
      model,
      demo: true,
      baseUrl: url,
      endpoint: client.endpoint,
      client,
      roles: { planner: client, reviewer: client },
      lines: [],
      notices: new NoticeRelay((text) => host.log('warn', text)),
      prices: DEMO_PRICES,
      requestLimit: options.concurrency,
    };
  }
  // A configured backend serving the demo's model is the demo's script too (a scripted server
  // started by hand, say): it is held to the same rule.
  if (model === DEMO_MODEL) demo.requireSample();
  const setting = settings.backends.find((b) => b.name === name);
  if (!setting)
    throw new LeadError(
      `There is no backend named "${name}" in foreman.backends; add it or choose another.`,
      'invalid',
    );
  const notices = new NoticeRelay((text) => host.log('warn', text));
  const built = await roleClientsOf(host, settings, { name, model }, options.concurrency, notices);
  return {
    name,
    model,
    demo: false,
    baseUrl: setting.baseUrl,
    endpoint: built.agent.endpoint,
    client: built.agent,
    roles: { planner: built.planner, reviewer: built.reviewer },
    lines: built.lines,
    notices,
    prices: { ...built.prices, ...(setting.prices ?? {}) },
    requestLimit: built.requestLimit,
  };
}

/**
 * The roles' clients over the configured backends: `foreman.roles` where it names models, the
 * panel's chosen `model@backend` for the rest. Every backend and model a role uses is probed
 * (PANEL_PROBES) and its client shaped by what was found.
 */
async function roleClientsOf(
  host: LeadHost,
  settings: LeadSettings,
  chosen: { name: string; model: string },
  concurrency: number,
  notices: NoticeRelay,
): Promise<{
  planner: ModelClient;
  agent: ModelClient;
  reviewer: ModelClient;
  lines: string[];
  prices: PriceTable;
  requestLimit: number;
}> {
  const configured = settings.backends.filter((b) => b.name !== DEMO_BACKEND);
  const pinned = `${chosen.model}@${chosen.name}`;
  const roles = {
    planner: settings.roles.planner ?? [pinned],
    agent: settings.roles.agent ?? [pinned],
    reviewer: settings.roles.reviewer ?? [pinned],
  };
  let fabric;
  try {
    fabric = resolveFabric({ backends: configured.map(endpointEntry), roles }, {}, {}, null, concurrency);
  } catch (e) {
    if (e instanceof SettingsError) throw new LeadError(`foreman.roles cannot be used: ${e.message}.`, 'invalid');
    throw e;
  }
  if (!fabric) throw new Error('roles always name a fabric');
  for (const endpoint of fabric.endpoints) endpoint.options.apiKey = await host.apiKey(endpoint.name);
  const built = await buildFabric(fabric, { cache: PANEL_PROBES, onNotice: notices.say });
  const lines = describeFabric(fabric, built.probes);
  for (const line of lines) host.log('info', line.trim());
  // The chosen endpoint's limit: its setting, else what its server reports, else the concurrency.
  const endpoint = fabric.endpoints.find((e) => e.name === chosen.name);
  const probe = built.probes.find((p) => p.name === chosen.name && p.model === chosen.model);
  const requestLimit = endpoint
    ? limitOf(endpoint, probe?.outcome.ok ? probe.outcome.capabilities : null).requests
    : concurrency;
  return { ...built.clients, lines, prices: fabric.prices, requestLimit };
}

/** A backend of the editor's settings as an endpoint of the fabric. */
function endpointEntry(b: BackendSetting): EndpointEntry {
  return {
    name: b.name,
    baseUrl: b.baseUrl,
    models: [...b.models],
    maxConcurrentRequests: b.maxConcurrentRequests,
    requestTimeoutMs: b.requestTimeoutMs,
    headers: b.headers,
    router: b.router,
    prices: b.prices,
  };
}

/**
 * Whether anything answers at the backend's URL (`GET /models`, no key sent: any HTTP answer, even
 * an error, means a server is there). Null when one does; else the message for the developer,
 * naming the URL. It goes over node:http like the model client, so any port the client could use
 * can be probed (the built-in fetch refuses some).
 */
export async function unreachable(backend: ResolvedBackend, timeoutMs = 5000): Promise<string | null> {
  const fetch = createNodeFetch({ maxSockets: 1 });
  try {
    const res = await fetch(`${backend.baseUrl.replace(/\/+$/, '')}/models`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return null;
  } catch (e) {
    return `Could not reach the backend at ${backend.endpoint}: ${failureCause(e, timeoutMs)}. Is the server running? Check foreman.backends or choose another backend.`;
  } finally {
    fetch.close();
  }
}

/** A connection failure in a few words ("connection refused (connect ECONNREFUSED 127.0.0.1:9)"). */
function failureCause(e: unknown, timeoutMs: number): string {
  const err = e as (Error & { code?: string; cause?: { code?: string; message?: string } }) | null;
  const code = err?.code ?? err?.cause?.code;
  const message = err?.cause?.message ?? err?.message ?? String(e);
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  if (code === 'ECONNREFUSED') return `connection refused (${message})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name does not resolve (${message})`;
  return message;
}

/** A failed model request in words a developer can act on. */
export function modelFailureText(backend: ResolvedBackend, reason: ModelErrorReason | null, message: string): string {
  const at = `the backend at ${backend.endpoint}`;
  switch (reason) {
    case 'auth':
      return `${capital(at)} refused the request as unauthorised (${message}). Set its API key with "Foreman: Set a Backend's API Key…" and try again.`;
    case 'bad_request':
      return `${capital(at)} rejected the request (${message}). Check that it serves the model "${backend.model}" (foreman.backends), or choose another model.`;
    case 'connection':
    case 'timeout':
    case 'idle_timeout':
      return `Could not reach ${at} (${message}). Is the server running? Check foreman.backends or choose another backend.`;
    default:
      return `${capital(at)} failed (${message}). Try again, or choose another backend.`;
  }
}

/** A backend to add from the panel's form, checked; a string says what is wrong. */
export function checkNewBackend(
  form: { name: string; baseUrl: string; model: string },
  existing: BackendSetting | null,
): BackendSetting | string {
  const name = form.name.trim();
  const baseUrl = form.baseUrl.trim();
  const model = form.model.trim();
  if (!name) return 'Give the backend a name.';
  if (name === DEMO_BACKEND) return `"${DEMO_BACKEND}" is the built-in demo's name; choose another name.`;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return `"${baseUrl}" is not a URL; give the server's base URL, e.g. http://localhost:8000/v1.`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `The base URL must start with http:// or https:// (got ${url.protocol}).`;
  if (url.username || url.password)
    return `The base URL carries a user name or password, which Foreman does not send; give ${publicEndpoint(baseUrl)} and set the key with "Foreman: Set a Backend's API Key".`;
  if (!model) return 'Name the model to use (as the server lists it under /v1/models).';
  // Replacing a backend at the same URL keeps its other models, limits and prices.
  const same = existing && existing.baseUrl === baseUrl ? existing : null;
  const models = [model, ...(same?.models ?? []).filter((m) => m !== model)];
  return { ...(same ?? {}), name, baseUrl, models };
}

function capital(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}
