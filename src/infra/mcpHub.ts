/**
 * The `McpPort` of a run: every configured server read once at the start (a stdio server started
 * in the integration worktree's sandbox, an HTTP server reached from Foreman), pinned, and asked
 * about when its pin is new or changed; then each task's own connections. HTTP connections are
 * shared by the run; stdio servers are started per task, in the task's sandbox, with its worktree
 * as their workspace folder, and their tools must hash to the approved pin. Tools that change
 * during the run (a `tools/list_changed`, or a task's own server listing others) are asked about
 * again through the run's approver; the server's calls wait for that answer, go through once it is
 * approved, and are refused with the reason for the rest of the run when it is not.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Approver } from '../core/approver';
import { errorMessage } from '../core/errors';
import type { McpStatus, NewEvent } from '../core/journal';
import { mcpToolName, mcpToolSchemas } from '../core/mcpTools';
import type { McpPort, McpPrepareContext, McpServerConfig, McpTaskTools, McpToolDef } from '../core/mcpTools';
import type { ToolSchema } from '../core/model';
import type { TaskRunner } from '../core/ports';
import { connectMcp, pinOf } from './mcpClient';
import type { McpConnection, McpPlace } from './mcpClient';

/** What the developer approved of a server. */
export interface PinRecord {
  pin: string;
  tools: string[];
  approvedAt: string;
}

/** Where approved pins are kept: per repository, beside Foreman's other state (`.git/foreman/mcp-pins.json`). */
export interface PinStore {
  get(server: string): PinRecord | null;
  set(server: string, record: PinRecord): void;
}

/** The pin store in a JSON file; an unreadable file counts as no pins (each server is asked about again). */
export function filePinStore(path: string): PinStore {
  const read = (): Record<string, PinRecord> => {
    try {
      const value = JSON.parse(readFileSync(path, 'utf8')) as { servers?: Record<string, PinRecord> };
      return value.servers ?? {};
    } catch {
      // Absent or damaged: nothing is pinned, so every server needs the developer again.
      return {};
    }
  };
  return {
    get: (server) => read()[server] ?? null,
    set: (server, record) => {
      const servers = { ...read(), [server]: record };
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(`${path}.tmp`, `${JSON.stringify({ servers }, null, 2)}\n`, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    },
  };
}

/** Options of `createMcpHub`. */
export interface McpHubOptions {
  servers: readonly McpServerConfig[];
  pins: PinStore;
  /** Longest wait for one tool call. Default 60 s. */
  callTimeoutMs?: number;
  /** Clock for `approvedAt`. */
  now?: () => Date;
}

interface ServerState {
  config: McpServerConfig;
  pin: string;
  tools: McpToolDef[];
  /** `ready`: calls go through; `changed`: refused until the developer approves the new pin; `down`: it ended. */
  status: 'ready' | 'changed' | 'down';
  why: string;
  /** The run's one connection to an HTTP server. */
  shared: McpConnection | null;
  /** The ask about a changed pin, while it is open. */
  asking: Promise<void> | null;
  /** A listing read again after the server said its tools changed, while it is under way. */
  relisting: Promise<void> | null;
}

/** Default time-out of one tool call. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/** The hub of one run. */
export function createMcpHub(options: McpHubOptions): McpPort {
  return new McpHub(options);
}

class McpHub implements McpPort {
  private readonly servers = new Map<string, ServerState>();
  private readonly names = new Map<string, { config: McpServerConfig; tool: string }>();
  private schemaList: ToolSchema[] = [];
  private prepared: Promise<void> | null = null;
  private emit: (event: NewEvent) => void = () => undefined;
  private approver: Approver | undefined;
  /** Aborted by `close`: a question about a changed pin still open then is withdrawn. */
  private readonly closing = new AbortController();
  private readonly timeoutMs: number;

  constructor(private readonly options: McpHubOptions) {
    this.timeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  get schemas(): readonly ToolSchema[] {
    return this.schemaList;
  }

  prepare(ctx: McpPrepareContext): Promise<void> {
    this.emit = (event) => ctx.emit(event);
    this.approver = ctx.approver;
    this.prepared ??= this.prepareAll(ctx);
    return this.prepared;
  }

  private async prepareAll(ctx: McpPrepareContext): Promise<void> {
    const sorted = [...this.options.servers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const config of sorted) await this.prepareOne(config, ctx);
    const ready = [...this.servers.values()];
    this.schemaList = mcpToolSchemas(
      ready.map((s) => ({ server: s.config.name, tools: s.tools })),
      ready.map((s) => s.config),
    );
    for (const s of ready)
      for (const t of s.tools) this.names.set(mcpToolName(s.config.name, t.name), { config: s.config, tool: t.name });
  }

  private record(
    server: string,
    status: McpStatus,
    pin: string | null,
    detail: string,
    extra: Partial<NewEvent> = {},
  ): void {
    this.emit({ type: 'mcp', server, status, pin, detail, ...extra } as NewEvent);
  }

  /** Read one server's tools, pin them and ask when the pin is new or changed. */
  private async prepareOne(config: McpServerConfig, ctx: McpPrepareContext): Promise<void> {
    const connected = await connectMcp(config, { runner: ctx.runner, worktree: ctx.worktree }, ctx.signal);
    if ('error' in connected)
      return this.record(config.name, 'unavailable', null, `cannot be used: ${connected.error}`);
    let tools: McpToolDef[];
    try {
      tools = await connected.listTools(ctx.signal);
    } catch (e) {
      await connected.close();
      return this.record(config.name, 'unavailable', null, `its tools could not be listed: ${errorMessage(e)}`);
    }
    const keep = config.transport.type === 'http';
    if (!keep) await connected.close();
    const pin = pinOf(config, tools);
    const { approved } = await this.approvePin(config, tools, pin, ctx.signal);
    if (!approved) {
      if (keep) await connected.close();
      return;
    }
    const state: ServerState = {
      config,
      pin,
      tools,
      status: 'ready',
      why: '',
      shared: keep ? connected : null,
      asking: null,
      relisting: null,
    };
    this.servers.set(config.name, state);
    if (keep) this.watch(state, connected, null);
  }

  /** Whether the developer approved this pin (now, or before: the pin store). Journals either way. */
  private async approvePin(
    config: McpServerConfig,
    tools: McpToolDef[],
    pin: string,
    signal: AbortSignal,
    taskId?: string,
  ): Promise<{ approved: boolean; reason: string }> {
    const stored = this.options.pins.get(config.name);
    const task = taskId ? { taskId } : {};
    if (stored?.pin === pin) {
      this.record(config.name, 'pinned', pin, `${tools.length} tools, as approved on ${stored.approvedAt}`, task);
      return { approved: true, reason: '' };
    }
    const what = stored ? 'changed since you approved it' : 'new';
    const listing = tools.map((t) => `  ${t.name}: ${t.description.replace(/\s+/g, ' ').slice(0, 200)}`).join('\n');
    const where =
      config.transport.type === 'stdio'
        ? [config.transport.command, ...config.transport.args].join(' ')
        : config.transport.url;
    const answer = await (this.approver ?? NOBODY).approve(
      {
        task: taskId ?? null,
        line: `MCP server "${config.name}" from ${config.origin} (${where}), pin ${pin.slice(0, 12)}, ${tools.length} tools:\n${listing}`,
        verdict: {
          decision: 'ask',
          command: `mcp-server ${config.name} ${pin.slice(0, 12)}`,
          rule: {
            id: stored ? 'mcp-pin-changed' : 'mcp-pin-new',
            why: `MCP server "${config.name}" is ${what}: its tools are offered to agents only once you approve them`,
            source: config.source,
            category: null,
            fixed: true,
          },
        },
      },
      signal,
    );
    // Trust in the sandbox (--approve policy) does not cover what a tool's description tells the model.
    if (answer.approved && answer.by !== 'sandbox') {
      this.options.pins.set(config.name, {
        pin,
        tools: tools.map((t) => t.name),
        approvedAt: (this.options.now?.() ?? new Date()).toISOString(),
      });
      this.record(config.name, 'approved', pin, `${what}; ${tools.length} tools approved`, { ...task, by: answer.by });
      return { approved: true, reason: '' };
    }
    const reason = answer.approved ? 'a pin needs a person; --approve policy does not approve one' : answer.reason;
    const outcome = taskId ? 'its tools are refused for the rest of this run' : 'its tools are not offered';
    this.record(config.name, 'refused', pin, `${what}; ${outcome}: ${reason}`, {
      ...task,
      by: answer.by,
    });
    return { approved: false, reason };
  }

  /**
   * React to a connection's tool changes. The listing read again is noted at once, so a call that
   * comes meanwhile (the server says so before it answers the call that changed them) waits for it.
   */
  private watch(state: ServerState, connection: McpConnection, taskId: string | null): void {
    connection.onToolsChanged(() => {
      const relisting = this.relist(state, connection, taskId);
      state.relisting = relisting;
      void relisting.finally(() => {
        if (state.relisting === relisting) state.relisting = null;
      });
    });
  }

  /** The server says its tools changed: read them again; a new pin refuses its tools until approved. */
  private async relist(state: ServerState, connection: McpConnection, taskId: string | null): Promise<void> {
    let tools: McpToolDef[];
    try {
      tools = await connection.listTools();
    } catch (e) {
      return this.markDown(state, `its tools could not be listed again: ${errorMessage(e)}`, taskId);
    }
    this.check(state, tools, taskId);
  }

  /** Compare a listing with the approved pin; on a difference, refuse and ask again. */
  private check(state: ServerState, tools: McpToolDef[], taskId: string | null): boolean {
    const pin = pinOf(state.config, tools);
    if (pin === state.pin) return true;
    if (state.status === 'changed') return false;
    state.status = 'changed';
    state.why = `MCP server "${state.config.name}" changed its tools during the run (pin ${pin.slice(0, 12)}, approved ${state.pin.slice(0, 12)}); its calls wait until you answer whether to approve the change`;
    this.record(state.config.name, 'changed', pin, state.why, taskId ? { taskId } : {});
    state.asking = this.approvePin(state.config, tools, pin, this.closing.signal, taskId ?? undefined).then(
      (answer) => {
        state.asking = null;
        if (answer.approved) {
          state.pin = pin;
          state.status = 'ready';
        } else
          state.why = `MCP server "${state.config.name}" changed its tools during the run (pin ${pin.slice(0, 12)}, approved ${state.pin.slice(0, 12)}) and the change was not approved (${answer.reason}): its tools are refused for the rest of this run`;
      },
    );
    return false;
  }

  /**
   * Wait until what is known of `state` is settled: a listing read again, and the question about
   * a changed pin (the call goes through once it is approved). `signal` ends the wait, not the question.
   */
  private async settled(state: ServerState, signal: AbortSignal): Promise<void> {
    // Most calls find nothing to wait for: no listener is left on the task's signal by them.
    if (!(state.relisting || state.asking) || signal.aborted) return;
    let onAbort = (): void => undefined;
    const stopped = new Promise<void>((resolve) => (onAbort = resolve));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while ((state.relisting || state.asking) && !signal.aborted)
        await Promise.race([state.relisting ?? state.asking, stopped]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private markDown(state: ServerState, why: string, taskId: string | null): void {
    if (state.status === 'down') return;
    state.status = 'down';
    state.why = `MCP server "${state.config.name}" is down: ${why}`;
    this.record(state.config.name, 'down', null, why, taskId ? { taskId } : {});
  }

  resolve(name: string): { config: McpServerConfig; tool: string } | null {
    return this.names.get(name) ?? null;
  }

  openTask(taskId: string, runner: TaskRunner, worktree: string): McpTaskTools {
    const own = new Map<string, Promise<McpConnection | { error: string }>>();
    const place: McpPlace = { runner, worktree };
    const connectionFor = (state: ServerState, signal: AbortSignal): Promise<McpConnection | { error: string }> => {
      if (state.shared) return Promise.resolve(state.shared);
      let pending = own.get(state.config.name);
      if (!pending) {
        pending = this.openOwn(state, place, taskId, signal);
        own.set(state.config.name, pending);
      }
      return pending;
    };
    return {
      call: async (server, tool, args, signal) => {
        const state = this.servers.get(server);
        if (!state) return { reason: 'unknown', message: `no MCP server "${server}" in this run` };
        await this.settled(state, signal);
        if (state.status !== 'ready')
          return { reason: state.status === 'down' ? 'down' : 'changed', message: state.why };
        const connection = await connectionFor(state, signal);
        if ('error' in connection) {
          this.markDown(state, connection.error, taskId);
          return { reason: 'down', message: state.why };
        }
        // This task's own connection may have found the tools changed: the call waits for the answer.
        await this.settled(state, signal);
        if (state.status !== 'ready')
          return { reason: state.status === 'down' ? 'down' : 'changed', message: state.why };
        const timeoutMs = state.config.timeoutMs ?? this.timeoutMs;
        const result = await connection.call(tool, args, { signal, timeoutMs });
        if ('reason' in result && result.reason === 'down')
          this.markDown(state, connection.downReason ?? result.message, taskId);
        if ('reason' in result && result.reason === 'down') return { reason: 'down', message: state.why };
        return result;
      },
      refusal: (server) => {
        const state = this.servers.get(server);
        // While its change is being read or asked about, the call itself waits for the outcome.
        if (!state || state.status === 'ready' || state.relisting || state.asking) return null;
        return { reason: state.status === 'down' ? 'down' : 'changed', message: state.why };
      },
      close: async () => {
        const opened = await Promise.all(own.values());
        await Promise.all(opened.map((c) => ('error' in c ? Promise.resolve() : c.close())));
      },
    };
  }

  /** A task's own connection to a stdio server: its tools must match the approved pin. */
  private async openOwn(
    state: ServerState,
    place: McpPlace,
    taskId: string,
    signal: AbortSignal,
  ): Promise<McpConnection | { error: string }> {
    const connection = await connectMcp(state.config, place, signal);
    if ('error' in connection) return connection;
    try {
      this.check(state, await connection.listTools(signal), taskId);
    } catch (e) {
      await connection.close();
      return { error: `its tools could not be listed: ${errorMessage(e)}` };
    }
    this.watch(state, connection, taskId);
    return connection;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.all([...this.servers.values()].map((s) => (s.shared ? s.shared.close() : Promise.resolve())));
  }
}

const NOBODY: Approver = {
  approve: () =>
    Promise.resolve({ approved: false, by: 'nobody', reason: 'no one can approve MCP servers in this run' }),
};
