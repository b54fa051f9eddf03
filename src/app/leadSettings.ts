/**
 * Reads Foreman's `foreman.*` settings into the session's LeadSettings. VS Code does not enforce a
 * setting's JSON schema (a hand-edited settings.json can hold anything), so every value is checked
 * here: a bad value falls back to its default and a bad backend is dropped, each with a warning a
 * person can act on. Kept free of 'vscode' so it is tested with plain objects.
 */
import { McpServersSetting } from './mcpSettings';
import type { McpServerEntry } from './mcpSettings';
import { z } from 'zod';
import type { BackendSetting, LeadSettings } from '../app/leadHost';
import { COMMAND_CATEGORIES } from '../core/commandPolicy';
import type { CommandCategory, CommandPolicy, CommandRule } from '../core/commandPolicy';
import { checkEnvNames } from '../core/agentEnv';
import { parseHostPatterns } from '../core/hostPatterns';
import type { HostPattern } from '../core/hostPatterns';
import { narrowNetwork } from '../core/sandbox';
import { EnergySettingSchema } from '../core/telemetry';
import type { NetworkChoice, SandboxSettings } from '../core/sandbox';

/** Reads one setting by its key under `foreman.` (e.g. `budgets.runTokens`); undefined when unset. */
export type SettingReader = (key: string) => unknown;

/**
 * Reads one setting at each level apart: the user's own value, and the values of the workspace
 * (the workspace file and the folder), each undefined or left out when unset there.
 */
export type SettingLevels = (key: string) => { user: unknown; workspace: unknown[] };

const Price = z
  .object({ input: z.number().min(0), cachedInput: z.number().min(0), output: z.number().min(0) })
  .strict();

/** One entry of `foreman.backends`, as package.json declares it. */
const Backend = z
  .object({
    name: z.string().trim().min(1, 'a backend needs a name'),
    baseUrl: z.string().url('baseUrl must be a URL'),
    models: z.array(z.string().min(1)).min(1, 'a backend needs at least one model'),
    maxConcurrentRequests: z.number().int().min(1).optional(),
    requestTimeoutMs: z.number().int().min(1000).optional(),
    prices: z.record(z.string(), Price).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    router: z.enum(['dynamo', 'llm-d']).optional(),
    metricsUrl: z.string().url('metricsUrl must be a URL').nullable().optional(),
    energy: EnergySettingSchema.optional(),
  })
  .strict();

const Chain = z.array(z.string().trim().min(1)).min(1);
const Roles = z.object({ planner: Chain.optional(), agent: Chain.optional(), reviewer: Chain.optional() }).strict();

const Limit = z.number().min(0).nullable();
const Category = z.enum(COMMAND_CATEGORIES as [CommandCategory, ...CommandCategory[]]);
const Rule = z
  .object({ match: z.string().trim().min(1, 'match must name a command'), decision: z.enum(['allow', 'ask', 'deny']) })
  .strict();
const Network = z.enum(['none', 'allowList', 'host']);
const Check = z
  .object({ name: z.string().min(1), command: z.string().min(1), timeoutMs: z.number().int().min(1000).optional() })
  .strict();

/** Every scalar setting: its schema and its default (the defaults in package.json). */
const SCALARS = {
  defaultBackend: [z.string(), ''],
  roles: [Roles, {}],
  concurrency: [z.number().int().min(1).max(256), 4],
  holdForReview: [z.boolean(), false],
  'budgets.runTokens': [Limit, null],
  'budgets.runCost': [Limit, null],
  'budgets.taskTokens': [Limit, null],
  'budgets.taskCost': [Limit, null],
  checks: [z.array(Check).nullable(), null],
  'review.enabled': [z.boolean(), true],
  'worktrees.location': [z.string(), ''],
  'worktrees.keepFinishedRuns': [z.number().int().min(0), 3],
  'worktrees.abandonedAfterDays': [z.number().min(0), 7],
  'setup.command': [z.string().nullable(), null],
  'setup.include': [z.array(z.string()).nullable(), null],
  'limits.maxSteps': [z.number().int().min(1), 40],
  'approvals.timeoutSeconds': [z.number().int().min(5).max(86_400), 300],
  'limits.maxTasks': [z.number().int().min(1).max(500), 50],
  'limits.maxRepairRounds': [z.number().int().min(0), 2],
  dirtyCheckout: [z.enum(['refuse', 'snapshot']), 'refuse'],
  'sandbox.mode': [z.enum(['on', 'off']), 'on'],
  'sandbox.env': [z.array(z.string()), []],
} as const satisfies Record<string, readonly [z.ZodType, unknown]>;

type ScalarKey = keyof typeof SCALARS;
type ScalarValue<K extends ScalarKey> = z.infer<(typeof SCALARS)[K][0]>;

/** The settings, and what was wrong with them (one line per problem, for the log). */
export interface ReadSettings {
  settings: LeadSettings;
  warnings: string[];
}

/**
 * Reads and checks every `foreman.*` setting; never throws. `levels` reads the command policy's
 * settings per level, so that the workspace can only tighten them; without it, `read` is taken as
 * the user's own value and there is no workspace level.
 */
export function readLeadSettings(read: SettingReader, levels?: SettingLevels): ReadSettings {
  const warnings: string[] = [];
  const get = <K extends ScalarKey>(key: K): ScalarValue<K> =>
    checked(key, read(key), SCALARS[key][0], SCALARS[key][1] as ScalarValue<K>, warnings);
  const settings: LeadSettings = {
    backends: readBackends(read('backends'), warnings),
    defaultBackend: get('defaultBackend').trim() || null,
    roles: get('roles'),
    concurrency: get('concurrency'),
    holdForReview: get('holdForReview'),
    budgets: {
      runTokens: get('budgets.runTokens'),
      runCost: get('budgets.runCost'),
      taskTokens: get('budgets.taskTokens'),
      taskCost: get('budgets.taskCost'),
    },
    checks: get('checks'),
    review: get('review.enabled'),
    worktreeRoot: get('worktrees.location').trim() || null,
    retention: {
      keepFinishedRuns: get('worktrees.keepFinishedRuns'),
      abandonedAfterDays: get('worktrees.abandonedAfterDays'),
    },
    setup: { command: get('setup.command')?.trim() || null, include: get('setup.include') },
    commandPolicy: readCommandPolicy(levels ?? ((key) => ({ user: read(key), workspace: [] })), warnings),
    approvalTimeoutMs: get('approvals.timeoutSeconds') * 1000,
    maxSteps: get('limits.maxSteps'),
    maxTasks: get('limits.maxTasks'),
    maxRepairRounds: get('limits.maxRepairRounds'),
    dirty: get('dirtyCheckout'),
    sandbox: {
      mode: get('sandbox.mode'),
      ...readNetwork(levels ?? ((key) => ({ user: read(key), workspace: [] })), warnings),
      env: readEnvNames(get('sandbox.env'), warnings),
    },
    mcpServers: readMcpServersSetting(levels ?? ((key) => ({ user: read(key), workspace: [] })), warnings),
  };
  return { settings, warnings };
}

/** A value checked against its schema; a bad one falls back with a warning. */
function checked<T>(key: string, raw: unknown, schema: z.ZodType, fallback: T, warnings: string[]): T {
  if (raw === undefined) return fallback;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data as T;
  warnings.push(
    `Setting foreman.${key} is not valid (${describeIssue(parsed.error)}); using ${JSON.stringify(fallback)}.`,
  );
  return fallback;
}

/**
 * The command policy from its two settings. The user's level may allow categories and write rules
 * that loosen the defaults; a workspace can only tighten: its `allow` list narrows the user's (a
 * category the user does not allow stays refused), and of its rules only `ask` and `deny` count.
 */
function readCommandPolicy(levels: SettingLevels, warnings: string[]): CommandPolicy {
  const allowAt = levels('commandPolicy.allow');
  const rulesAt = levels('commandPolicy.rules');
  let allow = [...new Set(checked('commandPolicy.allow', allowAt.user, z.array(Category), [], warnings))];
  for (const raw of allowAt.workspace) {
    const narrowed = checked('commandPolicy.allow', raw, z.array(Category), allow, warnings);
    const ignored = narrowed.filter((c) => !allow.includes(c));
    if (ignored.length)
      warnings.push(
        `Workspace setting foreman.commandPolicy.allow names ${ignored.join(', ')}, which your user settings do not allow; a workspace can only narrow the command policy, so ${ignored.length > 1 ? 'they stay' : 'it stays'} refused.`,
      );
    allow = allow.filter((c) => narrowed.includes(c));
  }
  const rules = readRules(rulesAt.user, 'foreman.commandPolicy.rules', warnings);
  const workspaceRules = rulesAt.workspace.flatMap((raw) => {
    const all = readRules(raw, 'workspace foreman.commandPolicy.rules', warnings);
    for (const r of all.filter((x) => x.decision === 'allow'))
      warnings.push(
        `Workspace rule "${r.match}" (allow) in foreman.commandPolicy.rules is ignored: a workspace can only tighten the command policy.`,
      );
    return all.filter((r) => r.decision !== 'allow');
  });
  return { allow, rules, workspaceRules };
}

/** The valid rules of a `commandPolicy.rules` value; a bad one is left out with a warning. */
function readRules(raw: unknown, where: string, warnings: string[]): CommandRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    warnings.push(`Setting ${where} must be a list of rules; ignoring it.`);
    return [];
  }
  return raw.flatMap((entry: unknown, i) => {
    const parsed = Rule.safeParse(entry);
    if (parsed.success) return [parsed.data];
    warnings.push(`Rule #${i + 1} in ${where} is left out: ${describeIssue(parsed.error)}.`);
    return [];
  });
}

/**
 * The network and its allowed hosts, read per level: the user's settings choose them, and a
 * workspace can only tighten (a stricter network, fewer hosts), as for the command policy.
 */
function readNetwork(levels: SettingLevels, warnings: string[]): Pick<SandboxSettings, 'network' | 'allowedHosts'> {
  const networkAt = levels('sandbox.network');
  const hostsAt = levels('sandbox.allowedHosts');
  const user: NetworkChoice = {
    network: checked('sandbox.network', networkAt.user, Network, 'none', warnings),
    allowedHosts: readHosts(hostsAt.user, 'foreman.sandbox.allowedHosts', warnings) ?? [],
  };
  const where = 'workspace foreman.sandbox.allowedHosts';
  const net = narrowNetwork(user, [
    ...networkAt.workspace.map((raw) => ({
      network: checked('sandbox.network', raw, Network, user.network, warnings),
    })),
    ...hostsAt.workspace.map((raw) => ({ allowedHosts: readHosts(raw, where, warnings) })),
  ]);
  if (net.widerNetwork !== null)
    warnings.push(
      `Workspace setting foreman.sandbox.network asks for "${net.widerNetwork}", wider than your user settings' "${user.network}"; a workspace can only tighten the sandbox, so it stays "${net.network}".`,
    );
  if (net.ignoredHosts.length)
    warnings.push(
      `Workspace setting foreman.sandbox.allowedHosts names ${net.ignoredHosts.map((p) => p.text).join(', ')}, which your user settings do not allow; a workspace can only narrow the hosts, so ${net.ignoredHosts.length > 1 ? 'they stay' : 'it stays'} refused.`,
    );
  return { network: net.network, allowedHosts: net.allowedHosts.map((p) => p.text) };
}

/**
 * The valid patterns of an `allowedHosts` value, a bad one left out with a warning; undefined when
 * unset or not a list (then it narrows nothing).
 */
function readHosts(raw: unknown, where: string, warnings: string[]): HostPattern[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || raw.some((h) => typeof h !== 'string')) {
    warnings.push(`Setting ${where} must be a list of host names; ignoring it.`);
    return undefined;
  }
  const { patterns, problems } = parseHostPatterns(raw as string[]);
  for (const problem of problems) warnings.push(`${where}: ${problem}; it is left out.`);
  return patterns;
}

/** The names of `foreman.sandbox.env` that can be passed; each one that cannot is left out with a warning. */
function readEnvNames(names: readonly string[], warnings: string[]): string[] {
  const kept: string[] = [];
  for (const name of new Set(names)) {
    const problem = checkEnvNames([name]);
    if (problem === null) kept.push(name);
    else warnings.push(`foreman.sandbox.env: ${problem}; it is left out.`);
  }
  return kept;
}

/** The valid entries of `foreman.backends`; an invalid or repeated one is left out with a warning. */
function readBackends(raw: unknown, warnings: string[]): BackendSetting[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    warnings.push('Setting foreman.backends must be a list of backends; ignoring it.');
    return [];
  }
  const backends: BackendSetting[] = [];
  raw.forEach((entry: unknown, i) => {
    const parsed = Backend.safeParse(entry);
    const label = backendLabel(entry, i);
    if (!parsed.success) {
      warnings.push(`Backend ${label} in foreman.backends is left out: ${describeIssue(parsed.error)}.`);
    } else if (backends.some((b) => b.name === parsed.data.name)) {
      warnings.push(`Backend ${label} in foreman.backends is left out: another backend has the same name.`);
    } else {
      backends.push(parsed.data);
    }
  });
  return backends;
}

function backendLabel(entry: unknown, index: number): string {
  const name = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name.trim() !== '' ? `"${name}"` : `#${index + 1}`;
}

/** The first problem zod found, in words (`models: a backend needs at least one model`). */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid value';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** `foreman.mcpServers` at the user's level and the workspace's (folder values over the workspace file's). */
function readMcpServersSetting(levels: SettingLevels, warnings: string[]): NonNullable<LeadSettings['mcpServers']> {
  const at = levels('mcpServers');
  const read = (raw: unknown, where: string): Record<string, McpServerEntry> | undefined => {
    if (raw === undefined || raw === null) return undefined;
    const parsed = McpServersSetting.safeParse(raw);
    // The declared default, {}, names no server.
    if (parsed.success) return Object.keys(parsed.data).length ? parsed.data : undefined;
    warnings.push(`Setting ${where} is not valid (${describeIssue(parsed.error)}); its MCP servers are left out.`);
    return undefined;
  };
  const workspace = at.workspace
    .map((raw) => read(raw, 'workspace foreman.mcpServers'))
    .reduce<Record<string, McpServerEntry> | undefined>((all, one) => (one ? { ...all, ...one } : all), undefined);
  return { user: read(at.user, 'foreman.mcpServers'), workspace };
}
