/**
 * What activation loads: dist/extension.js is built with esbuild.js's own options and its metafile
 * lists every source file inside it. The engine, git, the openai client and zod belong to the Lead
 * bundle (dist/lead.js, loaded on first use), never to the activation bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

const REPO = resolve(__dirname, '..', '..');

// esbuild.js is the build script itself, in CommonJS; it exports its bundles' options.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script, not a module with types
const { bundles } = require(resolve(REPO, 'esbuild.js')) as { bundles: BuildOptions[] };

async function inputsOf(entry: string): Promise<string[]> {
  const options = bundles.find((b) => Array.isArray(b.entryPoints) && b.entryPoints.includes(entry));
  assert.ok(options, `esbuild.js has a bundle for ${entry}`);
  const result = await build({ ...options, absWorkingDir: REPO, write: false, metafile: true, logLevel: 'silent' });
  return Object.keys(result.metafile.inputs);
}

test('the activation bundle holds no git, engine, openai client or zod', async () => {
  const inputs = await inputsOf('src/extension.ts');
  assert.ok(inputs.includes('src/extension.ts') && inputs.some((f) => f.startsWith('src/host/')));
  const forbidden = [
    /(^|\/)node_modules\/(simple-git|openai|zod|js-tiktoken|@kwsites|web-tree-sitter)\//,
    /^src\/infra\/git/,
    /^src\/core\/(runEngine|taskPipeline|agent)\.ts$/,
    /^src\/app\/leadSession\.ts$/,
    /^src\/protocol\/panel\.ts$/,
    // The MCP server runs as `foreman mcp` (dist/cli.js); the extension only names it to VS Code.
    /(^|\/)node_modules\/@modelcontextprotocol\//,
    /^src\/cli\//,
  ];
  const found = inputs.filter((f) => forbidden.some((re) => re.test(f)));
  assert.deepEqual(found, [], `loaded at activation:\n${found.join('\n')}`);
  assert.ok(
    inputs.includes('src/host/mcpServerProvider.ts'),
    "Foreman's MCP server is offered to VS Code at activation",
  );
});

test('the Lead bundle holds the session, git reads and the validators', async () => {
  const inputs = await inputsOf('src/app/leadBundle.ts');
  for (const f of ['src/app/leadSession.ts', 'src/infra/gitShow.ts', 'src/protocol/panel.ts']) {
    assert.ok(inputs.includes(f), `${f} is in dist/lead.js`);
  }
  // Paths are relative to the project, or reach a node_modules linked from elsewhere.
  assert.ok(inputs.some((f) => /(^|\/)node_modules\/simple-git\//.test(f)));
  // The shell parser's CommonJS build: the ES module's `import.meta.url` is empty in a CommonJS bundle.
  assert.ok(
    inputs.some((f) => /(^|\/)node_modules\/web-tree-sitter\/tree-sitter\.cjs$/.test(f)),
    'web-tree-sitter is bundled as CommonJS',
  );
});
