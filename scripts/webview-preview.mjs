#!/usr/bin/env node
// Renders the Lead panel's webview in a real Chromium, outside VS Code, from sample states.
//
//   node scripts/webview-preview.mjs            screenshots of every fixture in dark, light and
//                                               high-contrast themes into test-results/webview/,
//                                               plus a timing of 100-task board updates
//   node scripts/webview-preview.mjs --serve    serves the preview and prints its URL; open
//                                               /?theme=dark&fixture=board-100 in a browser
//
// The page is the one the extension host serves (same CSP: scripts by nonce only, styles and
// fonts from the origin only, no inline styles), with src/webview bundled fresh by esbuild,
// media/panel.css and the codicons. A fake `acquireVsCodeApi` records what the panel posts
// (window.__posted) and keeps its UI state in localStorage, so a reload plays the view being
// hidden and shown. States come from test/fixtures/panel/<name>.json. VS Code sets the theme's
// colours as --vscode-* variables on the html element and a class on body; the harness defines a
// small set of them the same way.
//
// The functions are exported for tests (test/unit/webviewBrowser.test.ts).
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURE_DIR = join(PROJECT_ROOT, 'test/fixtures/panel');
export const RESULTS_DIR = join(PROJECT_ROOT, 'test-results/webview');
export const CHROMIUM = process.env.FOREMAN_E2E_CHROMIUM || '/usr/bin/chromium';

/** A small set of VS Code's theme colours (Dark Modern, Light Modern, High Contrast). */
export const THEMES = {
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      'font-family': 'system-ui, "DejaVu Sans", sans-serif',
      'font-size': '13px',
      'font-weight': 'normal',
      'editor-font-family': '"DejaVu Sans Mono", monospace',
      foreground: '#cccccc',
      descriptionForeground: '#9d9d9d',
      errorForeground: '#f85149',
      focusBorder: '#0078d4',
      'sideBar-background': '#181818',
      'editor-background': '#1f1f1f',
      'widget-border': '#313131',
      'panel-border': '#2b2b2b',
      'button-background': '#0078d4',
      'button-foreground': '#ffffff',
      'button-hoverBackground': '#026ec1',
      'button-border': '#ffffff12',
      'button-secondaryBackground': '#313131',
      'button-secondaryForeground': '#cccccc',
      'button-secondaryHoverBackground': '#3c3c3c',
      'input-background': '#313131',
      'input-foreground': '#cccccc',
      'input-border': '#3c3c3c',
      'input-placeholderForeground': '#989898',
      'dropdown-background': '#313131',
      'dropdown-foreground': '#cccccc',
      'dropdown-border': '#3c3c3c',
      'textLink-foreground': '#4daafc',
      'textLink-activeForeground': '#4daafc',
      'textCodeBlock-background': '#2b2b2b',
      'badge-background': '#616161',
      'badge-foreground': '#f8f8f8',
      'progressBar-background': '#0078d4',
      'charts-blue': '#3794ff',
      'charts-red': '#f14c4c',
      'charts-yellow': '#cca700',
      'charts-green': '#89d185',
      'charts-lines': '#cccccc80',
      'testing-iconPassed': '#73c991',
      'editorWarning-foreground': '#cca700',
      'editorInfo-foreground': '#3794ff',
      'inputValidation-errorBackground': '#5a1d1d',
      'inputValidation-errorBorder': '#be1100',
      'inputValidation-warningBackground': '#352a05',
      'toolbar-hoverBackground': '#5a5d5e50',
      'list-hoverBackground': '#2a2d2e',
    },
  },
  light: {
    bodyClass: 'vscode-light',
    vars: {
      'font-family': 'system-ui, "DejaVu Sans", sans-serif',
      'font-size': '13px',
      'font-weight': 'normal',
      'editor-font-family': '"DejaVu Sans Mono", monospace',
      foreground: '#3b3b3b',
      descriptionForeground: '#717171',
      errorForeground: '#e51400',
      focusBorder: '#005fb8',
      'sideBar-background': '#f8f8f8',
      'editor-background': '#ffffff',
      'widget-border': '#e5e5e5',
      'panel-border': '#e5e5e5',
      'button-background': '#005fb8',
      'button-foreground': '#ffffff',
      'button-hoverBackground': '#0258a8',
      'button-border': '#0000001a',
      'button-secondaryBackground': '#e5e5e5',
      'button-secondaryForeground': '#3b3b3b',
      'button-secondaryHoverBackground': '#cccccc',
      'input-background': '#ffffff',
      'input-foreground': '#3b3b3b',
      'input-border': '#cecece',
      'input-placeholderForeground': '#767676',
      'dropdown-background': '#ffffff',
      'dropdown-foreground': '#3b3b3b',
      'dropdown-border': '#cecece',
      'textLink-foreground': '#005fb8',
      'textLink-activeForeground': '#005fb8',
      'textCodeBlock-background': '#f0f0f0',
      'badge-background': '#cccccc',
      'badge-foreground': '#3b3b3b',
      'progressBar-background': '#005fb8',
      'charts-blue': '#1a85ff',
      'charts-red': '#e51400',
      'charts-yellow': '#bf8803',
      'charts-green': '#388a34',
      'charts-lines': '#61616180',
      'testing-iconPassed': '#388a34',
      'editorWarning-foreground': '#bf8803',
      'editorInfo-foreground': '#1a85ff',
      'inputValidation-errorBackground': '#f2dede',
      'inputValidation-errorBorder': '#be1100',
      'inputValidation-warningBackground': '#f6f5d2',
      'toolbar-hoverBackground': '#b8b8b850',
      'list-hoverBackground': '#f2f2f2',
    },
  },
  'high-contrast': {
    bodyClass: 'vscode-high-contrast',
    vars: {
      'font-family': 'system-ui, "DejaVu Sans", sans-serif',
      'font-size': '13px',
      'font-weight': 'normal',
      'editor-font-family': '"DejaVu Sans Mono", monospace',
      foreground: '#ffffff',
      descriptionForeground: '#ffffffb3',
      errorForeground: '#f48771',
      focusBorder: '#f38518',
      contrastBorder: '#6fc3df',
      contrastActiveBorder: '#f38518',
      'sideBar-background': '#000000',
      'editor-background': '#000000',
      'widget-border': '#6fc3df',
      'panel-border': '#6fc3df',
      'button-background': '#000000',
      'button-foreground': '#ffffff',
      'button-border': '#6fc3df',
      'button-secondaryBackground': '#000000',
      'button-secondaryForeground': '#ffffff',
      'input-background': '#000000',
      'input-foreground': '#ffffff',
      'input-border': '#6fc3df',
      'input-placeholderForeground': '#ffffffb3',
      'dropdown-background': '#000000',
      'dropdown-foreground': '#ffffff',
      'dropdown-border': '#6fc3df',
      'textLink-foreground': '#21a6ff',
      'textLink-activeForeground': '#21a6ff',
      'textCodeBlock-background': '#000000',
      'badge-background': '#000000',
      'badge-foreground': '#ffffff',
      'progressBar-background': '#6fc3df',
      'charts-blue': '#3794ff',
      'charts-red': '#f14c4c',
      'charts-yellow': '#ffd700',
      'charts-green': '#89d185',
      'charts-lines': '#ffffff80',
      'testing-iconPassed': '#73c991',
      'editorWarning-foreground': '#ffd700',
      'editorInfo-foreground': '#3794ff',
    },
  },
};

function themeCss() {
  return Object.values(THEMES)
    .map(
      (t) =>
        `:root:has(> body.${t.bodyClass}) {\n${Object.entries(t.vars)
          .map(([k, v]) => `  --vscode-${k}: ${v};`)
          .join('\n')}\n  background: ${t.vars['sideBar-background']};\n}`,
    )
    .join('\n');
}

/** The page the host serves, with the harness's theme and fake webview API added. */
function page(theme, nonce) {
  const t = THEMES[theme] ?? THEMES.dark;
  const csp = `default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self' data:; script-src 'nonce-${nonce}';`;
  const fakeApi = `
window.__posted = []; window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
let acquired = false;
window.acquireVsCodeApi = () => {
  if (acquired) throw new Error('acquireVsCodeApi may be called once');
  acquired = true;
  return {
    postMessage: (m) => { window.__posted.push(JSON.parse(JSON.stringify(m))); },
    getState: () => JSON.parse(localStorage.getItem('foreman-ui') || 'null'),
    setState: (s) => localStorage.setItem('foreman-ui', JSON.stringify(s)),
  };
};`;
  return `<!DOCTYPE html><html lang="en"><head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="/harness/theme.css" rel="stylesheet">
<link href="/codicons/codicon.css" rel="stylesheet" id="vscode-codicon-stylesheet">
<link href="/media/panel.css" rel="stylesheet">
<script nonce="${nonce}">${fakeApi}</script>
<title>Foreman Lead</title></head>
<body class="${t.bodyClass}" data-vscode-theme-kind="${t.bodyClass}"><div id="app"></div><script nonce="${nonce}" src="/webview.js"></script></body></html>`;
}

/** src/webview bundled as esbuild.js bundles it, in memory (never a stale dist/). */
export async function buildWebviewBundle() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(PROJECT_ROOT, 'src/webview/main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

const TYPES = { '.css': 'text/css', '.ttf': 'font/ttf', '.js': 'text/javascript', '.json': 'application/json' };

/** Serves the preview on 127.0.0.1; resolves to its URL and a close function. */
export async function startPreviewServer() {
  const bundle = await buildWebviewBundle();
  const codicons = join(PROJECT_ROOT, 'node_modules/@vscode/codicons/dist');
  const files = {
    '/media/panel.css': join(PROJECT_ROOT, 'media/panel.css'),
    '/codicons/codicon.css': join(codicons, 'codicon.css'),
    '/codicons/codicon.ttf': join(codicons, 'codicon.ttf'),
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status, type, body) =>
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    if (url.pathname === '/')
      return send(200, 'text/html', page(url.searchParams.get('theme') ?? 'dark', randomBytes(16).toString('base64')));
    if (url.pathname === '/webview.js') return send(200, TYPES['.js'], bundle);
    if (url.pathname === '/favicon.ico') return send(204, 'image/x-icon', '');
    if (url.pathname === '/harness/theme.css') return send(200, TYPES['.css'], themeCss());
    if (url.pathname.startsWith('/fixtures/')) {
      const name = url.pathname.slice('/fixtures/'.length).replace(/[^a-z0-9-]/g, '');
      const file = join(FIXTURE_DIR, `${name}.json`);
      return existsSync(file)
        ? send(200, TYPES['.json'], readFileSync(file))
        : send(404, 'text/plain', 'no such fixture');
    }
    const file = files[url.pathname];
    if (!file) return send(404, 'text/plain', 'not found');
    return send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

/** Debian's Chromium through playwright-core. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run bash scripts/e2e-setup.sh`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
}

/** A fixture's PanelState (test/fixtures/panel/<name>.json). */
export function loadFixture(name) {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8'));
}

/** Every fixture's name. */
export function fixtureNames() {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/**
 * Opens the panel in a new page of `browser` (a sidebar-sized viewport) and waits until it has
 * posted panel/ready. Console errors and page errors are collected in `page.problems`.
 */
export async function openPanel(browser, serverUrl, { theme = 'dark', width = 380, height = 900, context } = {}) {
  const ctx = context ?? (await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 }));
  const p = await ctx.newPage();
  p.problems = [];
  p.on('console', (m) => m.type() === 'error' && p.problems.push(`console: ${m.text()}`));
  p.on('pageerror', (e) => p.problems.push(`page: ${e.message}`));
  await p.goto(`${serverUrl}/?theme=${theme}`);
  await p.waitForFunction(() => window.__posted.some((m) => m.request?.type === 'panel/ready'));
  return p;
}

/**
 * Delivers a host message the way VS Code does (a `message` event on the window) and returns how
 * long the panel took to handle it, layout included, in milliseconds.
 */
export async function sendToPanel(p, message) {
  return p.evaluate((data) => {
    const t0 = performance.now();
    window.dispatchEvent(new MessageEvent('message', { data }));
    void document.body.offsetHeight; // force style and layout into the measurement
    return performance.now() - t0;
  }, message);
}

/** Shows a PanelState. */
export function showState(p, state) {
  return sendToPanel(p, { type: 'state/didChange', state });
}

/** What the panel has posted so far (RequestEnvelopes). */
export function posted(p) {
  return p.evaluate(() => window.__posted);
}

/** Answers request `id` as the host would; a failure's `error` is `{ message, reason }` (protocol RequestError). */
export function answer(p, id, ok = true, error = null) {
  return sendToPanel(p, { type: 'request/didFinish', id, ok, error });
}

/** CSP violations the page reported. */
export function cspViolations(p) {
  return p.evaluate(() => window.__csp);
}

/** A copy of the 100-task board with the working rows moved on by `k` steps (a typical update). */
export function boardUpdate(state, k) {
  const s = structuredClone(state);
  s.now += k * 100;
  for (const t of s.run.tasks) {
    if (t.status !== 'working') continue;
    t.step += k;
    t.usage.output += 40 * k;
    t.usage.input += 900 * k;
    t.tokensPerSecond = 20 + ((k * 7 + t.step) % 30);
    t.elapsedMs += 100 * k;
  }
  s.run.rate = [...s.run.rate.slice(1), 300 + (k % 50)];
  s.run.usage.output += 40 * k;
  return s;
}

async function screenshots(browser, serverUrl) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const problems = [];
  const shots = [];
  for (const theme of Object.keys(THEMES)) {
    for (const name of fixtureNames()) {
      const p = await openPanel(browser, serverUrl, { theme });
      await showState(p, loadFixture(name));
      await scene(p, name);
      await p.evaluate(() => document.fonts.ready);
      const file = join(RESULTS_DIR, `${name}-${theme}.png`);
      const height = await p.evaluate(() => document.documentElement.scrollHeight);
      await p.screenshot({
        path: file,
        fullPage: true,
        clip: height > 2400 ? { x: 0, y: 0, width: 380, height: 2400 } : undefined,
      });
      shots.push(file);
      problems.push(
        ...p.problems.map((x) => `${name}/${theme}: ${x}`),
        ...(await cspViolations(p)).map((x) => `${name}/${theme}: CSP ${x}`),
      );
      await p.context().close();
    }
  }
  return { shots, problems };
}

/** Interactions some screenshots show: a card being edited, a row opened with its comment box. */
async function scene(p, name) {
  if (name === 'plan-valid')
    await p.locator('[data-plan-task="cli-flag"]').getByRole('button', { name: 'Edit' }).click();
  if (name === 'run-finished') {
    const row = p.locator('[data-task-id="tests"]');
    await row.locator('.row-toggle').click();
    await row.getByRole('button', { name: 'Request changes' }).click();
    await row.getByLabel('Comments').fill('Keep the fixture files; only the assertions are wrong.');
  }
}

async function timing(browser, serverUrl) {
  const p = await openPanel(browser, serverUrl, { theme: 'dark' });
  const board = loadFixture('board-100');
  const first = await showState(p, board);
  const same = [];
  const updates = [];
  for (let k = 1; k <= 40; k++) updates.push(await showState(p, boardUpdate(board, k)));
  for (let k = 0; k < 20; k++) same.push(await showState(p, boardUpdate(board, 40)));
  const rows = await p.locator('[data-task-id]').count();
  await p.context().close();
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], p90: s[Math.floor(s.length * 0.9)], max: s[s.length - 1] };
  };
  return { rows, first, update: stats(updates), unchanged: stats(same) };
}

async function main() {
  const server = await startPreviewServer();
  if (process.argv.includes('--serve')) {
    console.log(`preview: ${server.url}/?theme=dark  (themes: ${Object.keys(THEMES).join(', ')})`);
    console.log(
      'feed a state from the console: fetch("/fixtures/board-100").then(r => r.json()).then(state => postMessage({ type: "state/didChange", state }, "*"))',
    );
    return;
  }
  const browser = await launchChromium();
  try {
    const { shots, problems } = await screenshots(browser, server.url);
    console.log(`${shots.length} screenshots in ${RESULTS_DIR}`);
    const t = await timing(browser, server.url);
    const f = (n) => `${n.toFixed(1)} ms`;
    console.log(`100-task board (${t.rows} rows incl. integration): first render ${f(t.first)}`);
    console.log(
      `  update (working rows changed): median ${f(t.update.median)}, p90 ${f(t.update.p90)}, max ${f(t.update.max)}`,
    );
    console.log(
      `  update (nothing changed):      median ${f(t.unchanged.median)}, p90 ${f(t.unchanged.p90)}, max ${f(t.unchanged.max)}`,
    );
    if (problems.length) {
      console.error(`problems:\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
