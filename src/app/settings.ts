/**
 * The command line's settings: defaults, then the repository's `foreman.json`, then the
 * environment, then flags. In src/app because the Lead session builds the same Settings from
 * VS Code's `foreman.*` (src/app/leadSettings.ts). API keys come from the environment only (FOREMAN_API_KEY, else
 * OPENAI_API_KEY) and are never written anywhere.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Budgets } from '../core/budget';
import { COMMAND_CATEGORIES } from '../core/commandPolicy';
import type { CommandCategory, CommandPolicy, CommandRule } from '../core/commandPolicy';
import type { PriceTable } from '../core/ledger';
import type { DirtyPolicy } from '../core/repoPort';
import type { TaskLimits } from '../core/runTypes';
import { checkEnvNames } from '../core/agentEnv';
import { parseHostPatterns } from '../core/hostPatterns';
import { narrowNetwork } from '../core/sandbox';
import type { SandboxNetwork, SandboxSettings } from '../core/sandbox';
import type { CheckSpec } from '../core/verify';
import { publicEndpoint } from '../infra/openaiClient';
import type { BackendConfig } from '../infra/openaiClient';
import type { EnergySetting } from '../core/telemetry';
import { hasUrlCredentials } from '../core/text';
import { McpServersSetting } from './mcpSettings';
import { SettingsError } from './settingsError';
import { CONNECTION_FIELDS, EndpointEntry, Price, RolesEntry, resolveFabric } from './fabricSettings';
import type { FabricSettings } from './fabricSettings';

const Nullable = z.number().positive().nullable().optional();

/** The shape of `foreman.json` at the repository root. Every field is optional. */
export const ConfigFile = z
  .object({
    backend: z
      .object({
        baseUrl: z.string().url().optional(),
        model: z.string().min(1).optional(),
        ...CONNECTION_FIELDS,
      })
      .strict()
      .optional(),
    prices: z.record(z.string(), Price).optional(),
    /** Several endpoints at once (src/app/fabricSettings.ts); `backend` is then not used. */
    backends: z.array(EndpointEntry).min(1).optional(),
    roles: RolesEntry.optional(),
    routing: z.enum(['affinity', 'round-robin']).optional(),
    replicaRetryMs: z.number().int().positive().optional(),
    concurrency: z.number().int().positive().optional(),
    budgets: z
      .object({ runTokens: Nullable, runCost: Nullable, taskTokens: Nullable, taskCost: Nullable })
      .strict()
      .optional(),
    checks: z
      .array(
        z
          .object({
            name: z.string().min(1),
            command: z.string().min(1),
            timeoutMs: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .optional(),
    setup: z
      .object({
        command: z.string().nullable().optional(),
        include: z.array(z.string()).nullable().optional(),
        timeoutMs: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    commandPolicy: z
      .object({
        allow: z.array(z.enum(COMMAND_CATEGORIES as [CommandCategory, ...CommandCategory[]])).optional(),
        rules: z
          .array(z.object({ match: z.string().trim().min(1), decision: z.enum(['allow', 'ask', 'deny']) }).strict())
          .optional(),
      })
      .strict()
      .optional(),
    dirty: z.enum(['refuse', 'snapshot']).optional(),
    worktreeRoot: z.string().optional(),
    retention: z
      .object({
        keepFinishedRuns: z.number().int().min(0).optional(),
        abandonedAfterDays: z.number().min(0).optional(),
      })
      .strict()
      .optional(),
    review: z.boolean().optional(),
    limits: z
      .object({ maxSteps: z.number().int().positive().optional(), maxTokens: Nullable, maxWallMs: Nullable })
      .strict()
      .optional(),
    maxRepairRounds: z.number().int().min(0).optional(),
    sandbox: z
      .object({
        mode: z.enum(['on', 'off']).optional(),
        network: z.enum(['none', 'allowList', 'host']).optional(),
        allowedHosts: z.array(z.string()).optional(),
        env: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    /** The repository's MCP servers (src/app/mcpServers.ts): each needs the developer's approval of its pin. */
    mcpServers: McpServersSetting.optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof ConfigFile>;

/** Everything a command needs to know, resolved. */
export interface Settings {
  /** Null when no backend is named anywhere; commands that need one say how to name it. */
  backend: BackendConfig | null;
  /**
   * The backend's connection options (key, headers, time-outs) from the environment and
   * foreman.json, whether or not a URL is named: a run continued on the backend it recorded uses
   * them. Null where a front end builds its clients itself (the Lead panel).
   */
  backendOptions: Omit<BackendConfig, 'baseUrl' | 'model'> | null;
  /**
   * Several endpoints with roles, fallbacks and replica pools (foreman.json's `backends` and
   * `roles`, or the role flags); null for the one backend of `backend`.
   */
  fabric: FabricSettings | null;
  prices: PriceTable;
  concurrency: number;
  budgets: Budgets;
  /** Configured checks, or null to detect them from the repository. */
  checks: CheckSpec[] | null;
  setup: { command: string | null; include: string[] | null; timeoutMs: number };
  /** The command policy: the user's part from flags, the repository's (foreman.json) only tightening. */
  commandPolicy: CommandPolicy;
  /** Things about the settings a person should know (printed by the CLI before it starts). */
  notices: string[];
  dirty: DirtyPolicy;
  worktreeRoot: string | null;
  retention: { keepFinishedRuns: number; abandonedAfterDays: number };
  review: boolean;
  /** Hold verified tasks until the developer accepts them. */
  hold: boolean;
  limits: TaskLimits;
  maxRepairRounds: number;
  /** How agent processes are confined (src/core/sandbox.ts). */
  sandbox: SandboxSettings;
  /** foreman.json's `mcpServers` (read with .vscode/mcp.json by src/app/mcpServers.ts). */
  mcpServers?: ConfigFile['mcpServers'];
  /** Reading the backend's metrics and GPU energy during a run (infra/backendTelemetry.ts); absent: the defaults. */
  telemetry?: TelemetrySettings;
}

/** What a backend's settings say about its telemetry. */
export interface TelemetrySettings {
  /** Undefined: `/metrics` at the backend's host (defaultMetricsUrl); null: not read. */
  metricsUrl?: string | null;
  /** Null: energy is not measured, and the run says so. */
  energy: EnergySetting | null;
  /** Between polls, ms (default 2000). */
  intervalMs?: number;
}

/** Flags that override settings (all optional; parsed by src/cli/options.ts). */
export interface SettingFlags {
  baseUrl?: string;
  model?: string;
  concurrency?: number;
  /** `--max-requests N`: the backend's limit of requests in flight at once (default: the concurrency). */
  maxRequests?: number;
  /** `--planner-model`, `--agent-model`, `--reviewer-model`: a role's models, first choice first. */
  roleModels?: { planner?: string[]; agent?: string[]; reviewer?: string[] };
  budgetTokens?: number;
  budgetCost?: number;
  taskBudgetTokens?: number;
  taskBudgetCost?: number;
  checks?: CheckSpec[];
  noChecks?: boolean;
  price?: { input: number; cachedInput: number; output: number };
  dirty?: DirtyPolicy;
  setup?: string;
  allow?: CommandCategory[];
  /** The user's own command rules (`--command-rule`). */
  commandRules?: CommandRule[];
  review?: boolean;
  hold?: boolean;
  maxSteps?: number;
  maxRepairs?: number;
  /** `--no-sandbox`: run agent commands unconfined. */
  noSandbox?: boolean;
  sandboxNetwork?: SandboxNetwork;
  /** `--allow-host HOST` (repeatable): the hosts an allow-listed network reaches. */
  allowHosts?: string[];
  /** `--sandbox-env NAME` (repeatable), added to foreman.json's names. */
  sandboxEnv?: string[];
}

export { SettingsError };

/** Read `foreman.json` from the repository root; absent is fine, invalid is a SettingsError. */
export async function readConfigFile(repoRoot: string): Promise<ConfigFile> {
  const path = join(repoRoot, 'foreman.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    throw new SettingsError(`${path} cannot be read (${code ?? String(e)}): fix it or remove it.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SettingsError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (raw && typeof raw === 'object' && JSON.stringify(raw).match(/"api[_-]?key"/i)) {
    throw new SettingsError(
      `${path} names an API key. Keys are read from the FOREMAN_API_KEY or OPENAI_API_KEY environment variable only, never from files: remove it.`,
    );
  }
  const parsed = ConfigFile.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`).join('\n');
    throw new SettingsError(`${path} has invalid settings:\n${issues}`);
  }
  return parsed.data;
}

/** Merge defaults, the config file, the environment and flags. */
export function resolveSettings(file: ConfigFile, env: NodeJS.ProcessEnv, flags: SettingFlags): Settings {
  const concurrency = flags.concurrency ?? file.concurrency ?? 4;
  const single = resolveBackendSettings(file, env, flags, concurrency);
  const fabric = resolveFabric(file, env, flags, single, concurrency);
  const backend = fabric ? fabric.primary : single;
  const model = backend?.model;
  const prices: PriceTable = { ...(fabric?.prices ?? {}), ...(file.prices ?? {}) };
  if (flags.price && model) prices[model] = flags.price;
  const fb = file.budgets ?? {};
  const policy = resolveCommandPolicy(file, flags);
  const sandbox = resolveSandboxSettings(file, flags);
  return {
    backend,
    backendOptions: backendOptions(file, env, flags),
    fabric,
    prices,
    concurrency,
    budgets: {
      runTokens: flags.budgetTokens ?? fb.runTokens ?? null,
      runCost: flags.budgetCost ?? fb.runCost ?? null,
      taskTokens: flags.taskBudgetTokens ?? fb.taskTokens ?? null,
      taskCost: flags.taskBudgetCost ?? fb.taskCost ?? null,
    },
    checks: flags.noChecks ? [] : (flags.checks ?? file.checks ?? null),
    setup: {
      command: flags.setup ?? file.setup?.command ?? null,
      include: file.setup?.include ?? null,
      timeoutMs: file.setup?.timeoutMs ?? 10 * 60_000,
    },
    commandPolicy: policy.policy,
    notices: [...policy.notices, ...sandbox.notices, ...(fabric?.notices ?? [])],
    dirty: flags.dirty ?? file.dirty ?? 'refuse',
    worktreeRoot: env.FOREMAN_WORKTREE_ROOT ?? file.worktreeRoot ?? null,
    retention: {
      keepFinishedRuns: file.retention?.keepFinishedRuns ?? 3,
      abandonedAfterDays: file.retention?.abandonedAfterDays ?? 7,
    },
    review: flags.review ?? file.review ?? true,
    hold: flags.hold ?? false,
    limits: {
      maxSteps: flags.maxSteps ?? file.limits?.maxSteps ?? 40,
      maxTokens: file.limits?.maxTokens ?? null,
      maxWallMs: file.limits?.maxWallMs ?? 30 * 60_000,
    },
    maxRepairRounds: flags.maxRepairs ?? file.maxRepairRounds ?? 2,
    sandbox: sandbox.settings,
    telemetry: { metricsUrl: file.backend?.metricsUrl, energy: file.backend?.energy ?? null },
    mcpServers: file.mcpServers,
  };
}

/**
 * The sandbox settings from foreman.json and flags; a SettingsError for names that cannot be
 * passed and hosts that cannot be parsed. The network follows the command policy's rule: the
 * flags are the user's, foreman.json (the repository's) can only tighten. Its `network` counts
 * only where it is stricter than the flags' (none < allowList < host), and its `allowedHosts`
 * only narrows the hosts of `--allow-host`.
 */
function resolveSandboxSettings(
  file: ConfigFile,
  flags: SettingFlags,
): { settings: SandboxSettings; notices: string[] } {
  const env = [...new Set([...(file.sandbox?.env ?? []), ...(flags.sandboxEnv ?? [])])];
  const problem = checkEnvNames(env);
  if (problem !== null) throw new SettingsError(`sandbox.env (or --sandbox-env) cannot be used: ${problem}`);
  const notices: string[] = [];
  const asked = flags.allowHosts ?? [];
  const userNetwork = flags.sandboxNetwork ?? (asked.length > 0 ? 'allowList' : 'none');
  if (asked.length > 0 && userNetwork !== 'allowList')
    throw new SettingsError(
      `--allow-host filters only an allow-listed network; it cannot be used with --sandbox-network ${cliNetwork(userNetwork)}`,
    );
  const user = parseHostPatterns(asked);
  if (user.problems.length) throw new SettingsError(`--allow-host cannot be used: ${user.problems.join('; ')}`);
  const listed = file.sandbox?.allowedHosts;
  const repo = listed === undefined ? undefined : parseHostPatterns(listed);
  if (repo?.problems.length)
    throw new SettingsError(`foreman.json's sandbox.allowedHosts cannot be used: ${repo.problems.join('; ')}`);
  const net = narrowNetwork({ network: userNetwork, allowedHosts: user.patterns }, [
    { network: file.sandbox?.network, allowedHosts: repo?.patterns },
  ]);
  if (net.widerNetwork !== null)
    notices.push(
      `foreman.json asks for sandbox.network "${net.widerNetwork}", but a repository's settings can only tighten the sandbox; pass --sandbox-network ${cliNetwork(net.widerNetwork)}${net.widerNetwork === 'allowList' ? ' --allow-host HOST' : ''} to allow it.`,
    );
  if (net.ignoredHosts.length)
    notices.push(
      `foreman.json allows ${net.ignoredHosts.map((p) => p.text).join(', ')} in sandbox.allowedHosts, but a repository's settings can only narrow the hosts you allow; pass --allow-host ${net.ignoredHosts[0].text} to allow it.`,
    );
  if (net.network === 'allowList' && net.allowedHosts.length === 0)
    notices.push('sandbox.network is allow-list but no host is allowed: agent commands get no network.');
  const settings: SandboxSettings = {
    mode: flags.noSandbox ? 'off' : (file.sandbox?.mode ?? 'on'),
    network: net.network,
    allowedHosts: net.allowedHosts.map((p) => p.text),
    env,
  };
  return { settings, notices };
}

/** A network as the CLI spells it. */
function cliNetwork(network: SandboxNetwork): string {
  return network === 'allowList' ? 'allow-list' : network;
}

/**
 * The command policy. foreman.json lives in the repository, which is what agents work on and what
 * a stranger's pull request can change, so it can only tighten: its `allow` narrows the categories
 * the flags allow, and of its rules only `ask` and `deny` count. Loosening is for the person running
 * the command: `--allow` and `--command-rule`.
 */
function resolveCommandPolicy(file: ConfigFile, flags: SettingFlags): { policy: CommandPolicy; notices: string[] } {
  const notices: string[] = [];
  const asked = [...new Set(flags.allow ?? [])];
  const fileAllow = file.commandPolicy?.allow;
  const allow = fileAllow === undefined ? asked : asked.filter((c) => fileAllow.includes(c));
  const wider = (fileAllow ?? []).filter((c) => !asked.includes(c));
  if (wider.length)
    notices.push(
      `foreman.json allows ${wider.join(', ')} in commandPolicy.allow, but a repository's settings can only tighten the command policy; pass --allow ${wider[0]} to allow it.`,
    );
  const fileRules = file.commandPolicy?.rules ?? [];
  for (const r of fileRules.filter((x) => x.decision === 'allow'))
    notices.push(
      `foreman.json's rule "${r.match}" (allow) is ignored: a repository's settings can only tighten the command policy; pass --command-rule "allow:${r.match}" to allow it.`,
    );
  const workspaceRules = fileRules.filter((r) => r.decision !== 'allow');
  return { policy: { allow, rules: flags.commandRules ?? [], workspaceRules }, notices };
}

/** The backend from flags, the environment and the config file; null when no URL is set. */
/** Whether `text` parses as an http: or https: URL. */
function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    // Not a URL at all.
    return false;
  }
}

function resolveBackendSettings(
  file: ConfigFile,
  env: NodeJS.ProcessEnv,
  flags: SettingFlags,
  concurrency: number,
): Settings['backend'] {
  const baseUrl = flags.baseUrl ?? env.FOREMAN_BASE_URL ?? file.backend?.baseUrl;
  const model = flags.model ?? env.FOREMAN_MODEL ?? file.backend?.model;
  if (baseUrl !== undefined && !model)
    throw new SettingsError(
      'a backend URL is set but no model: pass --model, set FOREMAN_MODEL, or add backend.model to foreman.json',
    );
  if (baseUrl === undefined || model === undefined) return null;
  if (!isHttpUrl(baseUrl))
    throw new SettingsError(
      `the backend URL "${baseUrl}" is not an http(s) URL: give the server's OpenAI-compatible base, e.g. http://localhost:8000/v1`,
    );
  if (hasUrlCredentials(baseUrl))
    throw new SettingsError(
      `the backend URL carries a user name or password, which Foreman does not send: use ${publicEndpoint(baseUrl)} and give the key in FOREMAN_API_KEY`,
    );
  const options = backendOptions(file, env, flags);
  // One request in flight per agent: the run's concurrency unless the flag or foreman.json says otherwise.
  return { baseUrl, model, ...options, maxConcurrentRequests: options.maxConcurrentRequests ?? concurrency };
}

/**
 * The backend's options besides its URL and model: the key from the environment, the limit of
 * requests in flight from --max-requests or foreman.json (unset when neither names one: the run's
 * concurrency is the default), the rest from foreman.json.
 */
function backendOptions(
  file: ConfigFile,
  env: NodeJS.ProcessEnv,
  flags: SettingFlags,
): Omit<BackendConfig, 'baseUrl' | 'model'> {
  const b = file.backend;
  return {
    apiKey: env.FOREMAN_API_KEY ?? env.OPENAI_API_KEY,
    headers: b?.headers,
    maxConcurrentRequests: flags.maxRequests ?? b?.maxConcurrentRequests,
    requestTimeoutMs: b?.requestTimeoutMs,
    idleTimeoutMs: b?.idleTimeoutMs,
    maxRetries: b?.maxRetries,
    retryBaseMs: b?.retryBaseMs,
    retryMaxMs: b?.retryMaxMs,
    structuredOutput: b?.structuredOutput,
  };
}
