/**
 * The `foreman` command line: parses the command, resolves settings, dispatches to a handler from
 * the table, and turns the errors a person can fix into messages and exit codes.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { applyCommand } from './commands/apply';
import { auditCommand } from './commands/audit';
import { backendsCommand } from './commands/backends';
import { cleanCommand } from './commands/clean';
import { diffCommand } from './commands/diff';
import { exportCommand } from './commands/export';
import { mcpCommand } from './commands/mcp';
import { planCommand } from './commands/plan';
import { acceptCommand, rejectCommand, reviseCommand } from './commands/review';
import { runCommand } from './commands/run';
import { statusCommand } from './commands/status';
import { transcriptCommand } from './commands/transcript';
import { EXIT } from './context';
import type { CommandContext, CommandHandler } from './context';
import { parseCommandLine, USAGE, UsageError } from './options';
import { readConfigFile, resolveSettings, SettingsError } from '../app/settings';
import { ModelError } from '../core/model';
import { GitCommandError } from '../infra/gitExec';
import { JournalCorruptError } from '../infra/journalFile';
import { RepoError } from '../core/repoPort';
import { errorDetail } from '../core/errors';

const COMMANDS: Record<string, CommandHandler> = {
  plan: planCommand,
  run: runCommand,
  status: statusCommand,
  apply: applyCommand,
  clean: cleanCommand,
  accept: acceptCommand,
  reject: rejectCommand,
  revise: reviseCommand,
  audit: auditCommand,
  diff: diffCommand,
  transcript: transcriptCommand,
  export: exportCommand,
  backends: backendsCommand,
  mcp: mcpCommand,
};

/** Run the command line; resolves with the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const err = (text: string) => process.stderr.write(`${text}\n`);
  try {
    const cl = parseCommandLine(argv, process.cwd());
    const handler = cl.command ? COMMANDS[cl.command] : undefined;
    if (cl.help || !handler) {
      (cl.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
      if (cl.command && !handler) err(`\nUnknown command "${cl.command}".`);
      return cl.help ? EXIT.ok : EXIT.usage;
    }
    const settings = resolveSettings(await readConfigFile(repositoryTop(cl.cwd)), env, cl.flags);
    for (const notice of settings.notices) err(`foreman: ${notice}`);
    const ctx: CommandContext = { cl, settings, out: (t) => process.stdout.write(`${t}\n`), err, onInterrupt };
    return await handler(ctx);
  } catch (e) {
    return reportError(e, err);
  }
}

/** The nearest directory at or above `dir` with a `.git` entry (where foreman.json lives), else `dir`. */
function repositoryTop(dir: string): string {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return resolve(dir);
  }
}

/** Ctrl-C: the first press calls the handler (a graceful stop), the second quits at once. */
function onInterrupt(handler: () => void): () => void {
  let pressed = 0;
  const listener = () => {
    pressed += 1;
    if (pressed === 1) handler();
    else process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

/** An expected failure in words, with its exit code; null for what is not expected. */
type Explained = { text: string; code: number } | null;

/**
 * The errors a person can fix, each with the sentence that says how and its documented exit code
 * (docs/cli.md, "Exit codes"). The first that recognises the error answers.
 */
const EXPLAIN: ((e: unknown) => Explained)[] = [
  (e) => (e instanceof UsageError ? { text: `${e.message}\n(see foreman --help)`, code: EXIT.usage } : null),
  (e) => (e instanceof SettingsError ? { text: e.message, code: EXIT.usage } : null),
  (e) => (RepoError.is(e) ? repoTrouble(e) : null),
  (e) => (ModelError.is(e) ? { text: `the backend failed (${e.reason}): ${e.message}`, code: EXIT.backend } : null),
  (e) =>
    e instanceof JournalCorruptError
      ? {
          text: `${e.message}. The run cannot be rebuilt from a damaged journal; its branches (foreman/<run>/…) still hold the work.`,
          code: EXIT.runFailed,
        }
      : null,
  (e) => (e instanceof GitCommandError ? { text: `git failed: ${e.message}`, code: EXIT.runFailed } : null),
  (e) => fileTrouble(e),
];

/** What to do about a folder that cannot be Foreman's repository. */
function repoTrouble(e: RepoError): Explained {
  switch (e.reason) {
    case 'notDirectory':
      return { text: `${e.message} Run foreman in your repository, or name it with --cwd DIR.`, code: EXIT.usage };
    case 'notGit':
      return {
        text: `${e.message} Foreman works on a git repository: run it inside one (or name it with --cwd DIR), or make this folder one with git init and a first commit.`,
        code: EXIT.usage,
      };
    case 'noCommits':
      return {
        text: `${e.message} A run starts from a commit: make a first one (git add -A && git commit -m "Initial commit"), then run again.`,
        code: EXIT.refused,
      };
  }
}

/** A file Foreman could not read or write (permissions, a full disk): the path and why. */
function fileTrouble(e: unknown): Explained {
  const io = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof io.code !== 'string' || typeof io.path !== 'string') return null;
  const why = FILE_ERRORS[io.code];
  return why ? { text: `cannot use ${io.path}: ${why}.`, code: EXIT.runFailed } : null;
}

const FILE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  ENOENT: 'it does not exist',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
};

function reportError(e: unknown, err: (t: string) => void): number {
  for (const explain of EXPLAIN) {
    const known = explain(e);
    if (known) {
      err(`foreman: ${known.text}`);
      return known.code;
    }
  }
  err(`foreman: unexpected error (a bug in Foreman; please report it with what follows): ${errorDetail(e)}`);
  return EXIT.runFailed;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // Exit once stdout has drained, so piped --json output is never cut short.
    (code) => process.stdout.write('', () => process.exit(code)),
    (e: unknown) => {
      process.stderr.write(`foreman: ${String(e)}\n`);
      process.exit(EXIT.runFailed);
    },
  );
}
