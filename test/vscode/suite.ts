/**
 * Extension-host tests: they run inside a real VS Code (launched by test/vscode/runTests.ts) with
 * Foreman loaded from this checkout, and drive it through VS Code's own API: activation, the
 * command registry, settings, the Lead session the extension returns, the panel's view and the
 * review editors. @vscode/test-electron calls `run()`; a rejection fails the run.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { LeadApi } from '../../src/app/leadApi';
import type { ForemanApi } from '../../src/extension';
import { PanelState } from '../../src/protocol/panel';
import { errorDetail } from '../../src/core/errors';

const EXTENSION_ID = 'foreman-dev.foreman';
/** The target; FOREMAN_ACTIVATION_LIMIT_MS loosens it on a slow machine. */
const ACTIVATION_LIMIT_MS = Number(process.env.FOREMAN_ACTIVATION_LIMIT_MS ?? 50);

interface Case {
  name: string;
  timeoutMs: number;
  fn: () => Promise<void>;
}

const cases: Case[] = [];
function test(name: string, fn: () => Promise<void>, timeoutMs = 20_000): void {
  cases.push({ name, fn, timeoutMs });
}

/** Resolves when `predicate` holds, checking every 100 ms; rejects with `what` after `timeoutMs`. */
async function waitFor<T>(what: string, predicate: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function extension(): vscode.Extension<ForemanApi> {
  const ext = vscode.extensions.getExtension<ForemanApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not loaded`);
  return ext;
}

async function lead(): Promise<LeadApi> {
  return (await extension().activate()).lead();
}

function validState(session: LeadApi): PanelState {
  const parsed = PanelState.safeParse(session.snapshot());
  assert.ok(
    parsed.success,
    `the session's state breaks the panel protocol: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3))}`,
  );
  return parsed.data;
}

test('stays dormant until used, then activates within the target', async () => {
  const ext = extension();
  assert.equal(ext.isActive, false, 'nothing should activate Foreman before its view or a command is used');
  const api = await ext.activate();
  assert.ok(Number.isFinite(api.activationMs) && api.activationMs > 0, `activationMs: ${api.activationMs}`);
  console.log(`    activation: ${api.activationMs.toFixed(1)} ms`);
  assert.ok(
    api.activationMs < ACTIVATION_LIMIT_MS,
    `activation took ${api.activationMs.toFixed(1)} ms (limit ${ACTIVATION_LIMIT_MS} ms)`,
  );
});

test('every command in package.json is registered', async () => {
  await extension().activate();
  const manifest = extension().packageJSON as { contributes: { commands: { command: string }[] } };
  const registered = new Set(await vscode.commands.getCommands(true));
  const missing = manifest.contributes.commands.map((c) => c.command).filter((id) => !registered.has(id));
  assert.deepEqual(missing, []);
});

test('the session starts on first use, in the trusted repository, with a valid state', async () => {
  const state = validState(await lead());
  assert.equal(state.blocked, null, `blocked: ${state.blocked?.message}`);
  assert.ok(state.repo, 'the workspace repository is known');
  assert.deepEqual(
    state.backends.filter((b) => !b.demo),
    [],
  );
});

test('backends in the settings reach the session; an invalid one is left out', async () => {
  const session = await lead();
  const config = vscode.workspace.getConfiguration('foreman');
  const good = { name: 'from-settings', baseUrl: 'http://127.0.0.1:9/v1', models: ['m1'] };
  try {
    await config.update(
      'backends',
      [good, { name: 'no-models', baseUrl: 'http://127.0.0.1:9/v1', models: [] }],
      vscode.ConfigurationTarget.Global,
    );
    const backends = await waitFor('the configured backend in the state', () => {
      const found = session.snapshot().backends.filter((b) => !b.demo);
      return found.length > 0 ? found : null;
    });
    assert.deepEqual(
      backends.map((b) => b.name),
      ['from-settings'],
    );
    assert.equal(backends[0].hasKey, false);
  } finally {
    await config.update('backends', undefined, vscode.ConfigurationTarget.Global);
  }
});

test("the panel's backend/add writes the user's settings", async () => {
  const session = await lead();
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('foreman');
  try {
    await session.handle({ type: 'backend/add', name: 'added', baseUrl: 'http://127.0.0.1:9/v1', model: 'm2' });
    const saved = config().inspect<{ name: string; models: string[] }[]>('backends')?.globalValue ?? [];
    const added = saved.find((b) => b.name === 'added');
    assert.ok(added, `foreman.backends: ${JSON.stringify(saved)}`);
    assert.ok(added.models.includes('m2'));
    assert.ok(!JSON.stringify(saved).toLowerCase().includes('apikey'), 'no key in settings');
  } finally {
    await config().update('backends', undefined, vscode.ConfigurationTarget.Global);
  }
});

test('the palette commands that need no input run without error', async () => {
  await extension().activate();
  await vscode.commands.executeCommand('foreman.lead.focus');
  await vscode.commands.executeCommand('foreman.lead.newSpec');
  await vscode.commands.executeCommand('foreman.log.show');
  await vscode.commands.executeCommand('foreman.runs.show');
  // With a backend name as argument, removing a key asks nothing (and there is none to remove).
  await vscode.commands.executeCommand('foreman.backend.clearApiKey', 'nothing-stored');
});

test('a demo run, planned and run through the session, ends with its transcript one command away', async () => {
  const session = await lead();
  await session.handle({ type: 'backend/useDemo' });
  await session.handle({ type: 'spec/change', spec: 'Add a CONTRIBUTING.md that explains how to run the tests.' });
  await session.handle({ type: 'plan/start' });
  const plan = await waitFor('a plan', () => session.snapshot().plan, 60_000);
  assert.ok(plan.tasks.length > 0 && plan.errors.length === 0, `plan errors: ${plan.errors.join('; ')}`);
  await session.handle({ type: 'run/start' });
  const run = await waitFor(
    'the run to finish',
    () => {
      const r = session.snapshot().run;
      return r && !r.live && r.status !== 'running' ? r : null;
    },
    120_000,
  );
  validState(session);
  assert.ok(['completed', 'review'].includes(run.status), `run ended ${run.status}: ${run.message}`);
  const task = run.tasks.find((t) => t.actions.transcript);
  assert.ok(task, 'some task has a transcript');
  await vscode.commands.executeCommand('foreman.task.openTranscript', task.id);
  await waitFor('the transcript editor', () => vscode.window.tabGroups.all.some((g) => g.tabs.length > 0), 10_000);
}, 200_000);

/** Called by @vscode/test-electron inside the extension host. */
export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const c of cases) {
    const started = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${c.timeoutMs} ms`)), c.timeoutMs);
      });
      await Promise.race([c.fn(), timeout]);
      console.log(`  ok   ${c.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failures.push(c.name);
      console.error(`  FAIL ${c.name}\n${errorDetail(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }
  console.log(`${cases.length - failures.length}/${cases.length} passed`);
  if (failures.length > 0) throw new Error(`${failures.length} extension-host test(s) failed: ${failures.join('; ')}`);
}
