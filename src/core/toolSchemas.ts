/**
 * The JSON schemas of the agent's tools, as offered to the model. The list, its order and every
 * byte of it are fixed: the tools are part of every agent's prompt prefix, which must be identical
 * across agents for the server's prefix cache to hit. Change them only on purpose.
 */
import type { ToolSchema } from './model';

/** The name of every agent tool, in the order they are offered. */
export const TOOL_NAMES = [
  'read_file',
  'list_dir',
  'search',
  'write_file',
  'edit_file',
  'run_command',
  'finish',
] as const;

/** A tool name the agent can call. */
export type ToolName = (typeof TOOL_NAMES)[number];

const pathProp = (what: string): Record<string, unknown> => ({
  type: 'string',
  description: `${what} Relative to the repository root (absolute paths inside it also work).`,
});

const schemas: ToolSchema[] = [
  {
    name: 'read_file',
    description:
      'Read a text file of the repository. Returns the file text exactly (no line numbers) and how many lines it has. ' +
      'For a large file, read a part with start_line and end_line (1-based, inclusive).',
    parameters: {
      type: 'object',
      properties: {
        path: pathProp('The file to read.'),
        start_line: { type: 'integer', minimum: 1, description: 'First line to return (1-based). Default: 1.' },
        end_line: {
          type: 'integer',
          minimum: 1,
          description: 'Last line to return (inclusive). Default: the end of the file.',
        },
      },
      required: ['path'],
      additionalProperties: false,
    },
  },
  {
    name: 'list_dir',
    description: 'List a directory of the repository, sorted. Directories end with "/", symbolic links with "@".',
    parameters: {
      type: 'object',
      properties: { path: pathProp('The directory to list. Default: the repository root.') },
      additionalProperties: false,
    },
  },
  {
    name: 'search',
    description:
      'Search the text files of the repository (skipping .git, node_modules and binary files) line by line. ' +
      'Returns "path:line: text" for each matching line. The pattern is a fixed string unless regex is true.',
    parameters: {
      type: 'object',
      properties: {
        pattern: {
          type: 'string',
          description: 'The text to look for (or a JavaScript regular expression when regex is true).',
        },
        path: pathProp('A file or directory to search in. Default: the whole repository.'),
        regex: { type: 'boolean', description: 'Treat the pattern as a regular expression. Default: false.' },
      },
      required: ['pattern'],
      additionalProperties: false,
    },
  },
  {
    name: 'write_file',
    description:
      'Create a file or replace its whole content. Parent directories are created. ' +
      'To change part of an existing file, prefer edit_file.',
    parameters: {
      type: 'object',
      properties: {
        path: pathProp('The file to write.'),
        content: { type: 'string', description: 'The complete new content of the file.' },
      },
      required: ['path', 'content'],
      additionalProperties: false,
    },
  },
  {
    name: 'edit_file',
    description:
      'Replace one exact piece of text in a file. old_text must occur exactly once in the file, matching it character ' +
      'for character (whitespace and indentation included); include enough surrounding lines to make it unique.',
    parameters: {
      type: 'object',
      properties: {
        path: pathProp('The file to edit.'),
        old_text: { type: 'string', description: 'The exact text to replace; it must occur exactly once.' },
        new_text: { type: 'string', description: 'The text to put in its place.' },
      },
      required: ['path', 'old_text', 'new_text'],
      additionalProperties: false,
    },
  },
  {
    name: 'run_command',
    description:
      'Run a shell command (/bin/sh) in the repository root, for example to build or run the tests. Returns the exit code ' +
      'and the combined output (long output keeps its beginning and end). Commands have a time limit; nothing is read ' +
      'from stdin. The command policy judges every command in the line: some are refused (pushing, rewriting git ' +
      "history, recursive deletes, sudo), some need the developer's approval (network access, inline interpreter code, " +
      'commands built from variables); then nothing in the line runs, and the result names the rule.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'string', description: 'The command line to run.' } },
      required: ['command'],
      additionalProperties: false,
    },
  },
  {
    name: 'finish',
    description:
      'Call when the task is done (or cannot be done). Give a short summary of what you changed and how you checked it, ' +
      'or why you could not finish. The task ends with this call.',
    parameters: {
      type: 'object',
      properties: { summary: { type: 'string', description: 'What was done, and how it was verified.' } },
      required: ['summary'],
      additionalProperties: false,
    },
  },
];

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The agent's tools, in a fixed order (frozen: never mutate or reorder them). */
export const AGENT_TOOLS: readonly ToolSchema[] = deepFreeze(schemas);
