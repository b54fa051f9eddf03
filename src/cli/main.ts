/**
 * The `foreman` command line: parses the command, resolves settings, dispatches to a handler from
 * the table, and turns the errors a person can fix into messages and exit codes.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { applyCommand } from './commands/apply';
import { auditCommand } from './commands/audit';
import { cleanCommand } from './commands/clean';
import { diffCommand } from './commands/diff';
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

function reportError(e: unknown, err: (t: string) => void): number {
  if (e instanceof UsageError) {
    err(`foreman: ${e.message}\n(see foreman --help)`);
    return EXIT.usage;
  }
  if (e instanceof SettingsError) {
    err(`foreman: ${e.message}`);
    return EXIT.usage;
  }
  if (ModelError.is(e)) {
    err(`foreman: the backend failed (${e.reason}): ${e.message}`);
    return EXIT.backend;
  }
  if (e instanceof GitCommandError) {
    err(`foreman: git failed: ${e.message}`);
    return EXIT.runFailed;
  }
  err(`foreman: unexpected error: ${errorDetail(e)}`);
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
