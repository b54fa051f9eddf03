/** Where `foreman export` puts what it made: standard output, or the file `--out` names. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorMessage } from '../../core/errors';
import { EXIT } from '../context';
import type { CommandContext } from '../context';

/**
 * Write `text` to standard output, or to `--out` (then `done(path)` is said on standard error).
 * A file that cannot be written is a usage error naming `what` and the way out.
 */
export async function writeExport(
  ctx: CommandContext,
  text: string,
  what: string,
  done: (path: string) => string,
): Promise<number> {
  if (!ctx.cl.out) {
    process.stdout.write(text);
    return EXIT.ok;
  }
  const out = resolve(ctx.cl.cwd, ctx.cl.out);
  try {
    await writeFile(out, text);
  } catch (e) {
    ctx.err(`Could not write ${what} to ${out}: ${errorMessage(e)}. Name another file with --out.`);
    return EXIT.usage;
  }
  ctx.err(done(out));
  return EXIT.ok;
}
