/**
 * The Lead panel's backend requests: discover local servers, add a backend from the panel's form,
 * use the built-in demo.
 */
import { discoverServers } from '../infra/discovery';
import { publicEndpoint } from '../infra/openaiClient';
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
    core.discovery = { ...core.discovery, scanning: true };
    core.changed();
    try {
      const found = await discoverServers(core.opts.discoveryTargets ? { targets: core.opts.discoveryTargets } : {});
      core.discovery = { scanning: false, found, scannedAt: core.now() };
      core.host.log(
        'info',
        found.length
          ? `Discovery found ${found.map((f) => `${f.kind} at ${f.baseUrl}`).join(', ')}`
          : 'Discovery found no local inference server.',
      );
    } finally {
      core.discovery = { ...core.discovery, scanning: false };
      scans.delete(core);
      core.changed();
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
  core.settings = core.host.readSettings();
  core.chosen = { ...core.chosen, backend: checked.name, model: checked.models[0] };
  await core.refreshBackends();
  core.notices.add(
    'info',
    `Added the backend "${checked.name}" (${checked.models[0]} at ${publicEndpoint(checked.baseUrl)}) and selected it.`,
  );
  core.changed();
  await core.persistChoices();
}

/** Select the built-in demo backend, starting its scripted server. */
export async function useDemo(core: SessionCore): Promise<void> {
  const url = await core.demo.start();
  core.chosen = { ...core.chosen, backend: DEMO_BACKEND, model: DEMO_MODEL };
  await core.refreshBackends();
  core.host.log('info', `The demo backend listens at ${url}.`);
  core.changed();
  await core.persistChoices();
}
