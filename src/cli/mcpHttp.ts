/**
 * Foreman's MCP server over Streamable HTTP, for `foreman mcp --http`: a node:http server bound to
 * 127.0.0.1 only, at `/mcp`, one MCP session (and one McpServer) per client that initializes.
 * Before anything reaches the SDK's transport, every request is checked:
 *
 * - DNS rebinding: the Host header must name this loopback address (127.0.0.1, localhost or [::1],
 *   with this port when it names one), and an Origin header, when a browser sends one, must be such
 *   an origin too. Otherwise 403: a web page whose name was rebound to 127.0.0.1 must not drive runs.
 * - The bearer token, unless the server runs without one: `Authorization: Bearer <token>`,
 *   compared in constant time. Otherwise 401 with `WWW-Authenticate: Bearer`.
 *
 * Refusals are JSON-RPC error bodies whose message says what to do.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../core/errors';

/** The path the MCP endpoint is served at. */
export const MCP_PATH = '/mcp';

/** The largest request body read, in bytes (the SDK's own default). */
const MAX_BODY = 4 * 1024 * 1024;

/** How `serveMcpHttp` serves. */
export interface McpHttpOptions {
  /** The port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** The bearer token every request must carry; null serves without one (`--no-token`). */
  token: string | null;
  /** A new MCP server for one client session. */
  createServer(): McpServer;
  log(line: string): void;
}

/** A listening MCP endpoint. */
export interface McpHttpEndpoint {
  /** `http://127.0.0.1:<port>/mcp`. */
  url: string;
  /** Close every session and stop listening. */
  close(): Promise<void>;
}

/** Serve MCP over Streamable HTTP on 127.0.0.1 (see the file's comment for the checks). */
export async function serveMcpHttp(opts: McpHttpOptions): Promise<McpHttpEndpoint> {
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  let port = opts.port;
  const http: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      opts.log(`An MCP request failed: ${errorMessage(e)}`);
      if (!res.headersSent) reply(res, 500, 'Foreman could not handle the request (see its log).', -32603);
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = rebindingRefusal(req, port) ?? tokenRefusal(req, opts.token);
    if (refused) return reply(res, refused.status, refused.message, -32001, refused.headers);
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path !== MCP_PATH) return reply(res, 404, `Foreman serves MCP at ${MCP_PATH}, not ${path}.`, -32601);
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      if (!session)
        return reply(
          res,
          404,
          `There is no MCP session ${sessionId} (it ended, or Foreman restarted): initialize again.`,
          -32001,
        );
      if (req.method !== 'POST') return session.transport.handleRequest(req, res);
      const body = await readJson(req);
      if ('refused' in body) return reply(res, body.refused.status, body.refused.message, body.refused.code);
      return session.transport.handleRequest(req, res, body.value);
    }
    if (req.method !== 'POST')
      return reply(
        res,
        400,
        'Start with an initialize request (POST) to get a session; then send its Mcp-Session-Id.',
        -32000,
      );
    const read = await readJson(req);
    if ('refused' in read) return reply(res, read.refused.status, read.refused.message, read.refused.code);
    const body = read.value;
    if (!isInitializeRequest(body))
      return reply(res, 400, 'No Mcp-Session-Id header: only an initialize request may come without one.', -32000);
    const server = opts.createServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      void server.close();
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${MCP_PATH}`,
    close: async () => {
      for (const { transport, server } of [...sessions.values()]) {
        await transport.close().catch(() => undefined);
        await server.close().catch(() => undefined);
      }
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** A refusal's status, sentence and headers. */
interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether `host` (a Host header, or an origin's host) names this server: a loopback name, and this port when it names one. */
function isLoopbackHost(host: string, port: number): boolean {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host.toLowerCase());
  if (!m || !LOOPBACK_NAMES.has(m[1])) return false;
  return m[2] === undefined || Number(m[2]) === port;
}

/** 403 for a request whose Host or Origin is not this loopback server (DNS rebinding). */
function rebindingRefusal(req: IncomingMessage, port: number): Refusal | null {
  const host = header(req, 'host');
  if (host === undefined || !isLoopbackHost(host, port))
    return {
      status: 403,
      message: `Refused: the Host header "${host ?? ''}" does not name this server (http://127.0.0.1:${port}). Foreman's MCP server answers only requests addressed to 127.0.0.1, localhost or [::1], so a web page cannot reach it through a rebound DNS name.`,
    };
  const origin = header(req, 'origin');
  if (origin === undefined) return null;
  let allowed: boolean;
  try {
    const o = new URL(origin);
    allowed = (o.protocol === 'http:' || o.protocol === 'https:') && isLoopbackHost(o.host, port);
  } catch {
    allowed = false; // "null" and other origins that are not URLs are not this server
  }
  return allowed
    ? null
    : {
        status: 403,
        message: `Refused: requests from the origin "${origin}" may not use Foreman's MCP server; only pages served from this machine's loopback address may.`,
      };
}

/** 401 for a request without the bearer token (or with another one). */
function tokenRefusal(req: IncomingMessage, token: string | null): Refusal | null {
  if (token === null) return null;
  const given = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1]?.trim();
  if (given !== undefined && sameSecret(given, token)) return null;
  return {
    status: 401,
    message:
      given === undefined
        ? "Unauthorized: Foreman's MCP server needs its token: send `Authorization: Bearer <token>` (the token `foreman mcp --http` printed, or FOREMAN_MCP_TOKEN)."
        : "Unauthorized: that bearer token is not this server's; use the token `foreman mcp --http` printed (or FOREMAN_MCP_TOKEN).",
    headers: { 'WWW-Authenticate': 'Bearer realm="foreman"' },
  };
}

/** Compare two secrets in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A JSON-RPC error body with an HTTP status. */
function reply(
  res: ServerResponse,
  status: number,
  message: string,
  code: number,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** The request's body as JSON, or why it cannot be read (too big, not JSON). */
async function readJson(req: IncomingMessage): Promise<{ value: unknown } | { refused: Refusal & { code: number } }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY)
      return { refused: { status: 413, message: `The request body is over ${MAX_BODY} bytes.`, code: -32600 } };
    chunks.push(chunk);
  }
  try {
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { refused: { status: 400, message: 'Parse error: the request body is not JSON.', code: -32700 } };
  }
}
