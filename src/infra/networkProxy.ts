/**
 * The filtering proxy of an allow-listed sandbox (network `allowList`, src/core/sandbox.ts). It
 * runs in Foreman's own process, one per task runner, and listens nowhere: its only clients are
 * the connections that arrive through sandboxes' channels (proxyChannel.ts). It speaks HTTP
 * CONNECT (a tunnel, for HTTPS and anything else a client tunnels) and plain HTTP forwarding
 * (`GET http://host/path`), and lets a request through only when its host matches
 * `sandbox.allowedHosts` (src/core/hostPatterns.ts), on port 80 or 443 unless the pattern names
 * another. It resolves the name and connects itself, so the sandbox needs no DNS, and it never
 * connects to a loopback, private or link-local address unless an exact pattern named the host.
 * A refusal is a 403 whose body says which setting to change. Every decision goes to `onDecision`.
 */
import { lookup } from 'node:dns/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, connect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DEFAULT_PORTS, matchHost, normalizeHost, parseHostPatterns } from '../core/hostPatterns';
import type { HostPattern } from '../core/hostPatterns';
import type { NetworkDecision } from '../core/sandbox';
import { errorMessage } from '../core/errors';
import { serveChannel } from './proxyChannel';
import type { ServedChannel } from './proxyChannel';

/** Options of `createNetworkProxy`. */
export interface NetworkProxyOptions {
  /** The allow-list, as `sandbox.allowedHosts` holds it; entries that do not parse allow nothing. */
  allowedHosts: readonly string[];
  /** Called once per tunnel or request, allowed or not. Must not throw. */
  onDecision?: (decision: NetworkDecision) => void;
  /** Resolves a name to its addresses. Default: the system's resolver. Tests map names to 127.0.0.1. */
  resolve?: (host: string) => Promise<string[]>;
  /** How long connecting to a host may take. Default 15 s. */
  connectTimeoutMs?: number;
}

/**
 * A proxy for one task's sandboxes. Contract: `attach` serves a channel until it closes;
 * `close` ends every channel, tunnel and forwarded request at once, and the proxy then refuses
 * any channel attached later. It never listens on a port or a socket file.
 */
export interface NetworkProxy {
  attach(channel: Duplex): void;
  close(): Promise<void>;
}

/** Addresses a wildcard pattern never reaches: loopback, private, link-local, shared, multicast, reserved. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** Whether an address is one only an exactly named host may reach (IPv4-mapped IPv6 judged as IPv4). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Headers that belong to one hop and are not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'upgrade',
]);

async function systemResolve(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/** Where to connect, or why not. */
type Verdict = { ok: true; address: string; reason: string } | { ok: false; status: number; reason: string };

/** The body of a refusal: what was refused, why, and which setting to change. */
function refusalText(host: string, port: number, reason: string): string {
  const entry = DEFAULT_PORTS.includes(port) ? host : `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return [
    `Foreman's sandbox proxy refused ${host}:${port}: ${reason}.`,
    `To allow it, add "${entry}" to foreman.sandbox.allowedHosts in your user settings, or pass --allow-host ${entry} to foreman; a workspace's settings and foreman.json can only narrow that list.`,
    '',
  ].join('\n');
}

/** A proxy serving the hosts of `options.allowedHosts`. */
export function createNetworkProxy(options: NetworkProxyOptions): NetworkProxy {
  return new FilteringProxy(options);
}

class FilteringProxy implements NetworkProxy {
  private readonly patterns: HostPattern[];
  private readonly resolve: (host: string) => Promise<string[]>;
  private readonly timeoutMs: number;
  private readonly channels = new Set<ServedChannel>();
  /** Every connection to a host, tunnelled or forwarded, so that `close` can end it. */
  private readonly upstreams = new Set<Socket>();
  private readonly server = createServer();
  private closed = false;

  constructor(private readonly options: NetworkProxyOptions) {
    this.patterns = parseHostPatterns(options.allowedHosts).patterns;
    this.resolve = options.resolve ?? systemResolve;
    this.timeoutMs = options.connectTimeoutMs ?? 15_000;
    this.server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
      void this.tunnel(req, client, head);
    });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void this.forward(req, res);
    });
    this.server.on('upgrade', (_req: IncomingMessage, client: Duplex) => {
      client.end('HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    this.server.on('clientError', (_e: Error, client: Duplex) => {
      client.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  attach(channel: Duplex): void {
    if (this.closed) return void channel.destroy();
    const served = serveChannel(channel, (connection) => this.server.emit('connection', connection));
    this.channels.add(served);
    channel.on('close', () => this.channels.delete(served));
  }

  close(): Promise<void> {
    this.closed = true;
    for (const c of this.channels) c.close();
    for (const s of this.upstreams) s.destroy();
    this.channels.clear();
    this.upstreams.clear();
    this.server.close();
    return Promise.resolve();
  }

  private decide(decision: NetworkDecision): void {
    try {
      this.options.onDecision?.(decision);
    } catch {
      // A listener's failure must not break the connection it was told about.
    }
  }

  /** Judge `host:port` against the list, then resolve it and pick an address it may reach. */
  private async judge(host: string, port: number): Promise<Verdict> {
    const pattern = matchHost(this.patterns, host, port);
    if (pattern === null) return { ok: false, status: 403, reason: notListed(this.patterns, host, port) };
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await this.resolve(host);
    } catch (e) {
      return { ok: false, status: 502, reason: `its name does not resolve (${errorMessage(e)})` };
    }
    const usable = pattern.wildcard ? addresses.filter((a) => !isPrivateAddress(a)) : addresses;
    if (usable.length === 0)
      return {
        ok: false,
        status: 403,
        reason: `it resolves to ${addresses.join(', ') || 'no address'}, a loopback or private address, which only a host named exactly (not through ${pattern.text}) may reach`,
      };
    return { ok: true, address: usable[0], reason: `allowed by ${pattern.text}` };
  }

  /** Keep a connection to a host until it closes, to end it on `close`. */
  private track(socket: Socket): void {
    if (this.closed) return void socket.destroy();
    this.upstreams.add(socket);
    socket.on('close', () => this.upstreams.delete(socket));
  }

  /** Connect to `address:port`, with a time-out. */
  private open(address: string, port: number): Promise<Socket> {
    return new Promise((done, fail) => {
      const socket = connect({ host: address, port });
      this.track(socket);
      const limit = this.timeoutMs;
      socket.setTimeout(limit, () => socket.destroy(new Error(`no connection within ${limit / 1000} s`)));
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.off('error', fail);
        done(socket);
      });
    });
  }

  /** CONNECT host:port: judge, connect, answer 200 and splice, or answer with the refusal. */
  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url ?? '');
    if (target === null) return void client.end(plainResponse(400, 'CONNECT needs host:port\n'));
    const verdict = await this.judge(target.host, target.port);
    this.decide({ ...target, allowed: verdict.ok, via: 'connect', reason: verdict.reason });
    if (!verdict.ok)
      return void client.end(plainResponse(verdict.status, refusalText(target.host, target.port, verdict.reason)));
    let upstream: Socket;
    try {
      upstream = await this.open(verdict.address, target.port);
    } catch (e) {
      const why = `Foreman's sandbox proxy could not connect to ${target.host}:${target.port}: ${errorMessage(e)}\n`;
      return void client.end(plainResponse(502, why));
    }
    if (client.destroyed) return void upstream.destroy();
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    client.pipe(upstream);
  }

  /** A plain request `METHOD http://host[:port]/path`: judge, then forward it and its answer. */
  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = requestTarget(req.url ?? '');
    if (typeof target === 'string') return refuse(res, 400, target);
    const { host, port, path, authority } = target;
    const verdict = await this.judge(host, port);
    this.decide({ host, port, allowed: verdict.ok, via: 'http', reason: verdict.reason });
    if (!verdict.ok) return refuse(res, verdict.status, refusalText(host, port, verdict.reason));
    // The Host header is the judged one: another name would reach another site behind the same
    // address (a CDN serves many), which the allow-list never named.
    const headers = { ...forwardedHeaders(req.headers), host: authority };
    const upstream = httpRequest({ host: verdict.address, port, method: req.method, path, headers, agent: false });
    upstream.on('socket', (socket) => this.track(socket));
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardedHeaders(answer.headers));
      answer.pipe(res);
    });
    upstream.on('error', (e) => {
      if (res.headersSent) return void res.destroy();
      refuse(res, 502, `Foreman's sandbox proxy could not reach ${host}:${port}: ${errorMessage(e)}\n`);
    });
    req.pipe(upstream);
  }
}

/** Host, port and path of a forwarded request's absolute URL, or what is wrong with it. */
function requestTarget(raw: string): { host: string; port: number; path: string; authority: string } | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'This is a proxy: send requests for http://host/path, or tunnel with CONNECT.\n';
  }
  if (url.protocol !== 'http:') return `Only http:// is forwarded; ${url.protocol}// goes through CONNECT.\n`;
  const port = url.port === '' ? 80 : Number(url.port);
  return { host: normalizeHost(url.hostname), port, path: `${url.pathname}${url.search}`, authority: url.host };
}

/** Why a host is not allowed: not on the list, or not on this port. */
function notListed(patterns: readonly HostPattern[], host: string, port: number): string {
  const onOtherPort = patterns.some((p) => matchHost([{ ...p, port: null }], host, 80) !== null);
  if (onOtherPort)
    return `port ${port} is not allowed for it (a host listed without a port allows 80 and 443; list it as ${host}:${port})`;
  return patterns.length === 0
    ? 'the allow-list is empty'
    : `it is not in the allow-list (${patterns.map((p) => p.text).join(', ')})`;
}

/** `host:port` or `[v6]:port` of a CONNECT request, or null. */
function parseAuthority(target: string): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(target);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: normalizeHost(m[1]), port } : null;
}

function forwardedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_BY_HOP.has(k) && !named.has(k)));
}

function plainResponse(status: number, body: string): string {
  const reason = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway';
  const length = Buffer.byteLength(body);
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n${body}`;
}

function refuse(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
  res.end(body);
}
