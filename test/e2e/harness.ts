/**
 * End-to-end harness: Foreman's packaged extension in a REAL VS Code. code-server (VS Code built
 * for the browser, with the desktop's Node extension host) serves the workbench on 127.0.0.1 and
 * Debian's Chromium, driven by playwright-core, opens it. scripts/e2e-setup.sh installs both.
 *
 *   const vsix = ensureVsix();                       // `npm run package` unless the VSIX is fresh
 *   const vscode = await startVSCode({ workspace: repo, vsix });
 *   await runCommand(vscode.page, 'Foreman: Show Runs');
 *   await waitForText(outputPanel(vscode.page), /completed/);
 *   await screenshot(vscode.page, 'show-runs');   // test-results/e2e/show-runs.png
 *   await vscode.close();                            // code-server, Chromium and their children
 *
 * Every process a session starts carries FOREMAN_E2E_SESSION=<id> in its environment, so close()
 * can find and end any that outlived their parent, and a test can prove none is left.
 * Environment: FOREMAN_E2E_CODE_SERVER (a code-server binary; else the setup script is run),
 * FOREMAN_E2E_CHROMIUM (default /usr/bin/chromium), FOREMAN_E2E_KEEP=1 (keep the temp folders).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import type { BrowserContext, FrameLocator, Locator, Page } from 'playwright-core';

/** Foreman's own checkout. */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');
/** Where screenshots go. */
export const RESULTS_DIR = join(PROJECT_ROOT, 'test-results', 'e2e');

const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  publisher: string;
  version: string;
  contributes?: { views?: Record<string, { id: string; name: string }[]> };
};
/** The extension's id as VS Code knows it. */
export const EXTENSION_ID = `${manifest.publisher}.${manifest.name}`;

/** Chromium's flags: no sandbox (root), no GPU, and no calls home, which this network refuses. */
const CHROMIUM_ARGS = [
  ...['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  ...['--disable-sync', '--disable-quic', '--no-first-run', '--disable-breakpad', '--disable-crash-reporter'],
];

/** User settings that keep the workbench quiet and offline (shared with `npm start`); a session's own settings win. */
const BASE_SETTINGS = JSON.parse(
  readFileSync(join(PROJECT_ROOT, 'scripts', 'code-server-settings.json'), 'utf8'),
) as Record<string, unknown>;

let codeServerPath: string | undefined;

/** The code-server binary: FOREMAN_E2E_CODE_SERVER, else what scripts/e2e-setup.sh prints last. */
export function codeServerBinary(): string {
  codeServerPath ??= process.env.FOREMAN_E2E_CODE_SERVER || runSetupScript();
  if (!existsSync(codeServerPath)) throw new Error(`no code-server at ${codeServerPath}`);
  return codeServerPath;
}

function runSetupScript(): string {
  const r = spawnSync('bash', [join(PROJECT_ROOT, 'scripts/e2e-setup.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`scripts/e2e-setup.sh exited with ${r.status}`);
  return r.stdout.trim().split('\n').at(-1) ?? '';
}

/** The newest modification time under `path` (a file or a folder, walked whole). */
function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

/**
 * The packaged extension, `foreman-<version>.vsix` in the checkout. Runs `npm run package` (a
 * production build, then vsce) unless the VSIX is newer than everything it is made from.
 */
export function ensureVsix(): string {
  const vsix = join(PROJECT_ROOT, `${manifest.name}-${manifest.version}.vsix`);
  const inputs = [
    'src',
    'media',
    'samples',
    'package.json',
    'esbuild.js',
    '.vscodeignore',
    'README.md',
    'CHANGELOG.md',
  ];
  const newestInput = Math.max(...inputs.map((p) => newestMtime(join(PROJECT_ROOT, p))));
  if (existsSync(vsix) && statSync(vsix).mtimeMs > newestInput) return vsix;
  const r = spawnSync('npm', ['run', 'package', '--silent'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0 || !existsSync(vsix)) throw new Error(`npm run package exited with ${r.status}`);
  return vsix;
}

/** What startVSCode needs. */
export interface VSCodeOptions {
  /** The folder VS Code opens. */
  workspace: string;
  /** The VSIX (or VSIXs) to install; null installs nothing. Default: ensureVsix(). */
  vsix?: string | string[] | null;
  /** Extensions folder; default: a new one in the session's temp folder. */
  extensionsDir?: string;
  /** User settings, over BASE_SETTINGS. */
  settings?: Record<string, unknown>;
  /** Whether the workspace is trusted (default true); false opens it in restricted mode. */
  trust?: boolean;
  /** Extra environment for code-server and so for the extension host. */
  env?: Record<string, string>;
}

/** A running VS Code with a browser on it. close() is safe to call twice. */
export interface VSCodeSession {
  page: Page;
  url: string;
  /** The session's temp folder: user data, extensions, browser profile. */
  dir: string;
  userDataDir: string;
  extensionsDir: string;
  /** The marker in every one of the session's processes' environment. */
  marker: string;
  /** Text of the extension host's log so far ('' before it exists). */
  extensionHostLog(): string;
  close(): Promise<void>;
}

/** The environment of the session's processes: no inherited VS Code IPC, XDG folders of its own. */
function sessionEnv(dir: string, marker: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('VSCODE_') || k.startsWith('FOREMAN_') || k === 'ELECTRON_RUN_AS_NODE')
      continue;
    env[k] = v;
  }
  for (const x of ['config', 'data', 'cache']) mkdirSync(join(dir, 'xdg', x), { recursive: true });
  const xdg = {
    XDG_CONFIG_HOME: join(dir, 'xdg/config'),
    XDG_DATA_HOME: join(dir, 'xdg/data'),
    XDG_CACHE_HOME: join(dir, 'xdg/cache'),
  };
  return { ...env, ...xdg, FOREMAN_E2E_SESSION: marker, ...extra };
}

/** Starts code-server on a free loopback port; resolves with its URL once it listens. */
async function launchCodeServer(child: ChildProcess): Promise<string> {
  const seen: string[] = [];
  child.stderr!.on('data', (d: Buffer) => seen.push(d.toString()));
  return new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      seen.push(line);
      const m = /HTTP server listening on (http:\/\/\S+?)\/?$/.exec(line);
      if (m) ok(m[1]);
    });
    child.once('exit', (code) => fail(new Error(`code-server exited with ${code}:\n${seen.join('\n')}`)));
    setTimeout(() => fail(new Error(`code-server did not listen within 30 s:\n${seen.join('\n')}`)), 30_000).unref();
  });
}

/**
 * Starts code-server on `workspace` with the VSIX installed and opens it in Chromium; resolves
 * once the workbench shows the workspace's files. On failure everything started is ended.
 */
export async function startVSCode(opts: VSCodeOptions): Promise<VSCodeSession> {
  const session = new Session(mkdtempSync(join(tmpdir(), 'foreman-e2e-')), opts.extensionsDir);
  try {
    await session.start(opts);
    return session;
  } catch (e) {
    await session.close();
    throw e;
  }
}

class Session implements VSCodeSession {
  page!: Page;
  url = '';
  readonly marker = randomUUID();
  readonly userDataDir: string;
  readonly extensionsDir: string;
  private server: ChildProcess | undefined;
  private context: BrowserContext | undefined;
  private closed = false;

  constructor(
    readonly dir: string,
    extensionsDir?: string,
  ) {
    this.userDataDir = join(dir, 'user-data');
    this.extensionsDir = extensionsDir ?? join(dir, 'extensions');
  }

  async start(opts: VSCodeOptions): Promise<void> {
    const env = sessionEnv(this.dir, this.marker, opts.env);
    mkdirSync(join(this.userDataDir, 'User'), { recursive: true });
    // Trust is on by default; say so where the session asks for an untrusted folder, so a
    // changed default cannot make the folder trusted behind the test's back.
    const trustSetting = opts.trust === false ? { 'security.workspace.trust.enabled': true } : {};
    const settings = { ...BASE_SETTINGS, ...trustSetting, ...opts.settings };
    writeFileSync(join(this.userDataDir, 'User', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
    const dirs = ['--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
    for (const vsix of [opts.vsix === undefined ? ensureVsix() : (opts.vsix ?? [])].flat()) {
      const r = spawnSync(codeServerBinary(), ['--install-extension', vsix, ...dirs], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`installing ${vsix} failed (${r.status}):\n${r.stdout}${r.stderr}`);
    }
    const args = ['--auth', 'none', '--bind-addr', '127.0.0.1:0', '--disable-telemetry', '--disable-update-check'];
    args.push(...dirs, '--config', join(this.dir, 'code-server.yaml'));
    if (opts.trust !== false) args.push('--disable-workspace-trust');
    this.server = spawn(codeServerBinary(), args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const base = await launchCodeServer(this.server);
    this.context = await chromium.launchPersistentContext(join(this.dir, 'chromium'), {
      executablePath: process.env.FOREMAN_E2E_CHROMIUM || '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      env: { ...env, HOME: this.dir },
      viewport: { width: 1280, height: 800 },
    });
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    this.url = `${base}/?folder=${encodeURIComponent(opts.workspace)}`;
    await this.page.goto(this.url);
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
  }

  extensionHostLog(): string {
    return findFiles(join(this.userDataDir, 'logs'), /exthost\.log$/i)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.context?.close().catch(() => undefined); // a browser that already died is closed
    const server = this.server;
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = once(server, 'exit');
      killGroup(server, 'SIGTERM');
      const late = setTimeout(() => killGroup(server, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(late);
    }
    await killLeftovers(this.marker);
    if (process.env.FOREMAN_E2E_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is already gone.
  }
}

/** Every file under `dir` whose name matches, depth first. */
function findFiles(dir: string, name: RegExp): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return findFiles(p, name);
    return name.test(e.name) ? [p] : [];
  });
}

/** The pids of live processes whose environment carries the session's marker. */
export function processesOf(marker: string): number[] {
  const needle = `FOREMAN_E2E_SESSION=${marker}\0`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'latin1');
      const state = /^State:\s+(\w)/m.exec(readFileSync(`/proc/${name}/status`, 'latin1'))?.[1];
      if (state !== 'Z' && environ.includes(needle)) pids.push(Number(name));
    } catch {
      // The process ended while being read.
    }
  }
  return pids;
}

/** SIGKILLs the processes that outlived their parents, and waits (up to 5 s) until none is left. */
async function killLeftovers(marker: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const pids = processesOf(marker);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A temporary copy of samples/demo-shop, with one whole Foreman run in its journal. */
export interface DemoRun {
  /** The repository (a real path), on branch main. */
  repo: string;
  runId: string;
  /** What `foreman status --json` says of the run. */
  status: { runId: string; status: string };
  cleanup(): void;
}

/**
 * Makes the demo's repository and runs `foreman run` on it against the scripted test server
 * (`dist/scripted.js --scenario demo`), as scripts/demo.mjs does. Needs dist/ built.
 */
export async function createDemoRun(): Promise<DemoRun> {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-e2e-repo-')));
  const repo = join(tmp, 'demo-shop');
  cpSync(join(PROJECT_ROOT, 'samples/demo-shop'), repo, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=E2E Developer', '-c', 'user.email=e2e@example.com', ...args], {
      cwd: repo,
      stdio: 'ignore',
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'The shop before Foreman');
  const server = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/scripted.js'), '--scenario', 'demo'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: server.stdout }), 'line')) as [string];
    const url = /^listening (\S+)/.exec(line)?.[1];
    if (!url) throw new Error(`the test server said: ${line}`);
    const env = {
      ...process.env,
      FOREMAN_BASE_URL: url,
      FOREMAN_MODEL: 'scripted-demo',
      FOREMAN_WORKTREE_ROOT: join(tmp, 'worktrees'),
    };
    const spec = readFileSync(join(PROJECT_ROOT, 'samples/demo-spec.txt'), 'utf8').trim();
    const cli = (...args: string[]) => foremanCli([...args, '--cwd', repo], env);
    const run = await cli('run', spec, '--concurrency', '2', '--price', '0.15,0.015,0.60');
    if (run.code !== 0) throw new Error(`foreman run exited with ${run.code}:\n${run.stdout}${run.stderr}`);
    const status = JSON.parse((await cli('status', '--json')).stdout) as DemoRun['status'];
    return { repo, runId: status.runId, status, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
  } finally {
    server.kill('SIGTERM');
  }
}

/** Runs dist/cli.js to its end, without blocking the event loop (the test server lives beside it). */
async function foremanCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/cli.js'), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** Runs a command by its palette title (e.g. 'Foreman: Show Runs') through F1. */
export async function runCommand(page: Page, title: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await page.locator('.monaco-workbench').press('F1');
  const input = widget.locator('input.input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  const row = widget.locator('.monaco-list-row').filter({
    has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }),
  });
  await row.first().click({ timeout: 15_000 });
  await widget.waitFor({ state: 'hidden' });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Saves a full-window screenshot to test-results/e2e/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Which extension's webview, and the view's name when it is not in Foreman's manifest. */
export interface WebviewQuery {
  extensionId?: string;
  title?: string;
  timeoutMs?: number;
}

/**
 * The content of a webview view, two iframes deep: the workbench's `iframe.webview` for the
 * extension's view, then the `iframe#active-frame` holding the extension's HTML, whose title is
 * the view's name (that is what tells two views of one extension apart). Default: Foreman's views.
 */
export async function webviewFrame(page: Page, viewId: string, query: WebviewQuery = {}): Promise<FrameLocator> {
  const { extensionId = EXTENSION_ID, timeoutMs = 30_000 } = query;
  const views = Object.values(manifest.contributes?.views ?? {}).flat();
  const title = query.title ?? views.find((v) => v.id === viewId)?.name ?? viewId;
  const outer = page.locator(`iframe.webview[src*="extensionId=${extensionId}"][src*="purpose=webviewView"]`);
  const probe = async () => {
    for (let i = 0; i < (await outer.count()); i++) {
      const inner = outer.nth(i).contentFrame().locator('iframe#active-frame');
      if ((await inner.getAttribute('title', { timeout: 500 }).catch(() => null)) === title)
        return inner.contentFrame();
    }
    return null;
  };
  return waitFor(probe, `the webview view ${viewId} ("${title}") of ${extensionId}`, timeoutMs);
}

/** The visible text of the Output panel's editor. */
export function outputPanel(page: Page): Locator {
  return page.locator('.part.panel .output-view .view-lines');
}

/** Polls `probe` until it returns something truthy, and returns that; throws after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until the locator's text (Monaco's non-breaking spaces made plain) matches; returns it. */
export async function waitForText(locator: Locator, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  let text = '';
  const probe = async () => {
    text = (await locator.innerText({ timeout: 1_000 }).catch(() => '')).replace(/\u00a0/g, ' ');
    return pattern.test(text) ? text : '';
  };
  return waitFor(probe, `${pattern}`, timeoutMs).catch((e: Error) => {
    throw new Error(`${e.message}; the text was:\n${text}`);
  });
}
