/**
 * Several endpoints at once: foreman.json's `backends` (each with its models, request limit,
 * headers, key variable, prices and, for a cluster that routes by itself, its `router`), `roles`
 * (planner, agent, reviewer: each a chain of models, first choice first) and `routing`; the role
 * flags (`--planner-model a,b`). Resolved here into `FabricSettings`; src/app/fabric.ts builds the
 * clients. Keys come from the environment only: an endpoint's `apiKeyEnv` names the variable.
 *
 * A role's entry is a model name, served by every endpoint that lists it (those endpoints are the
 * model's replica pool), or `model@endpoint` for that endpoint alone.
 */
import { z } from 'zod';
import type { PriceTable } from '../core/ledger';
import type { BackendConfig } from '../infra/openaiClient';
import { publicEndpoint } from '../infra/openaiClient';
import { CLUSTER_ROUTERS } from '../infra/sessionHints';
import type { ClusterRouter } from '../infra/sessionHints';
import type { Balance } from '../infra/modelRouter';
import { hasUrlCredentials } from '../core/text';
import { EnergySettingSchema } from '../core/telemetry';
import type { EnergySetting } from '../core/telemetry';
import { SettingsError } from './settingsError';

/** The roles that talk to models. */
export const ROLES = ['planner', 'agent', 'reviewer'] as const;
export type Role = (typeof ROLES)[number];

/** Prices per million tokens. */
export const Price = z
  .object({ input: z.number().min(0), cachedInput: z.number().min(0), output: z.number().min(0) })
  .strict();

/** How an endpoint is reached and watched: the same fields in foreman.json's `backend` and in each of its `backends`. */
export const CONNECTION_FIELDS = {
  headers: z.record(z.string(), z.string()).optional(),
  maxConcurrentRequests: z.number().int().positive().optional(),
  requestTimeoutMs: z.number().int().positive().optional(),
  idleTimeoutMs: z.number().int().positive().optional(),
  maxRetries: z.number().int().min(0).optional(),
  retryBaseMs: z.number().int().positive().optional(),
  retryMaxMs: z.number().int().positive().optional(),
  structuredOutput: z.enum(['auto', 'json_schema', 'tool', 'json_instructions']).optional(),
  /** The endpoint's Prometheus text (default: `/metrics` at its host); null: not read. */
  metricsUrl: z.string().url().nullable().optional(),
  /** How the endpoint's GPUs' energy is read (absent: not measured, and the run says so). */
  energy: EnergySettingSchema.optional(),
};

/** One endpoint of foreman.json's `backends`. */
export const EndpointEntry = z
  .object({
    name: z.string().trim().min(1),
    baseUrl: z.string().url(),
    models: z.array(z.string().min(1)).min(1),
    /** The environment variable holding this endpoint's key. */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    /** Per million tokens, by model. */
    prices: z.record(z.string(), Price).optional(),
    router: z.enum(CLUSTER_ROUTERS as [ClusterRouter, ...ClusterRouter[]]).optional(),
    ...CONNECTION_FIELDS,
  })
  .strict();
export type EndpointEntry = z.infer<typeof EndpointEntry>;

const Chain = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
/** foreman.json's `roles`: each role's model, or models first choice first. */
export const RolesEntry = z.object({ planner: Chain, agent: Chain, reviewer: Chain }).partial().strict();

/** An endpoint, resolved: its client options hold its key (from the environment) and limits. */
export interface FabricEndpoint {
  name: string;
  baseUrl: string;
  models: string[];
  router: ClusterRouter | null;
  options: Omit<BackendConfig, 'baseUrl' | 'model'>;
  /** Its metrics (undefined: `/metrics` at its host; null: not read) and its GPUs' energy (null: not measured). */
  telemetry: { metricsUrl?: string | null; energy: EnergySetting | null };
  /**
   * Whether the settings named the limit of requests at once (`maxConcurrentRequests`, `--max-requests`).
   * When they did not, `options.maxConcurrentRequests` is the run's concurrency, and the server's own
   * limit, where its probe found one, is used instead.
   */
  limitSet: boolean;
}

/** One link of a role's chain: a model and the endpoints (by name) that serve it. */
export interface RoleChoice {
  model: string;
  endpoints: string[];
}

/** Several endpoints with roles, resolved. */
export interface FabricSettings {
  endpoints: FabricEndpoint[];
  roles: Record<Role, RoleChoice[]>;
  balance: Balance;
  /** First back-off of a replica taken out (or a chain link skipped), in ms; doubled per failure in a row. */
  retryAfterMs: number;
  /** The agent's first choice at its first endpoint: what the run records as its backend. */
  primary: BackendConfig;
  /** The endpoints' prices by model. */
  prices: PriceTable;
  /** Things a person should know (an unset key variable, prices that differ by endpoint). */
  notices: string[];
}

/** What resolveFabric reads from the settings. */
interface FabricInput {
  backends?: EndpointEntry[];
  roles?: z.infer<typeof RolesEntry>;
  routing?: Balance;
  /** foreman.json's `replicaRetryMs`. */
  replicaRetryMs?: number;
  backend?: { model?: string; maxConcurrentRequests?: number; metricsUrl?: string | null; energy?: EnergySetting };
}

/**
 * The fabric from foreman.json and the flags; null when neither names several endpoints nor a
 * role (the one backend of `single` is then used as before). `--base-url` on the command line
 * names one backend and sets foreman.json's `backends` aside.
 */
export function resolveFabric(
  file: FabricInput,
  env: NodeJS.ProcessEnv,
  flags: { baseUrl?: string; model?: string; maxRequests?: number; roleModels?: Partial<Record<Role, string[]>> },
  single: BackendConfig | null,
  concurrency: number,
): FabricSettings | null {
  const roleFlags = flags.roleModels ?? {};
  const named = Object.values(roleFlags).some((c) => c && c.length > 0) || file.roles !== undefined;
  const several = file.backends !== undefined && flags.baseUrl === undefined;
  if (!several && !named) return null;
  const notices: string[] = [];
  const endpoints = several
    ? (file.backends ?? []).map((e) => endpointOf(e, env, concurrency, notices))
    : single
      ? [
          implicitEndpoint(single, (flags.maxRequests ?? file.backend?.maxConcurrentRequests) !== undefined, {
            metricsUrl: file.backend?.metricsUrl,
            energy: file.backend?.energy ?? null,
          }),
        ]
      : null;
  if (endpoints === null)
    throw new SettingsError(
      'roles are named but no backend: add "backends" to foreman.json, or pass --base-url (or set FOREMAN_BASE_URL)',
    );
  checkNames(endpoints);
  const fallback = flags.model ?? env.FOREMAN_MODEL ?? file.backend?.model ?? endpoints[0].models[0];
  const roles = {} as Record<Role, RoleChoice[]>;
  for (const role of ROLES) {
    const fromFile = file.roles?.[role];
    const chain = roleFlags[role] ?? (typeof fromFile === 'string' ? [fromFile] : fromFile) ?? [fallback];
    roles[role] = chain.map((entry) => choiceOf(entry, role, endpoints, !several));
  }
  const first = roles.agent[0];
  const at = endpoints.find((e) => e.name === first.endpoints[0]) ?? endpoints[0];
  return {
    endpoints,
    roles,
    balance: file.routing ?? 'affinity',
    retryAfterMs: file.replicaRetryMs ?? 5000,
    primary: { ...at.options, baseUrl: at.baseUrl, model: first.model },
    prices: pricesOf(file.backends ?? [], notices),
    notices,
  };
}

function endpointOf(e: EndpointEntry, env: NodeJS.ProcessEnv, concurrency: number, notices: string[]): FabricEndpoint {
  if (hasUrlCredentials(e.baseUrl))
    throw new SettingsError(
      `backends "${e.name}": the URL carries a user name or password, which Foreman does not send: use ${publicEndpoint(e.baseUrl)} and name the key's variable in apiKeyEnv`,
    );
  const url = new URL(e.baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SettingsError(`backends "${e.name}": the URL must start with http:// or https://`);
  const apiKey = e.apiKeyEnv ? env[e.apiKeyEnv] : undefined;
  if (e.apiKeyEnv && !apiKey)
    notices.push(`backends "${e.name}": ${e.apiKeyEnv} is not set, so its requests go without a key.`);
  return {
    name: e.name,
    baseUrl: e.baseUrl,
    models: e.models,
    router: e.router ?? null,
    telemetry: { metricsUrl: e.metricsUrl, energy: e.energy ?? null },
    limitSet: e.maxConcurrentRequests !== undefined,
    options: {
      apiKey,
      headers: e.headers,
      // One request in flight per agent of the run, unless the endpoint names its own limit.
      maxConcurrentRequests: e.maxConcurrentRequests ?? concurrency,
      requestTimeoutMs: e.requestTimeoutMs,
      idleTimeoutMs: e.idleTimeoutMs,
      maxRetries: e.maxRetries,
      retryBaseMs: e.retryBaseMs,
      retryMaxMs: e.retryMaxMs,
      structuredOutput: e.structuredOutput,
    },
  };
}

/** The one configured backend as an endpoint; the role flags' models are added to its list. */
function implicitEndpoint(
  single: BackendConfig,
  limitSet: boolean,
  telemetry: FabricEndpoint['telemetry'],
): FabricEndpoint {
  const { baseUrl, model, ...options } = single;
  return { name: 'backend', baseUrl, models: [model], router: null, options, limitSet, telemetry };
}

function checkNames(endpoints: FabricEndpoint[]): void {
  const seen = new Set<string>();
  const sources = new Map<string, string>();
  for (const e of endpoints) {
    if (seen.has(e.name))
      throw new SettingsError(`backends: two endpoints are named "${e.name}"; give each its own name`);
    seen.add(e.name);
    // One GPU's joules under two endpoints would be counted twice in the run's energy.
    const energy = e.telemetry.energy;
    const source = energy === null ? null : energy.source === 'dcgm' ? energy.url : 'nvidia-smi';
    const before = source === null ? undefined : sources.get(source);
    if (before !== undefined)
      throw new SettingsError(
        `backends "${before}" and "${e.name}" read their energy from the same source (${source}), so its GPUs' joules would be counted twice: give it to the endpoint those GPUs serve, and leave "energy" out of the other`,
      );
    if (source !== null) sources.set(source, e.name);
  }
}

/** `model` (every endpoint listing it) or `model@endpoint`. */
function choiceOf(entry: string, role: Role, endpoints: FabricEndpoint[], implicit: boolean): RoleChoice {
  const at = entry.lastIndexOf('@');
  if (at > 0) {
    const model = entry.slice(0, at);
    const name = entry.slice(at + 1);
    const endpoint = endpoints.find((e) => e.name === name);
    if (!endpoint)
      throw new SettingsError(
        `the ${role}'s "${entry}" names the endpoint "${name}", which is not in backends (${endpoints.map((e) => e.name).join(', ')})`,
      );
    if (!endpoint.models.includes(model)) endpoint.models.push(model);
    return { model, endpoints: [name] };
  }
  if (implicit && !endpoints[0].models.includes(entry)) endpoints[0].models.push(entry);
  const serving = endpoints.filter((e) => e.models.includes(entry)).map((e) => e.name);
  if (serving.length === 0)
    throw new SettingsError(
      `the ${role}'s model "${entry}" is not listed by any endpoint in backends: add it to an endpoint's models, or write "${entry}@<endpoint>"`,
    );
  return { model: entry, endpoints: serving };
}

/** Prices by model from every endpoint; where two endpoints price one model differently, the first counts. */
function pricesOf(entries: EndpointEntry[], notices: string[]): PriceTable {
  const prices: PriceTable = {};
  for (const e of entries) {
    for (const [model, price] of Object.entries(e.prices ?? {})) {
      const before = prices[model];
      if (before && JSON.stringify(before) !== JSON.stringify(price))
        notices.push(
          `backends "${e.name}" prices ${model} differently from an endpoint before it; the first price is used for every request of ${model}.`,
        );
      else prices[model] = price;
    }
  }
  return prices;
}

/** `a,b , c` → ['a', 'b', 'c'] (the role flags). */
export function parseModelChain(text: string): string[] {
  return text
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.length > 0);
}
