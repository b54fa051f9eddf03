/**
 * The demo backend in a repository that is not the sample, in a real VS Code: the panel's connect
 * box says the demo only knows Foreman's sample and offers "Open the sample" instead of the demo;
 * the button copies the sample that ships in the VSIX into a temporary folder as a git repository
 * and opens it in a new window, where the demo is offered. Nothing is asked of any backend and no
 * run starts in the developer's repository. Screenshots: test-results/e2e/open-sample-*.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVsix, runCommand, screenshot, startVSCode, waitFor, webviewFrame } from './harness';
import type { VSCodeSession } from './harness';
import { button, openLead, stages } from './lead';

let tmp: string;
let repo: string;
let vscode: VSCodeSession | undefined;

before(
  async () => {
    const vsix = ensureVsix();
    tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-e2e-open-sample-')));
    repo = join(tmp, 'acme');
    mkdirSync(repo);
    // The extension host's temporary folder: the sample's copy lands here, and goes with it.
    mkdirSync(join(tmp, 'tmp'));
    writeFileSync(join(repo, 'README.md'), '# Acme, a repository that is not the sample\n');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=E2E', '-c', 'user.email=e2e@example.com', ...args], { cwd: repo });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'initial');
    vscode = await startVSCode({ workspace: repo, vsix, env: { TMPDIR: join(tmp, 'tmp') } });
  },
  { timeout: 180_000 },
);

after(async () => {
  await vscode?.close();
  if (tmp && process.env.FOREMAN_E2E_KEEP !== '1') rmSync(tmp, { recursive: true, force: true });
});

test(
  'elsewhere the panel offers the sample instead of the demo, and opens a fresh copy of it in a new window',
  { timeout: 180_000 },
  async () => {
    const session = vscode!;
    const page = session.page;
    const stage = stages(page, 'open-sample');
    const lead = await openLead(session);
    await stage('offer', async () => {
      const connect = lead.locator('.connect');
      await connect.waitFor({ timeout: 30_000 });
      assert.match(await connect.innerText(), /only knows that one/);
      assert.equal(await button(lead, 'Try the demo backend').count(), 0, 'the demo is not offered here');
      await button(lead, 'Open the sample').waitFor({ timeout: 10_000 });
      await button(lead, 'Open the sample').scrollIntoViewIfNeeded();
    });
    let opened: typeof page | undefined;
    await stage('open', async () => {
      const popup = page.context().waitForEvent('page', { timeout: 60_000 });
      await button(lead, 'Open the sample').click();
      opened = await popup;
      await opened.waitForLoadState();
    });
    const other = opened!;
    const folder = decodeURIComponent(new URL(other.url()).searchParams.get('folder') ?? '');
    assert.match(folder, /\/tmp\/foreman-sample-[^/]+\/demo-shop$/, other.url());
    assert.ok(folder.startsWith(join(tmp, 'tmp')), 'in the temporary folder of the extension host');
    const log = execFileSync('git', ['log', '--format=%s'], { cwd: folder, encoding: 'utf8' }).trim();
    assert.equal(log, 'The shop before Foreman');
    assert.ok(existsSync(join(folder, 'src', 'cart.js')));

    await other.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    await waitFor(
      async () => (await other.locator('.explorer-folders-view').innerText()).includes('AGENTS.md'),
      "the sample's files in the new window",
      30_000,
    );
    await screenshot(other, 'open-sample-03-new-window');
    // In the sample's window the demo is there to try.
    await runCommand(other, 'Foreman: New Spec');
    const there = await webviewFrame(other, 'foreman.lead', { timeoutMs: 60_000 });
    await button(there, 'Try the demo backend').waitFor({ timeout: 30_000 });
    assert.equal(await button(there, 'Open the sample').count(), 0);
    await screenshot(other, 'open-sample-04-demo-offered');

    assert.ok(!existsSync(join(repo, '.git', 'foreman', 'runs')), 'no run was started in the repository');
    assert.deepEqual(readdirSync(join(tmp, 'tmp')).filter((n) => n.startsWith('foreman-sample-')).length, 1);
  },
);
