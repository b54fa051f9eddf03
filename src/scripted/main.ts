/**
 * The scripted backend as a program: `node dist/scripted.js [--port 8123] [--host 127.0.0.1]
 * [--scenario demo|path/to/scenario.js] [--pace-ms 20] [--no-json-schema] [--no-cached]`. `demo`
 * plays the demo's scripted run (src/scripted/demoScenario.ts); a module's `scenario` export or
 * default export is played; without one every agent finishes at once. `--pace-ms` pauses between
 * streamed chunks of replies that set no pace of their own, so answers stream over time as a
 * model's would (and their tokens/s can be measured) instead of arriving whole.
 * Prints `listening <url>` on stdout and stops on SIGINT or SIGTERM.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { demoScenario } from './demoScenario';
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

async function main(args: string[]): Promise<void> {
  const scenario = await loadScenario(flag(args, '--scenario'));
  const pace = Number(flag(args, '--pace-ms') ?? 0);
  if (!Number.isFinite(pace) || pace < 0)
    throw new Error(`--pace-ms needs a number of ms, not ${flag(args, '--pace-ms')}`);
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
    port: Number(flag(args, '--port') ?? 0),
    host: flag(args, '--host'),
    supportsJsonSchema: !args.includes('--no-json-schema'),
    reportCached: !args.includes('--no-cached'),
  });
  process.stdout.write(`listening ${server.url}\n`);
  const stop = (): void => {
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
