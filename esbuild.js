// One build script for every bundle: the extension, the Lead panel's webview, the command line and
// the scripted backend (dist/scripted.js). `node esbuild.js` builds once; `--watch` rebuilds on change;
// `--production` minifies.
const esbuild = require('esbuild');
const { copyFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Prints errors in the shape VS Code's esbuild problem matcher reads. */
const problemMatcher = {
  name: 'problem-matcher',
  setup(build) {
    build.onStart(() => {
      if (watch) console.log('[watch] build started');
    });
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      if (watch) console.log('[watch] build finished');
    });
  },
};

/**
 * web-tree-sitter ships an ES module and a CommonJS build; esbuild would take the ES module for an
 * `import`, whose `import.meta.url` is empty in a CommonJS bundle. The bundles are CommonJS, so they
 * get the CommonJS build, which finds its files from `__dirname` like the rest of dist/.
 */
const treeSitterCommonJs = {
  name: 'tree-sitter-commonjs',
  setup(build) {
    build.onResolve({ filter: /^web-tree-sitter$/ }, () => ({ path: require.resolve('web-tree-sitter') }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'silent',
  plugins: [problemMatcher, treeSitterCommonJs],
};

/**
 * The tokenizer's ranks (about 1 MB) stay out of the extension and CLI bundles: they are copied
 * beside them as dist/cl100k_base.js and loaded only when a server reports no usage.
 */
const ranksBesideBundle = {
  name: 'ranks-beside-bundle',
  setup(build) {
    build.onResolve({ filter: /^js-tiktoken\/ranks\/cl100k_base$/ }, () => ({
      path: './cl100k_base.js',
      external: true,
    }));
  },
};

/**
 * The Lead bundle (the session, its engine, git, the openai client, zod) is a bundle of its own,
 * dist/lead.js, which the extension loads on first use with `require('../app/leadBundle')`:
 * activation then loads only the small host bundle.
 */
const leadBesideBundle = {
  name: 'lead-beside-bundle',
  setup(build) {
    build.onResolve({ filter: /\/app\/leadBundle$/ }, () => ({ path: './lead.js', external: true }));
  },
};

/**
 * Files the extension loads at run time that are not bundles: codicons for the webview, the ranks,
 * and the shell parser's WebAssembly (web-tree-sitter's runtime and the bash grammar), which
 * src/infra/bashParser.ts looks for beside the bundle that runs it.
 */
function copyAssets() {
  mkdirSync('dist/codicons', { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf'])
    copyFileSync(join('node_modules/@vscode/codicons/dist', f), join('dist/codicons', f));
  copyFileSync('node_modules/js-tiktoken/dist/ranks/cl100k_base.cjs', 'dist/cl100k_base.js');
  copyFileSync('node_modules/web-tree-sitter/tree-sitter.wasm', 'dist/tree-sitter.wasm');
  copyFileSync('node_modules/tree-sitter-bash/tree-sitter-bash.wasm', 'dist/tree-sitter-bash.wasm');
}

const bundles = [
  {
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode'],
    plugins: [...common.plugins, leadBesideBundle],
  },
  {
    ...common,
    entryPoints: ['src/app/leadBundle.ts'],
    outfile: 'dist/lead.js',
    plugins: [...common.plugins, ranksBesideBundle],
  },
  {
    ...common,
    entryPoints: ['src/webview/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
  {
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
    plugins: [...common.plugins, ranksBesideBundle],
  },
  { ...common, entryPoints: ['src/scripted/main.ts'], outfile: 'dist/scripted.js' },
];

async function main() {
  copyAssets();
  const contexts = await Promise.all(bundles.map((b) => esbuild.context(b)));
  if (watch) {
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  const results = await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  if (results.some((r) => r.errors.length > 0)) process.exit(1);
}

// The bundles' options are exported for tests that check what a bundle holds.
module.exports = { bundles };

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
