/**
 * `foreman backends [--json] [--fresh]`: the configured endpoints, each role's chain of models, and
 * what each endpoint and model can do, probed (src/infra/capabilities.ts) or, within the hour, as
 * the last probe found (`--fresh` asks again). Exit 4 when nothing answers at some endpoint.
 */
import { join } from 'node:path';
import { buildFabric, describeFabric } from '../../app/fabric';
import type { FabricSettings } from '../../app/fabricSettings';
import { ROLES } from '../../app/fabricSettings';
import { openWorkspace } from '../../app/workspace';
import type { Settings } from '../../app/settings';
import { CapabilityCache } from '../../infra/capabilities';
import { publicEndpoint } from '../../infra/openaiClient';
import { EXIT } from '../context';
import type { CommandHandler } from '../context';
import { UsageError } from '../options';

export const backendsCommand: CommandHandler = async (ctx) => {
  if (ctx.cl.args.length > 0) throw new UsageError('backends takes no arguments: foreman backends [--json] [--fresh]');
  const fabric = fabricOf(ctx.settings);
  if (!fabric) {
    ctx.err(
      'No backend is named: pass --base-url and --model, set FOREMAN_BASE_URL and FOREMAN_MODEL, or add "backend" or "backends" to foreman.json.',
    );
    return EXIT.usage;
  }
  const ws = await openWorkspace(ctx.cl.cwd, ctx.settings);
  const cache = new CapabilityCache(join(ws.repo.stateDir, 'capabilities.json'));
  const built = await buildFabric(fabric, { cache, onNotice: () => undefined, fresh: ctx.cl.fresh });
  if (ctx.cl.json) {
    const roles = Object.fromEntries(ROLES.map((r) => [r, fabric.roles[r]]));
    const endpoints = built.probes.map((p) => ({
      name: p.name,
      endpoint: p.endpoint,
      model: p.model,
      router: p.router,
      ...(p.outcome.ok ? { capabilities: p.outcome.capabilities } : { unreachable: p.outcome.message }),
    }));
    ctx.out(JSON.stringify({ roles, routing: fabric.balance, endpoints }, null, 2));
  } else {
    for (const line of describeFabric(fabric, built.probes)) ctx.out(line);
  }
  return built.probes.every((p) => p.outcome.ok) ? EXIT.ok : EXIT.backend;
};

/** The settings' fabric, or the one backend as a fabric of one endpoint. */
function fabricOf(settings: Settings): FabricSettings | null {
  if (settings.fabric) return settings.fabric;
  const backend = settings.backend;
  if (!backend) return null;
  const { baseUrl, model, ...options } = backend;
  const choice = { model, endpoints: [publicEndpoint(baseUrl)] };
  return {
    endpoints: [
      {
        name: choice.endpoints[0],
        baseUrl,
        models: [model],
        router: null,
        options,
        limitSet: settings.backendOptions?.maxConcurrentRequests !== undefined,
        telemetry: { metricsUrl: settings.telemetry?.metricsUrl, energy: settings.telemetry?.energy ?? null },
      },
    ],
    roles: { planner: [choice], agent: [choice], reviewer: [choice] },
    balance: 'affinity',
    retryAfterMs: 5000,
    primary: backend,
    prices: settings.prices,
    notices: [],
  };
}
