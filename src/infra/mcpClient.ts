/**
 * One connection to one MCP server, through the official SDK's `Client`: over stdio to a process
 * started in a task's sandbox (`TaskRunner.startServer`, through the transport below), or over
 * Streamable HTTP from Foreman's own process. It lists tools, calls them with a time-out and the
 * task's abort signal, and turns every way a call can go wrong into an `McpFailure` with words.
 */
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../core/errors';
import { pinMaterial } from '../core/mcpTools';
import type { McpCallResult, McpFailure, McpServerConfig, McpToolDef } from '../core/mcpTools';
import type { ServerProcess, TaskRunner } from '../core/ports';

/** Foreman's name and version as an MCP client. */
export const CLIENT_INFO = { name: 'foreman', version: '0.1.0' };
/** Bytes a stdio server may send in one message; more ends the connection. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** How long connecting and listing may take. */
const CONNECT_TIMEOUT_MS = 30_000;

/** The pin of a server with these tools: SHA-256 of `pinMaterial`, in hex. */
export function pinOf(config: McpServerConfig, tools: readonly McpToolDef[]): string {
  return createHash('sha256').update(pinMaterial(config, tools)).digest('hex');
}

/** Quote a word for /bin/sh. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `${workspaceFolder}` (VS Code's variable) in a value, as the folder the server works in. */
export function withWorkspaceFolder(value: string, folder: string): string {
  return value.split('${workspaceFolder}').join(folder);
}

/**
 * An MCP transport over a `ServerProcess`: newline-delimited JSON-RPC, as the SDK's own stdio
 * transport, but over a process Foreman started in a sandbox. Lines that are not JSON-RPC are
 * counted (`malformed`) and skipped; a message over MAX_MESSAGE_BYTES ends the connection.
 */
class ServerProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  malformed = 0;
  lastMalformed = '';
  stderr = '';
  private readonly buffer = new ReadBuffer({ maxBufferSize: MAX_MESSAGE_BYTES });
  private closed = false;

  constructor(private readonly process: ServerProcess) {}

  start(): Promise<void> {
    this.process.onStdout((chunk) => this.receive(Buffer.from(chunk)));
    this.process.onStderr((chunk) => {
      this.stderr = (this.stderr + Buffer.from(chunk).toString('utf8')).slice(-2000);
    });
    this.process.onExit(() => this.finish());
    return Promise.resolve();
  }

  private receive(chunk: Buffer): void {
    try {
      this.buffer.append(chunk);
    } catch (e) {
      this.onerror?.(new Error(`the server sent a message over ${MAX_MESSAGE_BYTES} bytes (${errorMessage(e)})`));
      this.lastMalformed = `a message over ${MAX_MESSAGE_BYTES} bytes`;
      this.malformed++;
      void this.close();
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.buffer.readMessage();
      } catch (e) {
        this.malformed++;
        this.lastMalformed = errorMessage(e).slice(0, 200);
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the server has ended'));
    this.process.write(serializeMessage(message));
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.process.kill();
    this.finish();
    return Promise.resolve();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.onclose?.();
  }
}

/** A live connection to one server. */
export interface McpConnection {
  readonly config: McpServerConfig;
  /** False once the server has ended or the connection closed. */
  readonly up: boolean;
  /** Why it went down, in words (with the end of its standard error, for stdio servers). */
  readonly downReason: string | null;
  listTools(signal?: AbortSignal): Promise<McpToolDef[]>;
  call(
    tool: string,
    args: Record<string, unknown>,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<McpCallResult | McpFailure>;
  /** Called when the server says its tools changed (`notifications/tools/list_changed`). */
  onToolsChanged(listener: () => void): void;
  close(): Promise<void>;
}

/** Where a connection's stdio server runs: the task's runner, and the folder it sees as its workspace. */
export interface McpPlace {
  runner: TaskRunner;
  worktree: string;
}

/** Connect to a server; an error in words when it cannot be reached or does not answer `initialize`. */
export async function connectMcp(
  config: McpServerConfig,
  place: McpPlace | null,
  signal?: AbortSignal,
): Promise<McpConnection | { error: string }> {
  let transport: Transport;
  let stdio: ServerProcessTransport | null = null;
  const t = config.transport;
  if (t.type === 'stdio') {
    if (!place?.runner.startServer) return { error: 'no sandboxed runner to start it in' };
    const cwd = t.cwd === null ? place.worktree : withWorkspaceFolder(t.cwd, place.worktree);
    if (cwd !== place.worktree && !cwd.startsWith(`${place.worktree}/`))
      return { error: `its cwd ${cwd} is outside the workspace folder; a server runs inside the task's worktree` };
    const line = ['exec', t.command, ...t.args].map((w) => shellWord(withWorkspaceFolder(w, place.worktree))).join(' ');
    const env = Object.fromEntries(Object.entries(t.env).map(([k, v]) => [k, withWorkspaceFolder(v, place.worktree)]));
    const started = await place.runner.startServer(line, { cwd, env });
    if ('error' in started) return { error: started.error };
    stdio = new ServerProcessTransport(started);
    transport = stdio;
  } else {
    transport = new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: t.headers } });
  }
  return open(config, transport, stdio, signal);
}

async function open(
  config: McpServerConfig,
  transport: Transport,
  stdio: ServerProcessTransport | null,
  signal?: AbortSignal,
): Promise<McpConnection | { error: string }> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  let up = true;
  let downReason: string | null = null;
  const changed: (() => void)[] = [];
  const stderrTail = (): string =>
    stdio?.stderr.trim() ? `; its last output: ${stdio.stderr.trim().slice(-300)}` : '';
  client.onclose = () => {
    if (!up) return;
    up = false;
    downReason = `the server ended${stderrTail()}`;
  };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    for (const l of changed) l();
  });
  try {
    await client.connect(transport, { signal, timeout: CONNECT_TIMEOUT_MS });
  } catch (e) {
    await client.close().catch(() => undefined);
    return { error: `it did not complete the MCP handshake: ${errorMessage(e)}${stderrTail()}` };
  }
  const connection: McpConnection = {
    config,
    get up() {
      return up;
    },
    get downReason() {
      return downReason;
    },
    async listTools(listSignal) {
      const tools: McpToolDef[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined, {
          signal: listSignal,
          timeout: CONNECT_TIMEOUT_MS,
        });
        for (const tool of page.tools)
          tools.push({
            name: tool.name,
            description: tool.description ?? '',
            inputSchema: tool.inputSchema,
          });
        cursor = page.nextCursor;
      } while (cursor);
      return tools;
    },
    async call(tool, args, options) {
      if (!up) return { reason: 'down', message: `MCP server "${config.name}" is down: ${downReason ?? 'closed'}` };
      const malformedBefore = stdio?.malformed ?? 0;
      try {
        const result = await client.callTool({ name: tool, arguments: args }, undefined, {
          signal: options.signal,
          timeout: options.timeoutMs,
        });
        return resultText(result);
      } catch (e) {
        return failure(
          config,
          e,
          options,
          stdio && stdio.malformed > malformedBefore ? stdio.lastMalformed : null,
          () => (up ? null : downReason),
        );
      }
    },
    onToolsChanged(listener) {
      changed.push(listener);
    },
    async close() {
      up = false;
      downReason ??= 'closed by Foreman';
      await client.close().catch(() => undefined);
    },
  };
  return connection;
}

/** The failure of a call, with the reason a caller acts on. */
function failure(
  config: McpServerConfig,
  e: unknown,
  options: { signal: AbortSignal; timeoutMs: number },
  malformed: string | null,
  down: () => string | null,
): McpFailure {
  const name = `MCP server "${config.name}"`;
  if (options.signal.aborted) return { reason: 'aborted', message: 'the task was stopped; the call was cancelled' };
  const gone = down();
  if (gone !== null) return { reason: 'down', message: `${name} went down during the call: ${gone}` };
  if (malformed !== null)
    return { reason: 'malformed', message: `${name} answered with output that is not MCP: ${malformed}` };
  if (e instanceof McpError && e.code === (ErrorCode.RequestTimeout as number))
    return {
      reason: 'timeout',
      message: `${name} did not answer within ${Math.round(options.timeoutMs / 1000)} s; the call was cancelled`,
    };
  if (e instanceof McpError) return { reason: 'unknown', message: `${name} refused the call: ${e.message}` };
  return {
    reason: 'malformed',
    message: `${name} sent a result Foreman cannot read: ${errorMessage(e).slice(0, 300)}`,
  };
}

type CallResult = Awaited<ReturnType<Client['callTool']>>;

/** A call's content as text: text parts as they are, other parts described in a line. */
function resultText(result: CallResult): McpCallResult {
  const parts: string[] = [];
  const content = Array.isArray(result.content) ? (result.content as Record<string, unknown>[]) : [];
  for (const part of content) {
    if (part.type === 'text') parts.push(String(part.text));
    else if (part.type === 'image' || part.type === 'audio')
      parts.push(
        `[${String(part.type)} ${String(part.mimeType)}, ${String(part.data).length} characters of base64, not shown]`,
      );
    else if (part.type === 'resource') {
      const r = part.resource as Record<string, unknown>;
      parts.push(
        typeof r.text === 'string'
          ? `[resource ${String(r.uri)}]\n${r.text}`
          : `[binary resource ${String(r.uri)}, not shown]`,
      );
    } else if (part.type === 'resource_link') parts.push(`[resource link ${String(part.uri)}]`);
    else parts.push(`[content of type ${String(part.type)}, not shown]`);
  }
  if (parts.length === 0 && 'structuredContent' in result && result.structuredContent !== undefined)
    parts.push(JSON.stringify(result.structuredContent));
  if (parts.length === 0 && 'toolResult' in result) parts.push(JSON.stringify(result.toolResult));
  return { text: parts.join('\n'), isError: result.isError === true };
}
