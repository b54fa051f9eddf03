/**
 * Foreman's MCP server offered to VS Code's own MCP support, so other agents in the editor (Copilot
 * Chat's agent mode, for one) can hand work to the fleet: one stdio server definition that runs
 * `foreman mcp` (this extension's dist/cli.js, with the editor's own Node) in the workspace's
 * first folder. `vscode.lm.registerMcpServerDefinitionProvider` and `McpStdioServerDefinition` are
 * in VS Code 1.100 already (our minimum), but not in its @types/vscode, which 1.101 gained with the
 * API's final form: they are looked up at run time and typed here. 1.100 wants the provider declared
 * under `contributes.modelContextServerCollections`, 1.101 and later under
 * `mcpServerDefinitionProviders`; package.json declares it under both (test/e2e/mcpProvider.test.ts
 * sees VS Code 1.100 list it). Where neither function nor class exists, nothing is registered and
 * the log says so.
 *
 * When VS Code starts the server, the backend the Lead panel would choose first (the
 * `foreman.defaultBackend`, else the first of `foreman.backends`) is handed to it in FOREMAN_BASE_URL
 * and FOREMAN_MODEL, with its key from the secret storage in FOREMAN_API_KEY (the environment is how
 * the command line takes a key; Foreman never passes it on to agents). Without one, the server uses
 * foreman.json and the environment as `foreman` does. Nothing is offered in an untrusted workspace.
 * Nothing here loads the Lead bundle: activation stays small.
 */
import { join } from 'node:path';
import * as vscode from 'vscode';

/**
 * The provider's id, as package.json declares it under `mcpServerDefinitionProviders` (VS Code 1.101
 * and later) and `modelContextServerCollections` (VS Code 1.100).
 */
export const MCP_PROVIDER_ID = 'foreman.mcpServer';

/** A stdio server definition (VS Code's McpStdioServerDefinition), as far as Foreman uses it. */
interface StdioDefinition {
  readonly label: string;
  cwd?: vscode.Uri;
  env: Record<string, string | number | null>;
}

type StdioDefinitionClass = new (
  label: string,
  command: string,
  args?: string[],
  env?: Record<string, string | number | null>,
  version?: string,
) => StdioDefinition;

/** VS Code's McpServerDefinitionProvider, as far as Foreman uses it. */
interface DefinitionProvider {
  onDidChangeMcpServerDefinitions?: vscode.Event<void>;
  provideMcpServerDefinitions(token: vscode.CancellationToken): vscode.ProviderResult<StdioDefinition[]>;
  resolveMcpServerDefinition?(server: StdioDefinition, token: vscode.CancellationToken): Promise<StdioDefinition>;
}

type RegisterProvider = (id: string, provider: DefinitionProvider) => vscode.Disposable;

/** What the provider needs from the extension. */
export interface McpProviderDeps {
  extensionPath: string;
  version: string;
  secrets: vscode.SecretStorage;
  log: vscode.LogOutputChannel;
}

/** Register Foreman's server definition where this VS Code can take one; otherwise a no-op that says why in the log. */
export function registerMcpServerProvider(deps: McpProviderDeps): vscode.Disposable {
  const register = (vscode.lm as unknown as { registerMcpServerDefinitionProvider?: RegisterProvider })
    .registerMcpServerDefinitionProvider;
  const Definition = (vscode as unknown as { McpStdioServerDefinition?: StdioDefinitionClass })
    .McpStdioServerDefinition;
  if (typeof register !== 'function' || typeof Definition !== 'function') {
    deps.log.info(
      `VS Code ${vscode.version} cannot take MCP servers from extensions: to use Foreman from another agent, add \`foreman mcp\` to .vscode/mcp.json (see docs/cli.md).`,
    );
    return new vscode.Disposable(() => undefined);
  }
  const changed = new vscode.EventEmitter<void>();
  const provider: DefinitionProvider = {
    onDidChangeMcpServerDefinitions: changed.event,
    provideMcpServerDefinitions: () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder || !vscode.workspace.isTrusted) return [];
      const cli = join(deps.extensionPath, 'dist', 'cli.js');
      // The editor's own Node: process.execPath is VS Code's runtime, which runs as Node with this variable.
      const server = new Definition(
        'Foreman',
        process.execPath,
        [cli, 'mcp'],
        { ELECTRON_RUN_AS_NODE: '1' },
        deps.version,
      );
      server.cwd = folder.uri;
      return [server];
    },
    resolveMcpServerDefinition: async (server) => {
      server.env = { ...server.env, ...(await backendEnv(deps.secrets)) };
      return server;
    },
  };
  return vscode.Disposable.from(
    register(MCP_PROVIDER_ID, provider),
    changed,
    vscode.workspace.onDidChangeWorkspaceFolders(() => changed.fire()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => changed.fire()),
  );
}

/** The backends setting's entries, as far as this needs them (the Lead session validates the rest). */
interface BackendEntry {
  name?: unknown;
  baseUrl?: unknown;
  models?: unknown;
}

/** The Lead panel's first backend as the command line's environment, or nothing when none is configured. */
async function backendEnv(secrets: vscode.SecretStorage): Promise<Record<string, string>> {
  const config = vscode.workspace.getConfiguration('foreman');
  const backends = config.get<BackendEntry[]>('backends') ?? [];
  const preferred = config.get<string>('defaultBackend') ?? '';
  const backend = backends.find((b) => b.name === preferred) ?? backends[0];
  const models = Array.isArray(backend?.models) ? backend.models : [];
  if (!backend || typeof backend.baseUrl !== 'string' || typeof models[0] !== 'string') return {};
  const env: Record<string, string> = { FOREMAN_BASE_URL: backend.baseUrl, FOREMAN_MODEL: models[0] };
  const key = typeof backend.name === 'string' ? await secrets.get(`foreman.apiKey.${backend.name}`) : undefined;
  if (key) env.FOREMAN_API_KEY = key;
  return env;
}
