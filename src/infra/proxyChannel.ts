/**
 * The channel between an allow-listed sandbox and Foreman's network proxy: one stream socket per
 * sandboxed command (descriptor 5, a socket pair Foreman made when it spawned bwrap), carrying
 * every TCP connection made inside to 127.0.0.1:SANDBOX_PROXY_PORT, multiplexed.
 *
 * Why a socket pair and not a Unix socket file: the sandbox's seccomp filter refuses to create
 * Unix sockets (seccompFilter.ts), so nothing inside could connect to one; a socket pair is made
 * outside and only inherited. No socket file exists, so none can be left behind or reached by
 * another sandbox.
 *
 * Frames, both ways: a 9-byte header (type u8, connection id u32, length u32) and, for DATA, that
 * many bytes. OPEN (bridge to Foreman only) starts a connection; DATA carries bytes; END says the
 * sender will send no more on it; CLOSE drops it; CREDIT grants the receiver's permission to send
 * `length` more bytes. Each side may have at most WINDOW unacknowledged bytes in flight per
 * connection, so a slow reader holds up only its own connection and memory stays bounded. The
 * sandbox is untrusted: a frame that breaks these rules ends the whole channel.
 */
import { Duplex } from 'node:stream';
import { SANDBOX_PROXY_PORT } from '../core/sandbox';

const OPEN = 1;
const DATA = 2;
const END = 3;
const CLOSE = 4;
const CREDIT = 5;
const HEADER = 9;
/** Bytes one side may send on a connection before the other grants more. */
const WINDOW = 256 * 1024;
/** The most bytes one DATA frame carries. */
const MAX_FRAME = 64 * 1024;
/** Connections one command may have open through its channel at once. */
export const MAX_CHANNEL_CONNECTIONS = 256;

type Send = (type: number, id: number, length: number, payload?: Buffer) => void;

/**
 * One connection of a channel, as a Duplex: what is written goes to the sandbox, what it sends is
 * read. CLOSE from the peer means it is gone: what it sent before is still read to the end, and
 * what is written after is dropped. Destroying a connection tells the peer with CLOSE.
 */
class ChannelConnection extends Duplex {
  /** Bytes we may still send before the peer grants more. */
  private credit = WINDOW;
  /** Bytes the peer may still send before we grant more. */
  private allowance = WINDOW;
  /** Bytes received and passed on, not yet granted back. */
  private owed = 0;
  private pending: { chunk: Buffer; done: (error?: Error | null) => void } | null = null;
  private peerEnded = false;
  private peerClosed = false;

  constructor(
    readonly id: number,
    private readonly send: Send,
    private readonly forget: (id: number) => void,
  ) {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.pending = { chunk, done };
    this.flush();
  }

  override _final(done: (error?: Error | null) => void): void {
    if (!this.peerClosed) this.send(END, this.id, 0);
    done();
  }

  override _read(): void {
    if (this.owed === 0 || this.peerClosed) return;
    this.send(CREDIT, this.id, this.owed);
    this.allowance += this.owed;
    this.owed = 0;
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.forget(this.id);
    if (!this.peerClosed) this.send(CLOSE, this.id, 0);
    this.peerClosed = true;
    this.flush();
    done(error);
  }

  /** Send what is pending, as far as the credit goes; a write completes once all of it is sent (or dropped). */
  private flush(): void {
    const p = this.pending;
    if (p === null) return;
    if (this.peerClosed) p.chunk = Buffer.alloc(0);
    while (p.chunk.length > 0 && this.credit > 0) {
      const n = Math.min(p.chunk.length, this.credit, MAX_FRAME);
      this.send(DATA, this.id, n, p.chunk.subarray(0, n));
      this.credit -= n;
      p.chunk = p.chunk.subarray(n);
    }
    if (p.chunk.length > 0) return;
    this.pending = null;
    p.done();
  }

  /** Bytes from the sandbox; false when it sent more than it was allowed, or after its END. */
  received(bytes: Buffer): boolean {
    if (bytes.length > this.allowance || this.peerEnded) return false;
    this.allowance -= bytes.length;
    this.owed += bytes.length;
    if (this.push(bytes) && this.owed >= WINDOW / 4) this._read();
    return true;
  }

  /** More credit; false when the peer grants more than it could owe. */
  granted(n: number): boolean {
    if (this.credit + n > WINDOW) return false;
    this.credit += n;
    this.flush();
    return true;
  }

  ended(): void {
    if (this.peerEnded) return;
    this.peerEnded = true;
    this.push(null);
  }

  closedByPeer(): void {
    this.ended();
    this.peerClosed = true;
    this.flush();
    this.end();
  }
}

/** A served channel. */
export interface ServedChannel {
  /** Close the channel and every connection on it. */
  close(): void;
}

/**
 * Serve the Foreman end of a channel: each connection the sandbox opens is handed to
 * `onConnection` as a Duplex stream. The channel ends, with every connection on it, when the
 * sandbox closes it, when it breaks the protocol, or on `close()`.
 */
export function serveChannel(transport: Duplex, onConnection: (connection: Duplex) => void): ServedChannel {
  const server = new ChannelServer(transport, onConnection);
  return { close: () => server.shut() };
}

/** Foreman's end of one channel: reads frames, keeps its connections, ends them all with it. */
class ChannelServer {
  private readonly connections = new Map<number, ChannelConnection>();
  private buffered: Buffer = Buffer.alloc(0);
  private readonly send: Send = (type, id, length, payload) => {
    if (this.transport.destroyed || !this.transport.writable) return;
    const header = Buffer.alloc(HEADER);
    header.writeUInt8(type, 0);
    header.writeUInt32BE(id, 1);
    header.writeUInt32BE(length, 5);
    this.transport.write(payload === undefined ? header : Buffer.concat([header, payload]));
  };
  private readonly forget = (id: number): void => void this.connections.delete(id);

  constructor(
    private readonly transport: Duplex,
    private readonly onConnection: (connection: Duplex) => void,
  ) {
    transport.on('data', (chunk: Buffer) => this.read(chunk));
    // A broken channel (the sandbox died) ends its connections like a closed one.
    const shut = (): void => this.shut();
    transport.on('error', shut);
    transport.on('close', shut);
    transport.on('end', shut);
  }

  shut(): void {
    this.transport.destroy();
    for (const c of [...this.connections.values()]) c.destroy();
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= HEADER) {
      const type = this.buffered.readUInt8(0);
      const id = this.buffered.readUInt32BE(1);
      const length = this.buffered.readUInt32BE(5);
      const size = type === DATA ? length : 0;
      if (size > MAX_FRAME) return this.shut();
      if (this.buffered.length < HEADER + size) return;
      const payload = this.buffered.subarray(HEADER, HEADER + size);
      this.buffered = this.buffered.subarray(HEADER + size);
      if (!this.frame(type, id, length, payload)) return this.shut();
    }
  }

  /** Act on one frame; false when it breaks the protocol, which ends the channel. */
  private frame(type: number, id: number, length: number, payload: Buffer): boolean {
    const c = this.connections.get(id);
    switch (type) {
      case OPEN:
        return c === undefined && id !== 0 && this.open(id);
      case DATA:
        // Data for a connection already dropped here is discarded, not an error.
        return c === undefined || c.received(payload);
      case END:
        c?.ended();
        return true;
      case CLOSE:
        c?.closedByPeer();
        return true;
      case CREDIT:
        return c === undefined || c.granted(length);
      default:
        return false;
    }
  }

  private open(id: number): boolean {
    if (this.connections.size >= MAX_CHANNEL_CONNECTIONS) {
      this.send(CLOSE, id, 0);
      return true;
    }
    const opened = new ChannelConnection(id, this.send, this.forget);
    this.connections.set(id, opened);
    this.onConnection(opened);
    return true;
  }
}

/**
 * The bridge inside the sandbox, run as `node -e BRIDGE_SOURCE` with the channel on descriptor 5:
 * it listens on 127.0.0.1:SANDBOX_PROXY_PORT, speaks the protocol above from the other side, writes
 * `ready` on its standard output and closes it once it listens, and exits when the channel closes.
 * Plain JavaScript for any Node, with nothing to load but `net` and `stream`.
 */
export const BRIDGE_SOURCE = `'use strict';
const net = require('net');
const { Duplex } = require('stream');
const fs = require('fs');
const [OPEN, DATA, END, CLOSE, CREDIT, HEADER, WINDOW, MAX] = [1, 2, 3, 4, 5, 9, ${WINDOW}, ${MAX_FRAME}];
const channel = new net.Socket({ fd: 5, readable: true, writable: true });
const conns = new Map();
let nextId = 1;
function send(type, id, length, payload) {
  if (channel.destroyed) return;
  const h = Buffer.alloc(HEADER);
  h.writeUInt8(type, 0); h.writeUInt32BE(id, 1); h.writeUInt32BE(length, 5);
  channel.write(payload ? Buffer.concat([h, payload]) : h);
}
class Conn extends Duplex {
  constructor(id) { super({ allowHalfOpen: true }); this.id = id; this.credit = WINDOW; this.owed = 0; this.pending = null; this.peerEnded = false; this.peerClosed = false; }
  _write(chunk, _e, done) { this.pending = { chunk, done }; this.flush(); }
  flush() {
    const p = this.pending;
    if (!p) return;
    if (this.peerClosed) p.chunk = Buffer.alloc(0);
    while (p.chunk.length > 0 && this.credit > 0) {
      const n = Math.min(p.chunk.length, this.credit, MAX);
      send(DATA, this.id, n, p.chunk.subarray(0, n)); this.credit -= n; p.chunk = p.chunk.subarray(n);
    }
    if (p.chunk.length === 0) { this.pending = null; p.done(); }
  }
  _final(done) { if (!this.peerClosed) send(END, this.id, 0); done(); }
  _read() { if (this.owed > 0 && !this.peerClosed) { send(CREDIT, this.id, this.owed); this.owed = 0; } }
  _destroy(err, done) { conns.delete(this.id); if (!this.peerClosed) send(CLOSE, this.id, 0); this.peerClosed = true; this.flush(); done(err); }
  received(b) { if (this.peerEnded) return; this.owed += b.length; if (this.push(b) && this.owed >= WINDOW / 4) this._read(); }
  ended() { if (!this.peerEnded) { this.peerEnded = true; this.push(null); } }
  closedByPeer() { this.ended(); this.peerClosed = true; this.flush(); this.end(); }
}
let buf = Buffer.alloc(0);
channel.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= HEADER) {
    const type = buf.readUInt8(0), id = buf.readUInt32BE(1), length = buf.readUInt32BE(5);
    const size = type === DATA ? length : 0;
    if (buf.length < HEADER + size) return;
    const payload = buf.subarray(HEADER, HEADER + size);
    buf = buf.subarray(HEADER + size);
    const c = conns.get(id);
    if (!c) continue;
    if (type === DATA) c.received(payload);
    else if (type === END) c.ended();
    else if (type === CLOSE) c.closedByPeer();
    else if (type === CREDIT) { c.credit += length; c.flush(); }
  }
});
const quit = () => process.exit(0);
channel.on('error', quit); channel.on('close', quit); channel.on('end', quit);
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  const c = new Conn(nextId++);
  conns.set(c.id, c);
  send(OPEN, c.id, 0);
  socket.pipe(c); c.pipe(socket);
  socket.on('error', () => c.destroy()); c.on('error', () => socket.destroy());
});
server.on('error', (e) => { process.stderr.write('foreman: the network bridge cannot listen on 127.0.0.1:${SANDBOX_PROXY_PORT}: ' + e.message + '\\n'); process.exit(1); });
// Once listening: say so, and close the shell's pipe (standard output becomes /dev/null, the
// lowest free descriptor, so nothing later writes to a closed or reused descriptor 1).
server.listen(${SANDBOX_PROXY_PORT}, '127.0.0.1', () => { fs.writeSync(1, 'ready'); fs.closeSync(1); fs.openSync('/dev/null', 'w'); });
`;
