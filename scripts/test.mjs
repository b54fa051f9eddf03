#!/usr/bin/env node
// Runs every test file found under test/ (by folder, never by a hand-kept list) with Node's own
// test runner, TypeScript loaded through tsx. Usage: node scripts/test.mjs [folder-or-file ...]
//
// The whole suite (no arguments) starts with `npm run lint`: formatting, lint and types, so a tree
// that is not clean fails here as it would in CI. Before any tier, scripts/sandbox-setup.sh
// installs bubblewrap where it is missing (a no-op once it is there), since agent commands in the
// integration and e2e tiers run in the sandbox. Then scripts/e2e-setup.sh (code-server, Chromium;
// a second on a machine that has them) and `npm run package` (the VSIX the e2e tests install), so
// that the browser tests of the webview find Chromium too. Tiers: test/unit and test/integration
// run together; test/e2e runs after them, one file at a time, against a real VS Code.
// FOREMAN_SKIP_E2E=1 skips the e2e tier and its set-up.
import { readdirSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import { spawnSync } from 'node:child_process';

const E2E_DIR = normalize('test/e2e');

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  } else if (path.endsWith('.test.ts')) {
    out.push(normalize(path));
  }
  return out;
}

function runTests(files, concurrency, env = process.env) {
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files];
  return spawnSync(process.execPath, args, { stdio: 'inherit', env }).status ?? 1;
}

/** Installs what the e2e tier needs and packs the VSIX; returns the code-server binary, or null. */
function prepareE2e() {
  console.log('\ne2e: setting up code-server and Chromium (scripts/e2e-setup.sh)');
  const setup = spawnSync('bash', ['scripts/e2e-setup.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (setup.status !== 0) {
    console.error(`e2e: scripts/e2e-setup.sh exited with ${setup.status}`);
    return null;
  }
  console.log('e2e: packaging the extension (npm run package)');
  const pack = spawnSync('npm', ['run', 'package', '--silent'], { stdio: 'inherit' });
  if (pack.status !== 0) {
    console.error(`e2e: npm run package exited with ${pack.status}`);
    return null;
  }
  return setup.stdout.trim().split('\n').at(-1);
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test/unit', 'test/integration', 'test/e2e']).flatMap((r) => collect(r, []));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const isE2e = (f) => f === E2E_DIR || f.startsWith(E2E_DIR + sep);
const e2eFiles = files.filter(isE2e);
const otherFiles = files.filter((f) => !isE2e(f));
const skipE2e = process.env.FOREMAN_SKIP_E2E === '1' && e2eFiles.length > 0;
if (skipE2e) console.log(`e2e tier skipped (FOREMAN_SKIP_E2E=1): ${e2eFiles.length} file(s) under ${E2E_DIR} not run`);

if (roots.length === 0) {
  console.log('lint: formatting, lint rules and types (npm run lint)');
  const lint = spawnSync('npm', ['run', 'lint', '--silent'], { stdio: 'inherit' });
  if (lint.status !== 0) {
    console.error(`lint: npm run lint exited with ${lint.status}; \`npm run format\` fixes formatting`);
    process.exit(1);
  }
}
const sandbox = spawnSync('bash', ['scripts/sandbox-setup.sh'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (sandbox.status !== 0) {
  console.error(`sandbox: scripts/sandbox-setup.sh exited with ${sandbox.status}; the sandbox tests need bubblewrap`);
  process.exit(1);
}
const codeServer = e2eFiles.length && !skipE2e ? prepareE2e() : null;
let status = otherFiles.length ? runTests(otherFiles, 2) : 0;
if (e2eFiles.length && !skipE2e) {
  const env = { ...process.env, FOREMAN_E2E_CODE_SERVER: codeServer ?? '' };
  status = (codeServer ? runTests(e2eFiles, 1, env) : 1) || status;
}
process.exit(status);
