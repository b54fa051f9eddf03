/**
 * The model clients of a run over several endpoints (FabricSettings, src/app/fabricSettings.ts):
 * every endpoint and model a role uses is probed (src/infra/capabilities.ts, cached), one client is
 * made per endpoint and model with what the probe found, the endpoints serving one model become a
 * replica pool, and each role gets its chain of pools (src/infra/modelRouter.ts).
 */
import type { ModelClient } from '../core/model';
import { describeCapabilities } from '../infra/capabilities';
import type { CapabilityCache, Capabilities, ProbeOutcome } from '../infra/capabilities';
import { ReplicaPool, RoleClient, SERVER_QUEUES } from '../infra/modelRouter';
import type { LoadReadings } from '../infra/modelRouter';
import { createOpenAIClient, DEFAULT_REQUEST_LIMIT, publicEndpoint } from '../infra/openaiClient';
import type { FabricEndpoint, FabricSettings, Role, RoleChoice } from './fabricSettings';
import { ROLES } from './fabricSettings';

/** What the probe of one endpoint and model found. */
export interface ProbeReport {
  /** The endpoint's name in the settings. */
  name: string;
  endpoint: string;
  model: string;
  router: string | null;
  outcome: ProbeOutcome;
}

/** A run's clients, one per role, with the pools behind them and what the probes found. */
export interface Fabric {
  clients: Record<Role, ModelClient>;
  pools: ReplicaPool[];
  probes: ProbeReport[];
}

/** Options of `buildFabric`. */
export interface FabricOptions {
  cache: CapabilityCache;
  /** Sentences about fallbacks and replicas, for the CLI, the journal and the panel. */
  onNotice: (text: string) => void;
  /** The server's queue per endpoint, where a metrics reader has it (default SERVER_QUEUES, which the run's watch feeds). */
  load?: LoadReadings;
  /** Probe again instead of using what the cache holds. */
  fresh?: boolean;
}

/** Probe what the roles use and build their clients. Never rejects for an endpoint that does not answer. */
export async function buildFabric(fabric: FabricSettings, options: FabricOptions): Promise<Fabric> {
  const probes = await probeAll(fabric, options);
  const found = new Map(probes.map((p) => [`${p.name}\u0000${p.model}`, p]));
  const routerOptions = {
    balance: fabric.balance,
    load: options.load ?? SERVER_QUEUES,
    onNotice: options.onNotice,
    backoffMs: fabric.retryAfterMs,
  };
  const pools = new Map<string, ReplicaPool>();
  const poolOf = (choice: RoleChoice): ReplicaPool => {
    const key = `${choice.model}\u0000${[...choice.endpoints].sort().join('\u0000')}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = makePool(fabric, choice, found, routerOptions);
      pools.set(key, pool);
    }
    return pool;
  };
  const clients = {} as Record<Role, ModelClient>;
  for (const role of ROLES) clients[role] = new RoleClient(role, fabric.roles[role].map(poolOf), routerOptions);
  return { clients, pools: [...pools.values()], probes };
}

function makePool(
  fabric: FabricSettings,
  choice: RoleChoice,
  found: Map<string, ProbeReport>,
  routerOptions: ConstructorParameters<typeof ReplicaPool>[2],
): ReplicaPool {
  const replicas = choice.endpoints.map((name) => {
    const endpoint = fabric.endpoints.find((e) => e.name === name);
    if (!endpoint) throw new Error(`no endpoint named ${name}`);
    const report = found.get(`${name}\u0000${choice.model}`);
    const capabilities = report?.outcome.ok ? report.outcome.capabilities : null;
    const client = createOpenAIClient({
      ...endpoint.options,
      maxConcurrentRequests: limitOf(endpoint, capabilities).requests,
      baseUrl: endpoint.baseUrl,
      model: choice.model,
      capabilities: capabilities ?? undefined,
      router: endpoint.router,
    });
    return { name, client, toolCalling: capabilities?.toolCalling ?? null };
  });
  const pool = new ReplicaPool(choice.model, replicas, routerOptions);
  for (const name of choice.endpoints) {
    const report = found.get(`${name}\u0000${choice.model}`);
    if (report && !report.outcome.ok) pool.takeOutAtStart(name, report.outcome.message);
  }
  return pool;
}

/** A limit of requests at once to an endpoint, and why it is that (for the lines a run prints). */
export interface RequestLimit {
  requests: number;
  source: string;
}

/**
 * The limit of requests at once an endpoint's client gets: `given` where the settings named it
 * (`set`), else what the server reports of itself (`reported`, src/infra/serverLimit.ts), else
 * `given`, which is then the run's concurrency.
 */
export function chooseLimit(given: number, set: boolean, reported: RequestLimit | null): RequestLimit {
  if (set) return { requests: given, source: 'as the settings say' };
  if (reported) return { requests: reported.requests, source: `as the server reports: ${reported.source}` };
  return { requests: given, source: "the run's concurrency; the server reports no limit" };
}

/** An endpoint's limit, from its settings and what its probe found. */
export function limitOf(endpoint: FabricEndpoint, capabilities: Capabilities | null): RequestLimit {
  const reported =
    capabilities?.requestLimit != null
      ? { requests: capabilities.requestLimit, source: capabilities.requestLimitSource ?? 'its own report' }
      : null;
  return chooseLimit(endpoint.options.maxConcurrentRequests ?? DEFAULT_REQUEST_LIMIT, endpoint.limitSet, reported);
}

/** Every endpoint and model some role uses, probed at once. */
async function probeAll(fabric: FabricSettings, options: FabricOptions): Promise<ProbeReport[]> {
  const wanted = new Map<string, { name: string; model: string }>();
  for (const role of ROLES)
    for (const choice of fabric.roles[role])
      for (const name of choice.endpoints) wanted.set(`${name}\u0000${choice.model}`, { name, model: choice.model });
  return Promise.all(
    [...wanted.values()].map(async ({ name, model }) => {
      const endpoint = fabric.endpoints.find((e) => e.name === name);
      if (!endpoint) throw new Error(`no endpoint named ${name}`);
      const target = {
        baseUrl: endpoint.baseUrl,
        model,
        apiKey: endpoint.options.apiKey,
        headers: endpoint.options.headers,
      };
      const outcome = await options.cache.get(target, { fresh: options.fresh });
      return { name, endpoint: publicEndpoint(endpoint.baseUrl), model, router: endpoint.router, outcome };
    }),
  );
}

/** Lines describing the fabric: each role's chain, then each endpoint and model with what was found. */
export function describeFabric(fabric: FabricSettings, probes: ProbeReport[]): string[] {
  const lines: string[] = [];
  for (const role of ROLES) {
    const chain = fabric.roles[role].map((c) => `${c.model} (${c.endpoints.join(', ')})`).join(' → ');
    lines.push(`${capital(role)}: ${chain}`);
  }
  if (fabric.balance === 'round-robin') lines.push('Routing: round-robin over replicas (no task affinity).');
  for (const p of probes) {
    const router = p.router ? ` [routes itself: ${p.router}, session hints sent]` : '';
    const endpoint = fabric.endpoints.find((e) => e.name === p.name);
    const limit = endpoint && p.outcome.ok ? limitOf(endpoint, p.outcome.capabilities) : null;
    const sent = limit ? ` · ${limit.requests} requests at once (${limit.source})` : '';
    lines.push(
      `  ${p.name} ${p.endpoint} ${p.model}${router}: ${p.outcome.ok ? describeCapabilities(p.outcome.capabilities) : p.outcome.message}${sent}`,
    );
  }
  return lines;
}

/** The probes that found something, for JSON output. */
export function probedCapabilities(probes: ProbeReport[]): (Capabilities & { name: string })[] {
  return probes.flatMap((p) => (p.outcome.ok ? [{ ...p.outcome.capabilities, name: p.name }] : []));
}

/**
 * Where the sentences about backends go during a run: to `log` at once, and to the run's journal
 * (RunEngine.recordNote) once a run is attached.
 */
export class NoticeRelay {
  private engine: { recordNote(taskId: string | null, message: string): void } | null = null;

  constructor(private readonly log: (text: string) => void) {}

  readonly say = (text: string): void => {
    this.log(text);
    this.engine?.recordNote(null, text);
  };

  /** From now on, notices go to this run's journal too. */
  attach(engine: { recordNote(taskId: string | null, message: string): void }): void {
    this.engine = engine;
  }
}

function capital(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}
