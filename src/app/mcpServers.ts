/**
 * Which MCP servers a run's agents may use: `foreman.mcpServers` (VS Code's setting, and the same
 * key in foreman.json) and the workspace's `.vscode/mcp.json` in VS Code's own format. Variables
 * are resolved here (`${input:…}` through mcpInputs.ts, `${env:…}`), except `${workspaceFolder}`, which is the folder
 * each server instance works in (a task's worktree). Anything Foreman cannot resolve is a
 * SettingsError naming the server, the file and what to do; nothing is left blank.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { McpPermission, McpPort, McpServerConfig, McpSource, McpTransportConfig } from '../core/mcpTools';
import { createMcpHub, filePinStore } from '../infra/mcpHub';
import { answerInputs, inputsUsed, inputVariable } from './mcpInputs';
import type { McpInput, McpInputPort, McpOtherInput } from './mcpInputs';
import { SettingsError } from './settings';
import type { McpServerEntry } from './mcpSettings';

/** VS Code's `.vscode/mcp.json` (the parts Foreman reads; other keys are VS Code's business). */
const VscodeServer = z
  .object({
    type: z.string().optional(),
    command: z.string().optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional(),
    envFile: z.string().optional(),
    cwd: z.string().optional(),
    url: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();
/** One of the file's `inputs` (VS Code's `promptString`, `pickString` and `command`; Foreman asks for the first two). */
const VscodeInput = z
  .object({
    id: z.string(),
    type: z.string().optional(),
    description: z.string().optional(),
    password: z.boolean().optional(),
    default: z.string().optional(),
    /** A `pickString`'s options: values, or `{ "label", "value" }` as VS Code also takes them. */
    options: z.array(z.union([z.string(), z.object({ label: z.string().optional(), value: z.string() })])).optional(),
  })
  .passthrough();
const VscodeMcpFile = z
  .object({
    servers: z.record(z.string(), VscodeServer).optional(),
    inputs: z.array(VscodeInput).optional(),
  })
  .passthrough();

/** Where the servers come from, as the front end read them. */
export interface McpSources {
  /** The repository (or workspace folder) root, where `.vscode/mcp.json` is looked for. */
  root: string;
  /** `mcpServers` of foreman.json, or VS Code's workspace value of `foreman.mcpServers`. */
  workspace: Record<string, McpServerEntry> | undefined;
  /** What `workspace` is called in messages (`foreman.json`, `workspace settings`). */
  workspaceOrigin: string;
  /** VS Code's user value of `foreman.mcpServers` (the CLI has none). */
  user: Record<string, McpServerEntry> | undefined;
  /** Whether the workspace is trusted; untrusted, its own servers never start. */
  trusted: boolean;
  /** Foreman's environment, for `${env:NAME}` in the user's own servers and for inputs. */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * The editor's way to ask for `.vscode/mcp.json`'s inputs and keep the answers (VS Code's input
   * box and secret storage). Without it (the command line) inputs come from the environment only.
   */
  inputs?: McpInputPort;
}

/** The servers, and what a person should know about them. */
export interface McpServerList {
  servers: McpServerConfig[];
  notices: string[];
}

/** Read every configured server. A SettingsError names what cannot be used. */
export async function readMcpServers(sources: McpSources): Promise<McpServerList> {
  const notices: string[] = [];
  const file = await readVscodeMcp(sources.root);
  const defined = new Map<string, McpServerConfig>();
  const add = (config: McpServerConfig): void => {
    const before = defined.get(config.name);
    if (before)
      throw new SettingsError(
        `MCP server "${config.name}" is defined in both ${before.origin} and ${config.origin}: rename one, or keep only its "tools" permissions in ${config.origin}`,
      );
    defined.set(config.name, config);
  };
  const untrusted = (name: string, origin: string): boolean => {
    if (sources.trusted) return false;
    // Not even its variables are read: nothing of an untrusted workspace's servers is used.
    notices.push(`MCP server "${name}" from ${origin} is not started: this workspace is not trusted.`);
    return true;
  };
  if (file) {
    const declared = new Map(file.value.inputs?.map((i) => [i.id, declaredInput(i)]));
    const inputs = new Map([...declared].map(([id, i]) => [id, i.description]));
    for (const [name, raw] of Object.entries(file.value.servers ?? {})) {
      if (untrusted(name, file.path)) continue;
      const request = { file: file.path, server: name, declared, env: sources.env, port: sources.inputs };
      const answers = await answerInputs({ ...request, ids: inputsUsed([raw]) });
      add(fromVscode(name, raw, { origin: file.path, inputs, answers, env: sources.env }));
    }
  }
  for (const [source, entries, origin] of [
    ['workspace', sources.workspace, sources.workspaceOrigin],
    ['user', sources.user, 'user settings'],
  ] as const) {
    for (const [name, entry] of Object.entries(entries ?? {})) {
      if (entry.command === undefined && entry.url === undefined) continue;
      if (source === 'workspace' && untrusted(name, origin)) continue;
      add(fromEntry(name, entry, { source, origin, env: sources.env }));
    }
  }
  // Permissions: the user's settings first, then the workspace's, which may only make a tool stricter.
  const servers = [...defined.values()];
  for (const config of servers)
    config.tools = mergePermissions(sources.user?.[config.name]?.tools, sources.workspace?.[config.name]?.tools);
  return { servers, notices };
}

/** An entry of the file's `inputs` as Foreman asks for it. */
function declaredInput(i: z.infer<typeof VscodeInput>): McpInput | McpOtherInput {
  const base = {
    id: i.id,
    description: i.description ?? '',
    ...(i.default === undefined ? {} : { default: i.default }),
  };
  const type = i.type ?? 'promptString';
  if (type === 'promptString') return { ...base, type, password: i.password === true };
  if (type === 'pickString') {
    const options = (i.options ?? []).map((o) => (typeof o === 'string' ? { value: o } : o));
    return { ...base, type, options };
  }
  return { type: 'other', id: i.id, description: base.description, declaredType: type };
}

const RANK: Record<McpPermission, number> = { allow: 0, ask: 1, deny: 2 };

/** The user's permissions, each made stricter where the workspace says so (never looser). */
function mergePermissions(
  user: Record<string, McpPermission> | undefined,
  workspace: Record<string, McpPermission> | undefined,
): Record<string, McpPermission> {
  const out: Record<string, McpPermission> = { ...(workspace ?? {}), ...(user ?? {}) };
  for (const [tool, p] of Object.entries(workspace ?? {})) {
    const mine = user?.[tool] ?? user?.['*'];
    if (mine === undefined || RANK[p] > RANK[mine]) out[tool] = p;
  }
  return out;
}

/** `.vscode/mcp.json`, or null when there is none. */
async function readVscodeMcp(root: string): Promise<{ path: string; value: z.infer<typeof VscodeMcpFile> } | null> {
  const path = join(root, '.vscode', 'mcp.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SettingsError(`${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonc(text));
  } catch (e) {
    throw new SettingsError(`${path} is not valid JSON (with comments): ${(e as Error).message}`);
  }
  const parsed = VscodeMcpFile.safeParse(raw);
  if (!parsed.success)
    throw new SettingsError(
      `${path} is not in VS Code's MCP format: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return { path, value: parsed.data };
}

/** JSON with comments and trailing commas (VS Code's JSONC) as plain JSON; strings are left alone. */
export function stripJsonc(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

interface Resolve {
  origin: string;
  env: McpSources['env'];
  inputs?: Map<string, string>;
  /** The editor's answers to the inputs, by id (mcpInputs.ts). */
  answers?: Map<string, string>;
  source?: McpSource;
}

/** Resolve `${input:…}` and `${env:…}` in a value; `${workspaceFolder}` stays for each instance. */
function resolveValue(value: string, server: string, r: Resolve & { source: McpSource }): string {
  return value.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
    if (inner === 'workspaceFolder') return whole;
    const [kind, ...rest] = inner.split(':');
    const name = rest.join(':');
    if (kind === 'input') {
      const variable = inputVariable(name);
      const given = r.env[variable] ?? r.answers?.get(name);
      if (given !== undefined) return given;
      const known = r.inputs?.get(name);
      const what = known === undefined ? 'which its "inputs" do not declare' : `("${known}")`;
      // In VS Code every declared input was asked for; only an undeclared one gets here.
      const how =
        known === undefined
          ? `declare it in the file's "inputs" (Foreman asks for those in VS Code), or set`
          : 'Foreman cannot ask for it on the command line: set';
      throw new SettingsError(
        `MCP server "${server}" in ${r.origin} uses \${input:${name}} ${what}; ${how} ${variable} in Foreman's environment to give it a value.`,
      );
    }
    if (kind === 'env') {
      if (r.source === 'workspace')
        throw new SettingsError(
          `MCP server "${server}" in ${r.origin} reads \${env:${name}}: a workspace's configuration cannot pass Foreman's environment to a server. Define the server in your user settings, or give the value as \${input:…} through FOREMAN_MCP_INPUT_….`,
        );
      const given = r.env[name];
      if (given === undefined)
        throw new SettingsError(
          `MCP server "${server}" in ${r.origin} reads \${env:${name}}, which is not set in Foreman's environment.`,
        );
      return given;
    }
    throw new SettingsError(
      `MCP server "${server}" in ${r.origin} uses ${whole}, a variable Foreman does not know (it knows \${workspaceFolder}, \${input:…}, \${env:…}).`,
    );
  });
}

function resolveRecord(
  values: Record<string, string> | undefined,
  server: string,
  r: Resolve & { source: McpSource },
): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, resolveValue(v, server, r)]));
}

/** A transport from the fields both formats share. */
function transportOf(
  name: string,
  fields: {
    type?: string;
    command?: string;
    args?: string[];
    env?: Record<string, string>;
    cwd?: string;
    url?: string;
    headers?: Record<string, string>;
  },
  r: Resolve & { source: McpSource },
): McpTransportConfig {
  const type = fields.type ?? (fields.url !== undefined ? 'http' : 'stdio');
  if (type === 'sse')
    throw new SettingsError(
      `MCP server "${name}" in ${r.origin} uses the old SSE transport; Foreman speaks stdio and Streamable HTTP ("type": "http").`,
    );
  if (type === 'http') {
    if (!fields.url) throw new SettingsError(`MCP server "${name}" in ${r.origin} is "http" but has no "url".`);
    const url = resolveValue(fields.url, name, r);
    if (!/^https?:\/\//.test(url))
      throw new SettingsError(`MCP server "${name}" in ${r.origin}: "${url}" is not an http(s) URL.`);
    return { type: 'http', url, headers: resolveRecord(fields.headers, name, r) };
  }
  if (type !== 'stdio')
    throw new SettingsError(
      `MCP server "${name}" in ${r.origin} has type "${type}"; Foreman knows "stdio" and "http".`,
    );
  if (!fields.command) throw new SettingsError(`MCP server "${name}" in ${r.origin} is "stdio" but has no "command".`);
  return {
    type: 'stdio',
    command: resolveValue(fields.command, name, r),
    args: (fields.args ?? []).map((a) => resolveValue(a, name, r)),
    env: resolveRecord(fields.env, name, r),
    cwd: fields.cwd === undefined ? null : resolveValue(fields.cwd, name, r),
  };
}

function fromVscode(name: string, raw: z.infer<typeof VscodeServer>, r: Resolve): McpServerConfig {
  const source: McpSource = 'workspace';
  if (raw.envFile !== undefined)
    throw new SettingsError(
      `MCP server "${name}" in ${r.origin} reads an "envFile", which Foreman does not load: list the variables in "env".`,
    );
  const env = Object.fromEntries(
    Object.entries(raw.env ?? {})
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, String(v)]),
  );
  const transport = transportOf(name, { ...raw, env }, { ...r, source });
  const { type, command, args, cwd, url, headers } = raw;
  return {
    name,
    source,
    origin: r.origin,
    transport,
    written: { type, command, args, env, cwd, url, headers },
    tools: {},
  };
}

function fromEntry(name: string, entry: McpServerEntry, r: Resolve & { source: McpSource }): McpServerConfig {
  const transport = transportOf(name, entry, r);
  // The permissions are pinned on their own (McpServerConfig.tools), once merged.
  const written = { ...entry, tools: undefined };
  const timeout = entry.timeoutMs === undefined ? {} : { timeoutMs: entry.timeoutMs };
  return { name, source: r.source, origin: r.origin, transport, written, tools: {}, ...timeout };
}

/**
 * The MCP port of a run in the repository at `root` (Foreman's state in `stateDir`, where the
 * approved pins are kept), or null when no server is configured; with the notices to show.
 */
export async function openMcpServers(
  sources: McpSources,
  stateDir: string,
  options: { callTimeoutMs?: number } = {},
): Promise<{ port: McpPort | null; notices: string[]; servers: McpServerConfig[] }> {
  const { servers, notices } = await readMcpServers(sources);
  if (servers.length === 0) return { port: null, notices, servers };
  const port = createMcpHub({
    servers,
    pins: filePinStore(join(stateDir, 'mcp-pins.json')),
    callTimeoutMs: options.callTimeoutMs,
  });
  return { port, notices, servers };
}
