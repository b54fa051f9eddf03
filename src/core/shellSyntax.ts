/**
 * The shell parser's port: what the command policy needs to know about a shell line, as plain
 * data. A real parser (src/infra/bashParser.ts, tree-sitter-bash) fills it in; the policy never
 * reads shell text itself, so no hand-written lexer decides what a command runs.
 */

/** One word of a command, as the shell will pass it. */
export interface ShellWord {
  /** The word as written, quotes and all. */
  source: string;
  /**
   * The word after quote removal and escapes (`r''m`, `"r"m`, `\rm` and `$'\x72m'` are all `rm`),
   * when it is known before the command runs. Null when any part of it is only known at run time:
   * a variable, a command or process substitution, arithmetic, or a brace expansion (which may
   * also turn one word into several).
   */
  value: string | null;
  /** True when the value holds unquoted glob characters (`*`, `?`, `[`), replaced by file names. */
  glob: boolean;
}

/** Where a command's standard input comes from. */
export type ShellInput =
  /** Whatever the line itself was given: nothing in the line redirects it. */
  | 'inherited'
  /** The output of another command: a pipe, or a redirection from a substitution or variable. */
  | 'pipe'
  /** Text written in the line: a here-document or a here-string. */
  | 'here'
  /** A named file (`< file`). */
  | 'file';

/** One redirection of a command or of a group of commands. */
export interface ShellRedirect {
  /** The operator as written: `>`, `>>`, `>|`, `&>`, `&>>`, `<`, `<>`, `>&`, `<&`, `<<`, `<<-`, `<<<`. */
  op: string;
  /** The file descriptor written before the operator (`2>`), or null. */
  fd: number | null;
  /**
   * What a file redirection points at (for `>&` and `<&`, a descriptor number or a file), and the
   * text of a here-string; null for a here-document and for closing a descriptor (`>&-`).
   */
  target: ShellWord | null;
}

/**
 * A simple command: a name and its arguments, with the assignments and redirections written
 * around it. A redirection of a whole group (`{ a; b; } > f`) comes as a command of its own with no
 * words, so every redirection in a line belongs to exactly one `ShellCommand`.
 */
export interface ShellCommand {
  /** The command's text in the line, its redirections included, for messages and the audit. */
  text: string;
  /** `NAME=value` words written before the name (`FOO=1 make`), or alone (`X=rm`). */
  assignments: { name: string; value: ShellWord }[];
  /** The name and then the arguments; empty for a bare assignment or a group's redirections. */
  words: ShellWord[];
  redirects: ShellRedirect[];
  stdin: ShellInput;
}

/** A parsed shell line. */
export interface ShellScript {
  /**
   * Every simple command the line can run, in the order they are written, wherever they sit:
   * in lists, pipelines, subshells, groups, loops, conditions, functions, command and process
   * substitutions, arithmetic, here-documents and here-strings.
   */
  commands: ShellCommand[];
  /** Null when the line parsed cleanly; otherwise where and what the parser could not read. */
  error: string | null;
}

/**
 * Parses shell text. Contract: `parse` resolves for any input (a syntax error is a value in
 * `error`, never an exception); it rejects only when the parser itself cannot run (for example
 * its grammar failed to load), and a caller must then treat the line as unreadable. The first call
 * may load the grammar; later calls reuse it.
 */
export interface ShellParser {
  parse(source: string): Promise<ShellScript>;
}
