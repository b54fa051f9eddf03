/**
 * The environment of every process Foreman starts on an agent's behalf, built from an allow-list:
 * a few variables programs need to run (PATH, locale, TERM, TZ, CI), the task's own HOME, TMPDIR
 * and cache folder, and the variables the user names. Nothing else of Foreman's environment is
 * passed: not the API key, not a DATABASE_URL whose name looks harmless, not a test runner's
 * NODE_TEST_CONTEXT.
 */

/** Variables passed through by name when Foreman's environment has them. */
export const PASSED_VARIABLES: readonly string[] = ['PATH', 'LANG', 'LANGUAGE', 'TERM', 'TZ', 'CI'];
/** Locale variables (`LC_ALL`, `LC_CTYPE`, …) are passed too. */
const LOCALE_VARIABLE = /^LC_[A-Z_]+$/;

/**
 * Variables that hold Foreman's own API key. The user cannot name them: the key stays in Foreman's
 * process and in the Authorization header.
 */
export const FOREMAN_KEY_VARIABLES: readonly string[] = ['FOREMAN_API_KEY', 'OPENAI_API_KEY'];

/** A name a user may give in `sandbox.env`: a portable variable name. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The task's own folders, which the environment points at. */
export interface AgentFolders {
  home: string;
  tmp: string;
  cache: string;
}

/**
 * Why a list of names for `sandbox.env` cannot be used, or null when it can. Each must be a
 * variable name and none may be one of Foreman's key variables.
 */
export function checkEnvNames(names: readonly string[]): string | null {
  const bad = names.filter((n) => !VARIABLE_NAME.test(n));
  if (bad.length) return `not variable names: ${bad.map((n) => JSON.stringify(n)).join(', ')}`;
  const keys = names.filter((n) => FOREMAN_KEY_VARIABLES.includes(n));
  if (keys.length)
    return `${keys.join(', ')} hold${keys.length === 1 ? 's' : ''} Foreman's API key, which never reaches an agent`;
  return null;
}

/**
 * The environment of an agent process. Contract: it holds only PATH, LANG, LANGUAGE, LC_*, TERM,
 * TZ and CI from `parent`, the `named` variables from `parent` (Foreman's key variables never,
 * even when named), then HOME, TMPDIR and XDG_CACHE_HOME pointing at the task's folders,
 * GIT_TERMINAL_PROMPT=0 (git never waits for a password), and last `extra` (variables Foreman sets
 * for one command, such as WORKTREE_PATH). Undefined values are dropped; `parent` is not modified.
 */
export function agentEnvironment(
  parent: Readonly<Record<string, string | undefined>>,
  named: readonly string[],
  folders: AgentFolders,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || FOREMAN_KEY_VARIABLES.includes(name)) continue;
    if (PASSED_VARIABLES.includes(name) || LOCALE_VARIABLE.test(name) || named.includes(name)) env[name] = value;
  }
  return {
    ...env,
    HOME: folders.home,
    TMPDIR: folders.tmp,
    XDG_CACHE_HOME: folders.cache,
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

/**
 * The variables that send proxy-aware programs (curl, git, npm, pip, cargo, …) to the proxy at
 * `proxyUrl`, for an allow-listed sandbox: upper and lower case, since programs differ in which
 * they read. NO_PROXY keeps the sandbox's own loopback direct, so a test's local server still
 * answers its own client; the proxy would refuse it anyway, being outside.
 */
export function proxyEnvironment(proxyUrl: string): Record<string, string> {
  const noProxy = 'localhost,127.0.0.1,::1';
  const env: Record<string, string> = {};
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) {
    env[name] = proxyUrl;
    env[name.toLowerCase()] = proxyUrl;
  }
  return { ...env, NO_PROXY: noProxy, no_proxy: noProxy };
}
