/**
 * What every command handler gets, and the exit codes they return.
 */
import type { CommandLine } from './options';
import type { Settings } from '../app/settings';

/** Documented exit codes (also in the usage text and docs/cli.md). */
export const EXIT = {
  ok: 0,
  runFailed: 1,
  usage: 2,
  budget: 3,
  backend: 4,
  refused: 5,
  /** The run holds verified tasks for the developer (`--hold`). */
  review: 6,
  interrupted: 130,
} as const;

export interface CommandContext {
  cl: CommandLine;
  settings: Settings;
  /** Standard output: results (the only output with --json). */
  out(text: string): void;
  /** Standard error: progress and messages for people. */
  err(text: string): void;
  /** Registers a handler for Ctrl-C; returns a function that removes it. */
  onInterrupt(handler: () => void): () => void;
}

/** A command: returns its exit code. Expected failures print a message and return a code. */
export type CommandHandler = (ctx: CommandContext) => Promise<number>;
