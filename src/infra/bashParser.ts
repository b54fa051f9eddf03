/**
 * The ShellParser port on tree-sitter-bash, run by web-tree-sitter (WebAssembly, no native code).
 * The runtime's and the grammar's .wasm files are copied beside the bundles (dist/) by esbuild.js;
 * run from source (tests, under tsx) they are read from node_modules. The grammar is loaded once per
 * process, on the first parse.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import type { ShellParser, ShellScript } from '../core/shellSyntax';
import { scriptOf } from './bashTree';

/** The two WebAssembly files, by the names they have beside the bundles. */
export const SHELL_WASM = {
  runtime: { file: 'tree-sitter.wasm', module: 'web-tree-sitter/tree-sitter.wasm' },
  grammar: { file: 'tree-sitter-bash.wasm', module: 'tree-sitter-bash/tree-sitter-bash.wasm' },
} as const;

/** Beside the running bundle when it is there (dist/), else from the installed package. */
function locate(wasm: { file: string; module: string }): string {
  const beside = join(__dirname, wasm.file);
  return existsSync(beside) ? beside : require.resolve(wasm.module);
}

let language: Promise<Language> | null = null;

/** The bash grammar, loaded once; a failed load is forgotten so that a later parse tries again. */
function loadLanguage(): Promise<Language> {
  language ??= (async () => {
    const runtime = locate(SHELL_WASM.runtime);
    await Parser.init({ locateFile: () => runtime });
    return Language.load(await readFile(locate(SHELL_WASM.grammar)));
  })().catch((e: unknown) => {
    language = null;
    throw e;
  });
  return language;
}

/** A ShellParser over tree-sitter-bash. Parsing itself is synchronous once the grammar is loaded. */
export function createBashParser(): ShellParser {
  let parser: Parser | null = null;
  const parseNow = (source: string): ShellScript => {
    const tree = parser?.parse(source);
    if (!tree) throw new Error('the shell parser gave no tree');
    try {
      return scriptOf(tree.rootNode, parseNow);
    } finally {
      tree.delete();
    }
  };
  return {
    async parse(source) {
      if (!parser) {
        const lang = await loadLanguage();
        parser ??= new Parser().setLanguage(lang);
      }
      return parseNow(source);
    },
  };
}

let shared: ShellParser | null = null;

/** One parser for the whole process: every run's agents share it (parsing is synchronous). */
export function sharedBashParser(): ShellParser {
  shared ??= createBashParser();
  return shared;
}
