/**
 * The scripted backend: an OpenAI-compatible server that plays written-out conversations instead of
 * running a model. It is the demo backend a newcomer tries without a GPU (src/scripted/demoScenario.ts),
 * and the backend of the tests and benchmarks, which use it like anyone else. It speaks the
 * chat-completions wire format (streamed as SSE or as one JSON body), simulates usage reporting
 * including prefix caching, and can inject the faults real backends show: rate limits, 5xx, cut
 * or stalled streams and malformed chunks. A `Responder` decides what each request gets.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PrefixCache, completionBody, renderPrompt, sseChunks, usageBody } from './wire';
import { errorMessage } from '../core/errors';
import type { SimulatedGpu } from './gpu';

/** A tool call as it appears on the wire. */
export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A chat message as it appears on the wire (content may be a string, null or text parts). */
export interface WireMessage {
  role: string;
  content?: string | null | { type: string; text?: string }[];
  tool_calls?: WireToolCall[];
  tool_call_id?: string;
}

/** The parsed body of a chat-completions request. Unknown fields are kept. */
export interface ChatRequest {
  model?: string;
  messages: WireMessage[];
  tools?: { type: 'function'; function: { name: string; description?: string; parameters?: unknown } }[];
  tool_choice?: unknown;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  response_format?: { type: string; json_schema?: { name: string; schema?: unknown; strict?: boolean } };
  max_tokens?: number;
  temperature?: number;
  [key: string]: unknown;
}

/**
 * Usage a reply reports: 'auto' (default) estimates ~4 characters a token and simulates prefix
 * caching; 'none' sends no usage at all; explicit numbers are sent as given.
 */
export type UsageSpec = 'auto' | 'none' | { prompt: number; completion: number; cached?: number; reasoning?: number };

/** What the model "says". finishReason defaults to 'tool_calls' with tool calls, else 'stop'. */
export interface Reply {
  content?: string;
  /** `arguments` is serialized with JSON.stringify unless it is already a string (sent raw). */
  toolCalls?: { name: string; arguments: unknown }[];
  usage?: UsageSpec;
  finishReason?: string;
  /** Pause between streamed chunks, to simulate generation speed. */
  chunkDelayMs?: number;
}

/**
 * A failure to inject instead of a reply. `afterChunks` counts the SSE data events of the reply
 * that are sent before the fault takes effect. `silent` takes the request and never answers, not
 * even with headers (a server wedged before its first byte).
 */
export type Fault =
  | { fault: 'rate_limit'; retryAfterSec?: number; retryAfterMs?: number }
  | { fault: 'server_error'; status?: 500 | 502 | 503; retryAfterSec?: number }
  | { fault: 'cut'; afterChunks: number }
  | { fault: 'stall'; afterChunks: number }
  | { fault: 'malformed' }
  | { fault: 'silent' };

/** Decides the answer to one request; `ctx.index` counts chat requests from 0. */
export type Responder = (request: ChatRequest, ctx: { index: number }) => Reply | Fault | Promise<Reply | Fault>;

/** A chat request as the server received it. Header names are lowercase. */
export interface RecordedRequest {
  body: ChatRequest;
  headers: Record<string, string>;
  /** Date.now() when the request arrived. */
  receivedAt: number;
}

/** Options of `createScriptedServer`. */
export interface ScriptedServerOptions {
  responder: Responder;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The model id listed by GET /v1/models and used when a request names none. */
  model?: string;
  /** When false, `response_format: { type: 'json_schema' }` gets HTTP 400. Default true. */
  supportsJsonSchema?: boolean;
  /** When false, a forcing `tool_choice` (a named function or 'required') gets HTTP 400. Default true. */
  supportsToolChoice?: boolean;
  /** When false, usage never carries `prompt_tokens_details`. Default true. */
  reportCached?: boolean;
  /**
   * When false, any request offering `tools` gets HTTP 400, as vLLM answers without
   * `--enable-auto-tool-choice`. Default true.
   */
  supportsTools?: boolean;
  /** When false, a stream never ends with a usage chunk, even when `include_usage` is asked. Default true. */
  streamUsage?: boolean;
  /**
   * A simulated continuous-batching GPU (src/scripted/gpu.ts): each reply waits for its turn in the
   * batch and streams at the batch's rate, and GET /metrics serves vLLM-style counters. Without
   * it, replies go out at once.
   */
  gpu?: SimulatedGpu | null;
  /**
   * The model's context window in tokens: GET /v1/models gives it as vLLM's `max_model_len`, and a
   * request whose prompt is longer (counted as usage is, ~4 characters a token) gets HTTP 400 with
   * vLLM's error body and words. Default: none given, no limit.
   */
  contextWindow?: number | null;
  /**
   * The limit of requests at once the server publishes of itself, in the shape one real server
   * does (src/infra/serverLimit.ts): llama.cpp's `GET /props` `total_slots`, SGLang's `GET
   * /get_server_info` `max_running_requests`, TGI's `GET /info` `max_concurrent_requests`.
   * Default: none published (as vLLM).
   */
  publishedLimit?: { as: 'llama.cpp' | 'sglang' | 'tgi'; requests: number } | null;
}

/** Where and under which field each server publishes its limit of requests at once. */
const LIMIT_ROUTES = {
  'llama.cpp': { path: '/props', field: 'total_slots' },
  sglang: { path: '/get_server_info', field: 'max_running_requests' },
  tgi: { path: '/info', field: 'max_concurrent_requests' },
} as const;

/** A running scripted server. */
export interface ScriptedServer {
  /** Base URL ending in /v1. */
  url: string;
  requests: RecordedRequest[];
  /** Chat requests being answered now, and the most seen at once. */
  stats: { inFlight: number; maxInFlight: number };
  /** Stops listening and destroys every open socket (stalled streams included). */
  close(): Promise<void>;
}

interface Ctx {
  options: Required<Omit<ScriptedServerOptions, 'port' | 'host'>>;
  server: ScriptedServer;
  cache: PrefixCache;
}

/**
 * Start a scripted server on `host:port` (127.0.0.1 and a free port by default). Resolves once it
 * listens; `url` is the base URL to give an OpenAI client.
 */
export async function createScriptedServer(options: ScriptedServerOptions): Promise<ScriptedServer> {
  const sockets = new Set<Socket>();
  const httpServer = http.createServer();
  httpServer.keepAliveTimeout = 5_000;
  const ctx = {
    options: {
      responder: options.responder,
      model: options.model ?? 'foreman-test-model',
      supportsJsonSchema: options.supportsJsonSchema ?? true,
      supportsToolChoice: options.supportsToolChoice ?? true,
      reportCached: options.reportCached ?? true,
      supportsTools: options.supportsTools ?? true,
      streamUsage: options.streamUsage ?? true,
      contextWindow: options.contextWindow ?? null,
      publishedLimit: options.publishedLimit ?? null,
      gpu: options.gpu ?? null,
    },
    cache: new PrefixCache(),
  } as Ctx;
  httpServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  httpServer.on('request', (req, res) => {
    handle(ctx, req, res).catch((e: unknown) => {
      sendError(res, 500, `scripted server failure: ${errorMessage(e)}`, 'server_error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = httpServer.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  ctx.server = {
    url: `http://${host}:${address.port}/v1`,
    requests: [],
    stats: { inFlight: 0, maxInFlight: 0 },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        httpServer.close(() => resolve());
      }),
  };
  return ctx.server;
}

/**
 * Where a server with a simulated GPU serves that GPU's power and energy as a dcgm-exporter does
 * at its own `/metrics` (a real exporter listens on a port of its own, 9400 by default).
 */
export const DCGM_PATH = '/dcgm/metrics';

async function handle(ctx: Ctx, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
  if (req.method === 'GET' && path === '/v1/models') {
    const window = ctx.options.contextWindow;
    const data = [
      {
        id: ctx.options.model,
        object: 'model',
        created: 0,
        owned_by: 'foreman-test',
        ...(window === null ? {} : { max_model_len: window }),
      },
    ];
    sendJson(res, 200, { object: 'list', data });
    return;
  }
  if (req.method === 'GET' && path === '/metrics' && ctx.options.gpu) {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(ctx.options.gpu.metricsText(ctx.options.model));
    return;
  }
  const published = ctx.options.publishedLimit;
  if (req.method === 'GET' && published && path === LIMIT_ROUTES[published.as].path) {
    sendJson(res, 200, { [LIMIT_ROUTES[published.as].field]: published.requests });
    return;
  }
  if (req.method === 'GET' && path === DCGM_PATH && ctx.options.gpu) {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(ctx.options.gpu.dcgmText());
    return;
  }
  if (req.method !== 'POST' || path !== '/v1/chat/completions') {
    sendError(res, 404, `no route for ${req.method} ${path}`, 'not_found_error');
    return;
  }
  const raw = await readBody(req);
  let body: ChatRequest;
  try {
    body = JSON.parse(raw) as ChatRequest;
  } catch {
    sendError(res, 400, 'request body is not valid JSON', 'invalid_request_error');
    return;
  }
  if (!body || !Array.isArray(body.messages)) {
    sendError(res, 400, "'messages' must be an array", 'invalid_request_error', 'messages');
    return;
  }
  const index = ctx.server.requests.length;
  ctx.server.requests.push({ body, headers: lowerHeaders(req.headers), receivedAt: Date.now() });
  const stats = ctx.server.stats;
  stats.inFlight++;
  stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
  res.once('close', () => stats.inFlight--);
  const refusal = capabilityRefusal(ctx, body);
  if (refusal) {
    sendError(res, 400, refusal.message, 'invalid_request_error', refusal.param);
    return;
  }
  const prompt = renderPrompt(body.messages, body.tools);
  const window = ctx.options.contextWindow;
  if (window !== null && Math.ceil(prompt.length / 4) > window) {
    sendContextLengthError(res, window, Math.ceil(prompt.length / 4));
    return;
  }
  const cachedChars = ctx.cache.lookupAndAdd(prompt);
  const job: Job = {
    ctx,
    body,
    res,
    index,
    model: body.model ?? ctx.options.model,
    promptChars: prompt.length,
    cachedChars,
  };
  const answer = await ctx.options.responder(body, { index });
  if ('fault' in answer) sendFault(job, answer);
  else await sendReply(job, forcedToolReply(body, answer));
}

/** One chat request being answered. */
interface Job {
  ctx: Ctx;
  body: ChatRequest;
  res: http.ServerResponse;
  index: number;
  model: string;
  promptChars: number;
  cachedChars: number;
}

function usageFor(job: Job, reply: Reply): Record<string, unknown> | null {
  return usageBody(reply, job.promptChars, job.cachedChars, job.ctx.options.reportCached);
}

function capabilityRefusal(ctx: Ctx, body: ChatRequest): { message: string; param: string } | null {
  if (!ctx.options.supportsTools && (body.tools?.length ?? 0) > 0) {
    return { message: '"auto" tool choice requires --enable-auto-tool-choice to be set', param: 'tools' };
  }
  if (!ctx.options.supportsJsonSchema && body.response_format?.type === 'json_schema') {
    return { message: 'response_format json_schema is not supported by this server', param: 'response_format' };
  }
  const choice = body.tool_choice;
  const forcing = choice === 'required' || (typeof choice === 'object' && choice !== null);
  if (!ctx.options.supportsToolChoice && forcing) {
    return { message: 'tool_choice forcing a tool is not supported by this server', param: 'tool_choice' };
  }
  return null;
}

/**
 * A backend that honours a forced tool_choice answers with that tool: a reply scripted as plain
 * (JSON) content becomes the forced tool call's arguments, so one script serves every mode.
 */
function forcedToolReply(body: ChatRequest, reply: Reply): Reply {
  const choice = body.tool_choice as { type?: string; function?: { name?: string } } | undefined;
  const name = typeof choice === 'object' && choice !== null ? choice.function?.name : undefined;
  if (!name || (reply.toolCalls && reply.toolCalls.length > 0) || reply.content === undefined) return reply;
  return { ...reply, content: undefined, toolCalls: [{ name, arguments: reply.content }] };
}

async function sendReply(job: Job, reply: Reply): Promise<void> {
  const { body, res } = job;
  const usage = usageFor(job, reply);
  const gpu = job.ctx.options.gpu;
  const generation = gpu ? simulate(gpu, job, usage) : null;
  if (body.stream !== true) {
    if (generation) await generation.done;
    sendJson(res, 200, completionBody(reply, job.model, job.index, usage));
    return;
  }
  const includeUsage = body.stream_options?.include_usage === true && job.ctx.options.streamUsage;
  const events = sseChunks(reply, job.model, job.index, includeUsage ? usage : null);
  events.push('[DONE]');
  if (generation) {
    // The first chunk goes out with the first token, the rest with the last.
    await generation.firstToken;
    startStream(res);
    res.write(frame(events[0]));
    await generation.done;
    if (!res.destroyed) res.end(events.slice(1).map(frame).join(''));
    return;
  }
  startStream(res);
  const delay = reply.chunkDelayMs ?? 0;
  if (delay <= 0) {
    res.end(events.map(frame).join(''));
    return;
  }
  for (const event of events) {
    if (res.destroyed) return;
    res.write(frame(event));
    await sleep(delay);
  }
  res.end();
}

/** The reply's turn on the simulated GPU, sized by the usage it reports (or ~4 characters a token). */
function simulate(gpu: SimulatedGpu, job: Job, usage: Record<string, unknown> | null) {
  const prompt = typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : Math.ceil(job.promptChars / 4);
  const completion = typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : 1;
  return gpu.generate(prompt, Math.min(prompt, Math.floor(job.cachedChars / 4)), completion);
}

/** Faults always take the streamed shape (headers, then chunks), even for `stream: false`. */
function sendFault(job: Job, fault: Fault): void {
  const res = job.res;
  switch (fault.fault) {
    case 'rate_limit': {
      const headers: Record<string, string> = {};
      if (fault.retryAfterSec !== undefined) headers['retry-after'] = String(fault.retryAfterSec);
      if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
      sendError(res, 429, 'rate limit reached, slow down', 'rate_limit_exceeded', null, headers);
      return;
    }
    case 'server_error': {
      const headers: Record<string, string> = {};
      if (fault.retryAfterSec !== undefined) headers['retry-after'] = String(fault.retryAfterSec);
      const message = 'the server had an error while processing the request';
      sendError(res, fault.status ?? 500, message, 'server_error', null, headers);
      return;
    }
    case 'malformed':
      startStream(res);
      res.end(
        `${frame(sseChunks({ content: '' }, job.model, job.index, null)[0])}data: {"choices": [\n\n${frame('[DONE]')}`,
      );
      return;
    case 'silent':
      return; // nothing is written; close() destroys the socket
    case 'cut':
    case 'stall': {
      const reply = { content: 'This answer never arrives in full because the stream fails part way.' };
      const events = sseChunks(reply, job.model, job.index, usageFor(job, reply)).slice(0, fault.afterChunks);
      startStream(res);
      const cut = (): void => {
        if (fault.fault === 'cut') res.socket?.destroy();
      };
      if (events.length === 0) setImmediate(cut);
      else res.write(events.map(frame).join(''), cut);
      return; // a stall sends nothing more; close() destroys the socket
    }
  }
}

function startStream(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

function frame(data: string): string {
  return `data: ${data}\n\n`;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** vLLM's answer (its OpenAI-compatible server, 0.10 and later) to a prompt longer than the model's window. */
function sendContextLengthError(res: http.ServerResponse, window: number, promptTokens: number): void {
  const message =
    `This model's maximum context length is ${window} tokens. However, your request has ${promptTokens} input tokens. ` +
    'Please reduce the length of the input messages.';
  sendJson(res, 400, { error: { message, type: 'BadRequestError', param: null, code: 400 } });
}

function sendError(
  res: http.ServerResponse,
  status: number,
  message: string,
  type: string,
  param: string | null = null,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { message, type, param, code: null } }, headers);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function lowerHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
