/**
 * The shell parser as it ships: bundled by esbuild.js's own options, with the two .wasm files
 * beside the bundle and no node_modules anywhere above it, as in the VSIX. Needs `node esbuild.js`
 * first (it copies the .wasm files into dist/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import type { ShellScript } from '../../src/core/shellSyntax';
import { SHELL_WASM } from '../../src/infra/bashParser';

const REPO = resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script, not a module with types
const { bundles } = require(resolve(REPO, 'esbuild.js')) as { bundles: BuildOptions[] };

const WASM = [SHELL_WASM.runtime.file, SHELL_WASM.grammar.file];

test('the build copies the parser’s WebAssembly into dist/, and the VSIX takes it', () => {
  for (const file of WASM) assert.ok(existsSync(join(REPO, 'dist', file)), `dist/${file} (run node esbuild.js)`);
  const ignore = readFileSync(join(REPO, '.vscodeignore'), 'utf8').split('\n');
  for (const file of WASM) assert.ok(ignore.includes(`!dist/${file}`), `.vscodeignore keeps dist/${file}`);
});

test('a bundle finds the WebAssembly beside it, with no node_modules to fall back on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-parser-bundle-'));
  try {
    const entry = join(dir, 'entry.ts');
    const src = (p: string) => JSON.stringify(join(REPO, 'src', p));
    writeFileSync(
      entry,
      `import { createBashParser } from ${src('infra/bashParser')};\n` +
        `void createBashParser().parse(${JSON.stringify('cd src && X=1 \\rm -rf ../build')})` +
        `.then((s) => process.stdout.write(JSON.stringify(s)));\n`,
    );
    const cli = bundles.find((b) => b.outfile === 'dist/cli.js');
    assert.ok(cli, 'esbuild.js has the CLI bundle');
    const out = join(dir, 'dist', 'probe.js');
    await build({ ...cli, banner: undefined, entryPoints: [entry], outfile: out, sourcemap: false });
    mkdirSync(join(dir, 'dist'), { recursive: true });
    for (const file of WASM) copyFileSync(join(REPO, 'dist', file), join(dir, 'dist', file));
    const script = JSON.parse(execFileSync(process.execPath, [out], { cwd: dir, encoding: 'utf8' })) as ShellScript;
    assert.equal(script.error, null);
    assert.deepEqual(
      script.commands.map((c) => c.words.map((w) => w.value)),
      [
        ['cd', 'src'],
        ['rm', '-rf', '../build'],
      ],
    );
    assert.equal(script.commands[1].text, 'X=1 \\rm -rf ../build');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
