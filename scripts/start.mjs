#!/usr/bin/env node
// `npm start`: Foreman's first run. Packs the extension (`npm run package`, whose
// vscode:prepublish step is the production build), copies the sample repository samples/demo-shop
// into a temporary folder as a fresh git repository, and opens VS Code on it with the extension:
//
// - the desktop `code` when it is on PATH: a new window with this checkout as the extension under
//   development, so the window shows exactly this build whatever Foreman the editor has installed,
//   and the developer's own extensions folder is left alone;
// - otherwise code-server (installed by scripts/e2e-setup.sh): the VSIX in an extensions folder of
//   its own, quiet settings, no password, on 127.0.0.1 (FOREMAN_PORT, or a free port), opened in a
//   browser when there is a display to open one on. It runs until Ctrl-C, then ends everything it
//   started; the sample repository stays for a look afterwards.
//
// code-server is set up before anything is built or copied. When it cannot be (scripts/e2e-setup.sh
// fails: wrong Node, no apt or sudo, no network), or the editor does not open, the script says why
// and what it needs in a few sentences and leaves no temporary folder behind.
//
// FOREMAN_EDITOR=code-server skips the desktop editor. When FOREMAN_BASE_URL and FOREMAN_MODEL are
// set, code-server's settings name that backend; otherwise the panel offers the demo backend.
// The command-line demo of earlier versions is `npm run demo` (scripts/demo.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** What the developer does once the editor is open. */
const NEXT_STEPS = [
  'Open the Foreman view in the activity bar (its icon is on the left).',
  "With no backend configured, choose 'Try the demo backend': a scripted server",
  'plays the model, so a whole run works without a GPU. Write a spec (or paste',
  'samples/demo-spec.txt), then Plan, review the tasks, and Run.',
];

/** Settings of the code-server profile: no welcome page, no tips, nothing that calls home (shared with the e2e tier). */
const CODE_SERVER_SETTINGS = JSON.parse(readFileSync(join(root, 'scripts', 'code-server-settings.json'), 'utf8'));

function log(message) {
  console.log(`start: ${message}`);
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  return r;
}

function banner(lines) {
  const width = Math.max(...lines.map((l) => l.length));
  const bar = '='.repeat(width + 4);
  console.log(`\n${bar}\n${lines.map((l) => `| ${l.padEnd(width)} |`).join('\n')}\n${bar}\n`);
}

/** The VSIX `npm run package` writes; a stale one is removed first so a failed pack cannot hide. */
function packageExtension() {
  const vsix = join(root, `${manifest.name}-${manifest.version}.vsix`);
  rmSync(vsix, { force: true });
  log('building and packing the extension (npm run package) …');
  sh('npm', ['run', 'package', '--silent'], { cwd: root });
  if (!existsSync(vsix)) throw new Error(`npm run package wrote no ${vsix}`);
  return vsix;
}

/** samples/demo-shop copied to `work`, made a git repository on main with one commit. */
function prepareSample(work) {
  const repo = join(work, 'demo-shop');
  cpSync(join(root, 'samples/demo-shop'), repo, { recursive: true });
  const git = (...args) =>
    sh('git', ['-c', 'user.name=Demo Developer', '-c', 'user.email=dev@example.com', ...args], {
      cwd: repo,
      stdio: 'ignore',
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'The shop before Foreman');
  return repo;
}

/** The first `name` on PATH that is a file, or null. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The environment for code-server: no IPC hooks of a VS Code this may be running inside. */
function editorEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE') env[k] = v;
  }
  return env;
}

function openInDesktop(code, repo) {
  log(`opening the desktop VS Code (${code}) with this checkout as the extension under development`);
  // The developer's own environment: `code` may be a remote CLI that needs its VSCODE_* hooks.
  sh(code, ['--new-window', `--extensionDevelopmentPath=${root}`, repo]);
  banner([
    'VS Code opens the sample repository:',
    `  ${repo}`,
    '',
    ...NEXT_STEPS,
    '',
    'Trust the folder when VS Code asks: Foreman does not run agents in restricted mode.',
  ]);
}

/** What `npm start` needs, in words, for when code-server cannot be set up. */
const NEEDS =
  "npm start needs VS Code: the desktop editor (`code` on your PATH), or code-server in the browser, which scripts/e2e-setup.sh installs once on Debian or Ubuntu (x86_64, Node 20, root or sudo for apt-get, the npm registry and Debian's archive). Install VS Code and run npm start again, or run `bash scripts/e2e-setup.sh` to see the whole setup's output.";

/** A failure already said in sentences: main prints its message as it is. */
class StartError extends Error {}

/**
 * The code-server binary: FOREMAN_E2E_CODE_SERVER, else what scripts/e2e-setup.sh installs and
 * prints. The setup's own progress lines ("e2e-setup: …") are shown as they come; the rest of its
 * output (npm's, apt's) is not, so a failure reads as its reason and what to do, not a screen of errors.
 */
async function codeServerBinary() {
  if (process.env.FOREMAN_E2E_CODE_SERVER) return process.env.FOREMAN_E2E_CODE_SERVER;
  log('no desktop `code` on PATH: using code-server (scripts/e2e-setup.sh installs it once, a few minutes)');
  const child = spawn('bash', [join(root, 'scripts/e2e-setup.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  let lastLine = '';
  let lastOwn = '';
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (line.trim() === '') return;
    lastLine = line;
    if (!line.startsWith('e2e-setup: ')) return;
    lastOwn = line.slice('e2e-setup: '.length);
    console.error(`  ${line}`);
  });
  const [code, signal] = await new Promise((done) => child.once('close', (c, s) => done([c, s])));
  if (code === 0) return stdout.trim().split('\n').at(-1);
  const reason =
    lastOwn && lastLine.endsWith(lastOwn)
      ? lastOwn.replace(/\.?$/, '.')
      : `scripts/e2e-setup.sh stopped (${code ?? signal})${lastOwn ? ` after: ${lastOwn}` : ''}.`;
  throw new StartError(`code-server could not be set up: ${reason}\n${NEEDS}`);
}

/** User settings of the code-server profile, with the environment's backend when one is named. */
function writeSettings(userDataDir, work) {
  const settings = { ...CODE_SERVER_SETTINGS, 'foreman.worktrees.location': join(work, 'worktrees') };
  const { FOREMAN_BASE_URL: baseUrl, FOREMAN_MODEL: model } = process.env;
  if (baseUrl && model) settings['foreman.backends'] = [{ name: 'from-environment', baseUrl, models: [model] }];
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

/** Resolves with code-server's URL once it listens; rejects if it exits or stays silent for 60 s. */
function listening(child) {
  const seen = [];
  child.stderr.on('data', (d) => seen.push(d.toString()));
  return new Promise((ok, fail) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      seen.push(line);
      const m = /HTTP server listening on (http:\/\/\S+?)\/?$/.exec(line);
      if (m) ok(m[1]);
    });
    // Its last words say why; the rest would be a screen of logs.
    const why = (what) => `${what}${seen.length ? ` (its last output: ${seen.slice(-3).join(' / ').trim()})` : ''}.`;
    child.once('exit', (code) => fail(new StartError(`${why(`code-server exited with ${code}`)}\n${NEEDS}`)));
    setTimeout(
      () => fail(new StartError(`${why('code-server did not listen within 60 s')}\n${NEEDS}`)),
      60_000,
    ).unref();
  });
}

/** Starts code-server on the sample with the VSIX installed in its own profile under `work`. */
async function startCodeServer(bin, vsix, repo, work) {
  const userDataDir = join(work, 'user-data');
  const extensionsDir = join(work, 'extensions');
  writeSettings(userDataDir, work);
  const dirs = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  log("installing the VSIX into code-server's own extensions folder");
  sh(bin, ['--install-extension', vsix, ...dirs], { env: editorEnv(), stdio: ['ignore', 'ignore', 'inherit'] });
  const port = process.env.FOREMAN_PORT ?? '0';
  const args = ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check'];
  // Its own config file: code-server would otherwise write one (with a password) into ~/.config.
  args.push('--disable-workspace-trust', '--config', join(work, 'code-server.yaml'), ...dirs, repo);
  const child = spawn(bin, args, { env: editorEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const base = await listening(child).catch(async (e) => {
    await endGroup(child);
    throw e;
  });
  return { child, url: `${base}/?folder=${encodeURIComponent(repo)}` };
}

/**
 * Opens `url` in a browser when there is a display: xdg-open (or macOS's open), else Debian's
 * Chromium. Returns the Chromium child this script owns, or null.
 */
function openBrowser(url, work) {
  const display = process.platform === 'darwin' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY;
  if (!display) return null;
  const opener = process.platform === 'darwin' ? onPath('open') : onPath('xdg-open');
  if (opener) {
    spawn(opener, [url], { stdio: 'ignore', detached: true }).unref();
    return null;
  }
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!chromium) return null;
  const profile = join(work, 'chromium');
  return spawn(chromium, [`--user-data-dir=${profile}`, '--no-first-run', `--app=${url}`], {
    stdio: 'ignore',
    detached: true,
  });
}

/** Ends a detached child's whole process group: SIGTERM, then SIGKILL after 5 s. */
async function endGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const kill = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  kill('SIGTERM');
  const late = setTimeout(() => kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(late);
}

/** Runs code-server until Ctrl-C (or until it exits), then ends what was started and tidies up. */
async function serveUntilInterrupted(bin, vsix, repo, work, onOpen) {
  const { child, url } = await startCodeServer(bin, vsix, repo, work);
  onOpen();
  const browser = openBrowser(url, work);
  const port = new URL(url).port;
  const opened =
    browser !== null || process.platform === 'darwin' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY;
  banner([
    'Foreman is open in VS Code (code-server) at',
    `  ${url}`,
    opened ? 'A browser window is opening on it.' : 'Open that address in a browser on this machine.',
    `(from another machine over SSH: ssh -L ${port}:127.0.0.1:${port} <this host>).`,
    '',
    ...NEXT_STEPS,
    '',
    `The sample repository: ${repo}`,
    'Press Ctrl-C here to stop VS Code.',
  ]);
  const reason = await new Promise((done) => {
    process.once('SIGINT', () => done('interrupted'));
    process.once('SIGTERM', () => done('terminated'));
    child.once('exit', (code) => done(`code-server exited (${code})`));
  });
  log(`${reason}: stopping …`);
  await Promise.all([endGroup(child), endGroup(browser)]);
  for (const name of ['user-data', 'extensions', 'chromium', 'code-server.yaml'])
    rmSync(join(work, name), { recursive: true, force: true });
  log(`stopped. The sample repository stays in ${repo}`);
}

async function main() {
  const code = process.env.FOREMAN_EDITOR === 'code-server' ? null : onPath('code');
  // code-server first: when it cannot be set up, nothing has been built or copied yet.
  const bin = code ? null : await codeServerBinary();
  const vsix = packageExtension();
  const work = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-start-')));
  let opened = false;
  try {
    const repo = prepareSample(work);
    log(`sample repository: ${repo}`);
    if (code) openInDesktop(code, repo);
    else await serveUntilInterrupted(bin, vsix, repo, work, () => (opened = true));
    opened = true;
  } finally {
    // A start that never reached the editor leaves no sample behind.
    if (!opened) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`start: ${e.message}`);
  process.exit(1);
});
