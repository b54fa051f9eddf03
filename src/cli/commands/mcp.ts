/**
 * `foreman mcp`: Foreman as an MCP server for other agents and tools (src/cli/mcpServer.ts), over
 * stdio (the default: a client starts `foreman mcp` and speaks on its standard input and output),
 * or with `--http` over Streamable HTTP on 127.0.0.1 (src/cli/mcpHttp.ts). Runs started through it
 * go on in this process until they come to rest; stopping the server stops them, their work kept.
 *
 * With `--http`, standard output's first line is the endpoint's URL; when the server made its own
 * token (FOREMAN_MCP_TOKEN unset), the second line is `Bearer <token>`. Everything else goes to
 * standard error. Over stdio, standard output is the protocol's alone.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { RunFleet } from '../../app/runFleet';
import { openWorkspace } from '../../app/workspace';
import { describeSandboxState } from '../../core/sandbox';
import { cliApprovals } from '../approvals';
import { EXIT } from '../context';
import type { CommandContext, CommandHandler } from '../context';
import { serveMcpHttp } from '../mcpHttp';
import { createForemanMcpServer } from '../mcpServer';
import { UsageError } from '../options';

/** The environment variable that holds the HTTP server's bearer token. */
export const TOKEN_VARIABLE = 'FOREMAN_MCP_TOKEN';

export const mcpCommand: CommandHandler = async (ctx) => {
  if (ctx.cl.args.length)
    throw new UsageError('foreman mcp takes no arguments: foreman mcp [--http [--port N] [--no-token]]');
  if (ctx.cl.approve === 'prompt')
    throw new UsageError(
      '--approve prompt needs a terminal, and foreman mcp has none to ask on: use --approve never (the default) or --approve policy',
    );
  // Foreman's lines go to standard error and, as MCP log messages, to every connected client.
  const servers = new Set<McpServer>();
  const log = (line: string): void => {
    ctx.err(line);
    for (const server of servers)
      if (server.isConnected())
        server.sendLoggingMessage({ level: 'info', logger: 'foreman', data: line }).catch(() => undefined);
  };
  const fleet = await openFleet(ctx, log);
  const deps = { fleet, version: foremanVersion(), log };
  const create = (): McpServer => {
    const server = createForemanMcpServer(deps);
    servers.add(server);
    const closed = server.server.onclose;
    server.server.onclose = () => {
      servers.delete(server);
      closed?.();
    };
    return server;
  };
  try {
    return ctx.cl.mcp.http ? await serveHttp(ctx, create) : await serveStdio(ctx, create());
  } finally {
    ctx.err('Stopping the runs this server drives (their work is kept) …');
    await fleet.shutdown();
  }
};

/** The fleet of this server's runs, with the sandbox's state and how asks are answered said on stderr. */
async function openFleet(ctx: CommandContext, log: (line: string) => void): Promise<RunFleet> {
  const mode = ctx.cl.approve ?? 'never';
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings); // not a repository: said before anything is served
  const state = await ws.runners.state();
  ctx.err(describeSandboxState(state));
  const approvals = cliApprovals(mode, {
    sandboxed: state.kind === 'on',
    timeoutMs: ctx.cl.approveTimeoutMs,
    terminal: { input: process.stdin, output: process.stderr, interactive: false },
    err: (line) => ctx.err(line),
  });
  ctx.err(
    mode === 'policy'
      ? 'Approvals: commands the policy asks about run without asking, in the sandbox (--approve policy).'
      : 'Approvals: commands the policy asks about are refused (foreman mcp has no terminal to ask on; see --approve).',
  );
  return new RunFleet({
    cwd: ctx.cl.cwd,
    workspace: ws,
    settings: ctx.settings,
    flags: ctx.cl.flags,
    maxTasks: ctx.cl.maxTasks,
    approver: approvals.approver,
    log,
  });
}

async function serveStdio(ctx: CommandContext, server: McpServer): Promise<number> {
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  // The client ends the session by closing our standard input.
  process.stdin.once('end', () => void transport.close());
  const removeInterrupt = ctx.onInterrupt(() => void transport.close());
  await server.connect(transport);
  ctx.err('Foreman serves MCP on standard input and output.');
  await closed;
  removeInterrupt();
  return EXIT.ok;
}

async function serveHttp(ctx: CommandContext, createServer: () => McpServer): Promise<number> {
  const fromEnv = process.env[TOKEN_VARIABLE]?.trim();
  const token = ctx.cl.mcp.noToken ? null : fromEnv || randomBytes(24).toString('base64url');
  const endpoint = await serveMcpHttp({ port: ctx.cl.mcp.port, token, createServer, log: (line) => ctx.err(line) });
  ctx.out(endpoint.url);
  if (token !== null && !fromEnv) ctx.out(`Bearer ${token}`);
  ctx.err(
    token === null
      ? `Foreman serves MCP at ${endpoint.url} without a token (--no-token): any program on this machine can use it.`
      : `Foreman serves MCP at ${endpoint.url}; clients send Authorization: Bearer <token> (${fromEnv ? `the token in ${TOKEN_VARIABLE}` : 'the token on the line above'}).`,
  );
  await new Promise<void>((resolve) => {
    const remove = ctx.onInterrupt(() => {
      remove();
      resolve();
    });
  });
  await endpoint.close();
  return EXIT.ok;
}

/** Foreman's version, from the package.json beside the bundle (dist/) or the sources (src/cli/commands). */
function foremanVersion(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'foreman' && pkg.version) return pkg.version;
  }
  return '0.0.0';
}
