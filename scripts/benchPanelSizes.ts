/**
 * The Lead panel bench, part 4: what Foreman ships. A production build (`node esbuild.js
 * --production`: minified, no source maps), the byte sizes of its bundles, and the VSIX that
 * `npm run package` makes (vsce runs the same production build first). Afterwards the development
 * build is restored (`node esbuild.js`, with source maps), which the tests use.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

/** The files measured, relative to the checkout. */
export const BUNDLES = [
  'dist/extension.js',
  'dist/lead.js',
  'dist/webview.js',
  'dist/cli.js',
  'dist/cl100k_base.js',
] as const;

/** Byte sizes of the production bundles and of the VSIX. */
export interface SizeFigures {
  bundles: Record<(typeof BUNDLES)[number], number>;
  vsix: { path: string; bytes: number };
}

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

/** The VSIX `npm run package` writes: `<name>-<version>.vsix` in the checkout. */
function vsixPath(): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  return join(ROOT, `${manifest.name}-${manifest.version}.vsix`);
}

/**
 * Build for production, measure the bundles, package the VSIX and measure it. `keepWebview`: where
 * to copy the production dist/webview.js (for part 2, which loads what ships).
 */
export function measureSizes(keepWebview: string | null): SizeFigures {
  run(process.execPath, ['esbuild.js', '--production']);
  const bundles = Object.fromEntries(BUNDLES.map((b) => [b, statSync(join(ROOT, b)).size])) as SizeFigures['bundles'];
  if (keepWebview) copyFileSync(join(ROOT, 'dist/webview.js'), keepWebview);
  run('npm', ['run', 'package', '--silent']);
  const path = vsixPath();
  return { bundles, vsix: { path, bytes: statSync(path).size } };
}

/** The development build again (source maps for the tests). */
export function rebuildForDevelopment(): void {
  run(process.execPath, ['esbuild.js']);
}
