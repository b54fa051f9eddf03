/**
 * The scripted backend as a program: `node dist/scripted.js [--port 8123] [--host 127.0.0.1]
 * [--scenario demo|path/to/scenario.js] [--pace-ms 20] [--gpu [--gpu-slots 8] [--gpu-speed 0.2]]
 * [--no-json-schema] [--no-cached]`. `demo`
 * plays the demo's scripted run (src/scripted/demoScenario.ts); a module's `scenario` export or
 * default export is played; without one every agent finishes at once. `--pace-ms` pauses between
 * streamed chunks of replies that set no pace of their own, so answers stream over time as a
 * model's would (and their tokens/s can be measured) instead of arriving whole. `--gpu` puts a
 * simulated continuous-batching GPU (src/scripted/gpu.ts) behind the replies: each waits for its
 * turn in a batch of `--gpu-slots` and streams at the batch's rate, the H200's curve times
 * `--gpu-speed`, and the server serves vLLM's counters at `/metrics` and a dcgm-exporter's power
 * and energy at `/dcgm/metrics`. The defaults (8 slots, speed 0.2: about 47 tokens/s for one
 * request, 380 for a batch of 8) stretch the demo's run to half a minute or so, long enough to
 * watch its charts move, and every answer still comes within seconds.
 * Prints `listening <url>` on stdout and stops on SIGINT or SIGTERM.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { demoScenario } from './demoScenario';
import { SimulatedGpu } from './gpu';
import { scenarioResponder } from './scenario';
import type { Scenario } from './scenario';
import { createScriptedServer } from './server';
import type { Responder } from './server';
import { errorMessage } from '../core/errors';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function loadScenario(path: string | undefined): Promise<Scenario> {
  if (path === undefined) return {};
  if (path === 'demo') return demoScenario;
  const mod = (await import(pathToFileURL(resolve(path)).href)) as {
    scenario?: Scenario;
    default?: Scenario & { scenario?: Scenario };
  };
  const found = mod.scenario ?? mod.default?.scenario ?? mod.default;
  if (typeof found !== 'object' || found === null) throw new Error(`${path} exports no scenario`);
  return found;
}

/** `--gpu`'s defaults: a batch of 8, at a fifth of the H200's rates. */
const GPU_SLOTS = 8;
const GPU_SPEED = 0.2;

/** The simulated GPU `--gpu` asks for, sized by `--gpu-slots` and `--gpu-speed`; null without it. */
function gpuOf(args: string[]): SimulatedGpu | null {
  const slotsArg = flag(args, '--gpu-slots');
  const speedArg = flag(args, '--gpu-speed');
  if (!args.includes('--gpu')) {
    if (slotsArg !== undefined || speedArg !== undefined) throw new Error('--gpu-slots and --gpu-speed need --gpu');
    return null;
  }
  const slots = Number(slotsArg ?? GPU_SLOTS);
  if (!Number.isInteger(slots) || slots < 1)
    throw new Error(`--gpu-slots needs a whole number above 0, not ${slotsArg}`);
  const speed = Number(speedArg ?? GPU_SPEED);
  if (!Number.isFinite(speed) || speed <= 0) throw new Error(`--gpu-speed needs a number above 0, not ${speedArg}`);
  return new SimulatedGpu({ slots, speed });
}

async function main(args: string[]): Promise<void> {
  const scenarioArg = flag(args, '--scenario');
  const scenario = await loadScenario(scenarioArg);
  const pace = Number(flag(args, '--pace-ms') ?? 0);
  if (!Number.isFinite(pace) || pace < 0)
    throw new Error(`--pace-ms needs a number of ms, not ${flag(args, '--pace-ms')}`);
  const gpu = gpuOf(args);
  const play = scenarioResponder(scenario);
  const responder: Responder =
    pace > 0
      ? async (request, ctx) => {
          const reply = await play(request, ctx);
          return 'fault' in reply ? reply : { chunkDelayMs: pace, ...reply };
        }
      : play;
  const server = await createScriptedServer({
    responder,
    // The demo goes by its own model name (DEMO_MODEL in src/infra/sampleRepo.ts), which Foreman
    // holds to the sample repository; /v1/models says so to whoever discovers this server.
    ...(scenarioArg === 'demo' ? { model: 'scripted-demo' } : {}),
    port: Number(flag(args, '--port') ?? 0),
    host: flag(args, '--host'),
    supportsJsonSchema: !args.includes('--no-json-schema'),
    reportCached: !args.includes('--no-cached'),
    gpu,
  });
  process.stdout.write(`listening ${server.url}\n`);
  const stop = (): void => {
    gpu?.close();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`scripted: ${errorMessage(e)}\n`);
  process.exit(1);
});
