/**
 * The Lead panel's backend requests: discover local servers, add a backend from the panel's form,
 * use the built-in demo, or open a fresh copy of the sample repository the demo knows.
 */
import { discoverServers } from '../infra/discovery';
import { publicEndpoint } from '../infra/openaiClient';
import { copySample } from '../infra/sampleRepo';
import type { DiscoveredServer } from '../protocol/panel';
import { checkNewBackend, DEMO_BACKEND, DEMO_MODEL } from './backends';
import { LeadError } from './leadApi';
import type { SessionCore } from './sessionCore';

/** A scan in progress, shared by requests that arrive while it runs. */
const scans = new WeakMap<SessionCore, Promise<void>>();

/** Probe the usual local ports for OpenAI-compatible servers; the panel shows scanning, then what answered. */
export function discover(core: SessionCore): Promise<void> {
  const running = scans.get(core);
  if (running) return running;
  const scan = (async () => {
    core.discoveryStarted();
    let found: DiscoveredServer[] | null = null;
    try {
      found = await discoverServers(core.opts.discoveryTargets ? { targets: core.opts.discoveryTargets } : {});
      core.host.log(
        'info',
        found.length
          ? `Discovery found ${found.map((f) => `${f.kind} at ${f.baseUrl}`).join(', ')}`
          : 'Discovery found no local inference server.',
      );
    } finally {
      scans.delete(core);
      core.discoveryEnded(found);
    }
  })();
  scans.set(core, scan);
  return scan;
}

/** Add (or replace) a backend in the user's settings and select it with its model. */
export async function addBackend(
  core: SessionCore,
  form: { name: string; baseUrl: string; model: string },
): Promise<void> {
  const existing = core.settings.backends.find((b) => b.name === form.name.trim()) ?? null;
  const checked = checkNewBackend(form, existing);
  if (typeof checked === 'string') throw new LeadError(checked, 'invalid');
  await core.host.addBackend(checked);
  const model = checked.models[0];
  await core.selectBackend(
    checked.name,
    model,
    `Added the backend "${checked.name}" (${model} at ${publicEndpoint(checked.baseUrl)}) and selected it.`,
  );
}

/**
 * Select the built-in demo backend, starting its scripted server. Refused, saying so, where the
 * workspace is not the sample repository: the panel offers to open the sample instead.
 */
export async function useDemo(core: SessionCore): Promise<void> {
  core.demo.requireSample();
  const url = await core.demo.start();
  core.host.log('info', `The demo backend listens at ${url}.`);
  await core.selectBackend(DEMO_BACKEND, DEMO_MODEL);
}

/**
 * Copy the sample repository the demo knows into a new temporary folder, as a git repository with
 * one commit (as `npm start` does), and open it in a new editor window.
 */
export async function openSample(core: SessionCore): Promise<void> {
  const host = core.host;
  if (!host.sampleSource || !host.openFolder)
    throw new LeadError(
      "This editor cannot open Foreman's sample repository: run `npm start` in Foreman's own checkout to try the demo.",
      'invalid',
    );
  const repo = await copySample(host.sampleSource);
  host.log('info', `Made a fresh copy of the sample repository in ${repo}; opening it in a new window.`);
  await host.openFolder(repo);
}
