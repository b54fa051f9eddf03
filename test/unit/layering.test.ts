/**
 * The layering rules of the source tree, checked on every .ts file under src/. Imports are found
 * with the TypeScript parser, so comments and strings never count, and every form is seen:
 * `import … from`, `import type`, side-effect `import '…'`, `export … from`, `import x = require()`,
 * dynamic `import()`, `require()` and type-position `import('…')`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const REPO = resolve(__dirname, '..', '..');
const SRC = join(REPO, 'src');

/** One import found in a file. */
interface FoundImport {
  specifier: string;
  typeOnly: boolean;
  line: number;
}

/** Every module specifier a source text imports or re-exports, with whether it is type-only. */
function findImports(fileName: string, text: string): FoundImport[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FoundImport[] = [];
  const add = (lit: ts.Node, typeOnly: boolean): void => {
    if (!ts.isStringLiteralLike(lit)) return;
    const line = sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1;
    found.push({ specifier: lit.text, typeOnly, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, isTypeOnlyImport(node));
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (ts.isCallExpression(node) && isImportOrRequire(node) && node.arguments.length > 0) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false;
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return (
    clause.name === undefined &&
    named !== undefined &&
    ts.isNamedImports(named) &&
    named.elements.length > 0 &&
    named.elements.every((e) => e.isTypeOnly)
  );
}

function isImportOrRequire(node: ts.CallExpression): boolean {
  if (node.expression.kind === ts.SyntaxKind.ImportKeyword) return true;
  return ts.isIdentifier(node.expression) && node.expression.text === 'require';
}

/** The layer of a repository-relative path (posix separators), or null outside the layers. */
function layerOf(relPath: string): string | null {
  if (relPath === 'src/extension.ts' || relPath === 'src/extension') return 'extension';
  const m = /^src\/([^/]+)\//.exec(relPath);
  return m ? m[1] : null;
}

/** Where a specifier points: a repository-relative path for relative ones, else the package. */
function target(fromRel: string, specifier: string): { kind: 'file'; rel: string } | { kind: 'package'; name: string } {
  if (!specifier.startsWith('.')) return { kind: 'package', name: specifier };
  const abs = resolve(REPO, dirname(fromRel), specifier);
  return { kind: 'file', rel: relative(REPO, abs).split(sep).join('/') };
}

/** A layer: a folder of src/, or src/extension.ts. */
type Layer = 'core' | 'infra' | 'scripted' | 'protocol' | 'app' | 'cli' | 'host' | 'webview' | 'extension';

/** What one layer may import: an allow-list. Anything not listed is a violation. */
interface LayerRule {
  /** Layers whose files it may import (its own included where listed). */
  layers: readonly Layer[];
  /** Single files of other layers it may import, with the reason. */
  files?: Readonly<Record<string, string>>;
  /** Packages it may import. */
  packages: (name: string) => boolean;
}

const isNode = (name: string): boolean => name.startsWith('node:');
const isPackage =
  (...names: string[]) =>
  (name: string): boolean =>
    names.some((n) => name === n || name.startsWith(`${n}/`));

/**
 * The layering as an allow-list per folder. Dependencies point one way:
 * core <- infra <- app <- cli / host <- extension.ts; scripted (the scripted backend) sits on core
 * and is used by app for the demo backend; protocol <- app, host, webview.
 */
const RULES: Readonly<Record<Layer, LayerRule>> = {
  core: { layers: ['core'], packages: isPackage('zod', 'node:path') },
  infra: {
    layers: ['core', 'infra'],
    // web-tree-sitter: the shell parser behind core's ShellParser port (WebAssembly, loaded at run time).
    // parse-prometheus-text-format: servers' and exporters' /metrics (infra/prometheusText.ts).
    // @opentelemetry/*: a run's trace through the OpenTelemetry SDK (infra/otelTrace.ts).
    // @modelcontextprotocol/sdk: the MCP client behind core's McpPort (infra/mcpClient.ts).
    packages: (n) =>
      isNode(n) ||
      n.startsWith('@opentelemetry/') ||
      isPackage('openai', 'simple-git', 'js-tiktoken', 'web-tree-sitter', 'parse-prometheus-text-format')(n) ||
      isPackage('@modelcontextprotocol/sdk')(n),
  },
  scripted: { layers: ['core', 'scripted'], packages: isNode },
  protocol: {
    layers: ['protocol'],
    // The integration branch's id is one constant, shared with the engine; branches.ts imports nothing.
    files: { 'src/core/branches.ts': 'the integration id' },
    packages: isPackage('zod'),
  },
  app: { layers: ['core', 'infra', 'scripted', 'protocol', 'app'], packages: (n) => isNode(n) || isPackage('zod')(n) },
  cli: { layers: ['core', 'infra', 'app', 'cli'], packages: isNode },
  host: {
    layers: ['core', 'infra', 'protocol', 'app', 'host'],
    packages: (n) => isNode(n) || isPackage('vscode')(n),
  },
  webview: { layers: ['webview', 'protocol'], packages: () => false },
  extension: { layers: ['core', 'app', 'host'], packages: isPackage('vscode') },
};

const LAYERS = new Set<string>(Object.keys(RULES));

/** The rule an import of `fromRel` breaks, in words, or null when it is allowed. */
function violation(fromRel: string, imp: FoundImport): string | null {
  const from = layerOf(fromRel);
  if (from === null) return null;
  if (!LAYERS.has(from)) return `src/${from} is not a known layer: add it to RULES`;
  const rule = RULES[from as Layer];
  const to = target(fromRel, imp.specifier);
  const where = from === 'extension' ? 'src/extension.ts' : `src/${from}`;
  if (to.kind === 'package') {
    if (rule.packages(to.name)) return null;
    if (isPackage('vscode')(to.name)) return "only src/host/ and src/extension.ts may import 'vscode'";
    return `${where} may not import the package '${to.name}'`;
  }
  const toLayer = layerOf(to.rel);
  if (toLayer === null) return `${where} may import only files under src/`;
  if ((rule.layers as readonly string[]).includes(toLayer)) return null;
  if (rule.files && Object.hasOwn(rule.files, `${to.rel}.ts`)) return null;
  return `${where} may not import src/${toLayer} (allowed: ${rule.layers.map((l) => `src/${l}`).join(', ')})`;
}

/** Every violation in one file's text, as `file:line imports 'x': rule`. */
function checkFile(fromRel: string, text: string): string[] {
  const out: string[] = [];
  for (const imp of findImports(fromRel, text)) {
    const why = violation(fromRel, imp);
    if (why !== null)
      out.push(`${fromRel}:${imp.line} imports '${imp.specifier}'${imp.typeOnly ? ' (type-only)' : ''}: ${why}`);
  }
  return out;
}

/** Repository-relative paths of every .ts/.tsx file under `dir`. */
function listSources(dir: string): string[] {
  const files: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) files.push(...listSources(abs));
    else if (e.isFile() && /\.tsx?$/.test(e.name)) files.push(relative(REPO, abs).split(sep).join('/'));
  }
  return files;
}

test('every file under src/ respects the layering rules', () => {
  const files = listSources(SRC);
  assert.ok(files.includes('src/core/ports.ts'), 'the scan must see the contract files');
  const problems = files.flatMap((f) => checkFile(f, readFileSync(join(REPO, f), 'utf8')));
  assert.deepEqual(problems, [], `layering violations:\n${problems.join('\n')}`);
});

test('the scanner sees every import form and ignores comments and strings', () => {
  const text = [
    "import a from 'pkg-a';",
    "import type { B } from 'pkg-b';",
    "import { type C } from 'pkg-c';",
    "import 'pkg-d';",
    "export * from 'pkg-e';",
    "export type { F } from 'pkg-f';",
    "import g = require('pkg-g');",
    "const h = await import('pkg-h');",
    "const i = require('pkg-i');",
    "let j: import('pkg-j').J;",
    'import {',
    '  k,',
    "} from 'pkg-k';",
    "// import x from 'comment-line';",
    "/* require('comment-block') */",
    'const s = "import y from \'in-a-string\'";',
  ].join('\n');
  const got = findImports('src/core/x.ts', text).map((i) => `${i.specifier}${i.typeOnly ? ':type' : ''}@${i.line}`);
  assert.deepEqual(got, [
    'pkg-a@1',
    'pkg-b:type@2',
    'pkg-c:type@3',
    'pkg-d@4',
    'pkg-e@5',
    'pkg-f:type@6',
    'pkg-g@7',
    'pkg-h@8',
    'pkg-i@9',
    'pkg-j:type@10',
    'pkg-k@13',
  ]);
});

test('the rules catch violations in synthetic files', () => {
  const bad = (rel: string, text: string): string[] => checkFile(rel, text);
  assert.match(
    bad('src/core/a.ts', "import { readFile } from 'node:fs';").join(),
    /src\/core\/a\.ts:1 imports 'node:fs'/,
  );
  assert.match(
    bad('src/core/a.ts', "import type { X } from '../infra/x';").join(),
    /src\/core may not import src\/infra/,
  );
  assert.match(bad('src/core/a.ts', "const p = import('../cli/main');").join(), /src\/core may not import src\/cli/);
  assert.match(bad('src/core/a.ts', "import x from '../../package.json';").join(), /only files under src/);
  assert.match(bad('src/infra/a.ts', "const v = require('vscode');").join(), /'vscode'/);
  assert.match(bad('src/infra/a.ts', "export { h } from '../host/h';").join(), /src\/infra may not import src\/host/);
  assert.match(bad('src/infra/a.ts', "import { s } from '../scripted/server';").join(), /may not import src\/scripted/);
  assert.match(
    bad('src/protocol/m.ts', "import { x } from '../core/plan';").join(),
    /src\/protocol may not import src\/core/,
  );
  assert.match(
    bad('src/webview/v.ts', "import { z } from 'zod';").join(),
    /src\/webview may not import the package 'zod'/,
  );
  assert.match(bad('src/cli/main.ts', "import type * as vscode from 'vscode';").join(), /only src\/host/);
  assert.match(bad('src/cli/main.ts', "import { h } from '../host/h';").join(), /src\/cli may not import src\/host/);
  assert.match(bad('src/host/h.ts', "import { x } from '../cli/y';").join(), /src\/host may not import src\/cli/);
  assert.match(
    bad('src/host/h.ts', "import { s } from '../scripted/server';").join(),
    /src\/host may not import src\/scripted/,
  );
  assert.match(
    bad('src/scripted/s.ts', "import { a } from '../app/backends';").join(),
    /src\/scripted may not import src\/app/,
  );
  assert.match(bad('src/app/a.ts', "import { x } from '../host/x';").join(), /src\/app may not import src\/host/);
  assert.match(bad('src/app/a.ts', "import * as vscode from 'vscode';").join(), /only src\/host/);
  assert.match(
    bad('src/app/a.ts', "import OpenAI from 'openai';").join(),
    /src\/app may not import the package 'openai'/,
  );
  assert.match(
    bad('src/core/a.ts', "import type { Node } from 'web-tree-sitter';").join(),
    /src\/core may not import the package 'web-tree-sitter'/,
  );
  assert.match(bad('src/newlayer/a.ts', "import { x } from './b';").join(), /not a known layer/);
});

test('the rules allow what the layering permits', () => {
  const ok = (rel: string, text: string): void => assert.deepEqual(checkFile(rel, text), [], `${rel}: ${text}`);
  ok(
    'src/core/a.ts',
    "import type { ProcessRunner } from './ports';\nimport { z } from 'zod';\nimport { join } from 'node:path';",
  );
  ok(
    'src/infra/a.ts',
    "import type { CheckSpec } from '../core/verify';\nimport { readFile } from 'node:fs/promises';",
  );
  ok('src/infra/a.ts', "import OpenAI from 'openai';\nimport { simpleGit } from 'simple-git';");
  ok('src/infra/a.ts', "import { Parser } from 'web-tree-sitter';");
  ok('src/host/h.ts', "import * as vscode from 'vscode';\nimport type { LeadApi } from '../app/leadApi';");
  ok('src/extension.ts', "import * as vscode from 'vscode';\nimport { x } from './host/x';");
  ok(
    'src/app/a.ts',
    "import { RunEngine } from '../core/runEngine';\nimport { createGitRepo } from '../infra/gitRepo';",
  );
  ok('src/app/a.ts', "import { createScriptedServer } from '../scripted/server';");
  ok('src/scripted/s.ts', "import { findRole } from '../core/promptMarkers';\nimport http from 'node:http';");
  ok('src/protocol/m.ts', "import { z } from 'zod';\nimport type { M } from './other';");
  ok('src/protocol/m.ts', "export { INTEGRATION_ID } from '../core/branches';");
  ok('src/webview/v.ts', "import type { M } from '../protocol/m';\nimport { h } from './h';");
});
