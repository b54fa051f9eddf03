/**
 * Smoke test of the packaged extension in a real VS Code (code-server + Chromium): the VSIX that
 * `npm run package` makes installs, stays dormant until its command runs, and "Foreman: Show Runs"
 * lists a real run, made by the real CLI against the scripted test server, in the Output panel.
 * A second test proves the harness reaches a webview view's content (two iframes deep) with a tiny
 * extension made and packaged here, so the Lead panel's tests start from a helper known to work.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDemoRun,
  ensureVsix,
  EXTENSION_ID,
  outputPanel,
  processesOf,
  PROJECT_ROOT,
  runCommand,
  screenshot,
  startVSCode,
  waitFor,
  waitForText,
  webviewFrame,
} from './harness';
import type { DemoRun } from './harness';

/** The extension host's log line for Foreman's activation; group 1 is the activation event. */
const ACTIVATION = new RegExp(
  `_doActivateExtension ${EXTENSION_ID.replace(/\./g, '\\.')},.*activationEvent: '([^']+)'`,
);

let vsix: string;
let demo: DemoRun | undefined;

before(
  async () => {
    vsix = ensureVsix();
    demo = await createDemoRun();
  },
  { timeout: 120_000 },
);

after(() => demo?.cleanup());

test(
  '"Foreman: Show Runs" activates the extension and lists the run in the Output panel',
  { timeout: 120_000 },
  async () => {
    assert.ok(demo);
    assert.equal(demo.status.status, 'completed', 'the fixture run should have completed');
    const vscode = await startVSCode({ workspace: demo.repo, vsix });
    try {
      // Startup activations ('*', onStartupFinished) are over once this line is logged.
      await waitFor(
        () => vscode.extensionHostLog().includes('Eager extensions activated'),
        'the extension host to start',
      );
      assert.doesNotMatch(vscode.extensionHostLog(), ACTIVATION, 'Foreman activated before its command ran');
      assert.ok(
        processesOf(vscode.marker).length >= 3,
        'code-server, its extension host and Chromium carry the marker',
      );

      await runCommand(vscode.page, 'Foreman: Show Runs');
      const text = await waitForText(outputPanel(vscode.page), new RegExp(`${demo.runId}\\s+completed`));
      assert.match(text, new RegExp(`Runs of ${demo.repo}:`));
      assert.match(text, /\b(\d+)\/\1 merged\b/, 'every task of the run is merged');
      await screenshot(vscode.page, 'show-runs');

      assert.equal(ACTIVATION.exec(vscode.extensionHostLog())?.[1], 'onCommand:foreman.runs.show');
    } finally {
      await vscode.close();
    }
    assert.deepEqual(processesOf(vscode.marker), [], 'close() leaves no process behind');
  },
);

/** A webview view in the Explorer whose button sends a message that the extension shows. */
const FIXTURE_MANIFEST = {
  name: 'webview-fixture',
  publisher: 'foreman-e2e',
  version: '0.0.1',
  license: 'MIT',
  engines: { vscode: '^1.100.0' },
  main: './extension.js',
  contributes: { views: { explorer: [{ type: 'webview', id: 'fixture.view', name: 'Fixture View' }] } },
};

const FIXTURE_EXTENSION = `
const vscode = require('vscode');
exports.activate = (context) => {
  context.subscriptions.push(vscode.window.registerWebviewViewProvider('fixture.view', {
    resolveWebviewView(view) {
      view.webview.options = { enableScripts: true };
      view.webview.onDidReceiveMessage((m) => vscode.window.showInformationMessage('fixture got ' + m.text));
      view.webview.html = '<h1 id="hello">Hello from the fixture</h1><button id="send">Send</button>' +
        '<script>const api = acquireVsCodeApi();' +
        'document.getElementById("send").onclick = () => api.postMessage({ text: "ping" });</script>';
    },
  }));
};
`;

/** Packs the fixture extension with the project's vsce; returns the VSIX's path. */
function packFixture(dir: string): string {
  writeFileSync(join(dir, 'package.json'), JSON.stringify(FIXTURE_MANIFEST));
  writeFileSync(join(dir, 'extension.js'), FIXTURE_EXTENSION);
  writeFileSync(join(dir, 'README.md'), "# Webview fixture\n\nA webview view for Foreman's end-to-end harness.\n");
  const vsix = join(dir, 'fixture.vsix');
  const vsce = join(PROJECT_ROOT, 'node_modules/.bin/vsce');
  execFileSync(vsce, ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', vsix], {
    cwd: dir,
    stdio: 'ignore',
  });
  return vsix;
}

test(
  "webviewFrame reaches a webview view's content, and its messages reach the extension",
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foreman-e2e-fixture-'));
    const workspace = join(dir, 'workspace');
    execFileSync('git', ['init', '-q', workspace]);
    writeFileSync(join(workspace, 'notes.txt'), 'a workspace for the fixture\n');
    const vscode = await startVSCode({ workspace, vsix: packFixture(dir) });
    try {
      await vscode.page.locator('.pane-header', { hasText: 'Fixture View' }).click(); // the Explorer shows it collapsed
      const frame = await webviewFrame(vscode.page, 'fixture.view', {
        extensionId: 'foreman-e2e.webview-fixture',
        title: 'Fixture View',
      });
      assert.equal(await frame.locator('#hello').innerText(), 'Hello from the fixture');
      await frame.locator('#send').click();
      await vscode.page.locator('.notification-toast', { hasText: 'fixture got ping' }).waitFor({ timeout: 15_000 });
      await screenshot(vscode.page, 'webview-fixture');
    } finally {
      await vscode.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
