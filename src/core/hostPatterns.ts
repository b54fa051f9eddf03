/**
 * The hosts an allow-listed sandbox may reach (`sandbox.allowedHosts`): exact names
 * (`registry.npmjs.org`), a leading `*.` for every name below one (`*.pythonhosted.org`, which does
 * not match `pythonhosted.org` itself), IPv4 addresses and bracketed IPv6 addresses, each with an
 * optional `:port`. Without a port a pattern allows ports 80 and 443 only. Pure: the proxy that
 * enforces the list is src/infra/networkProxy.ts.
 */

/** One parsed pattern. */
export interface HostPattern {
  /** As the user wrote it, normalised (lower case, no trailing dot). */
  text: string;
  /** The name or address, without `*.`, brackets or port. */
  host: string;
  /** `*.host`: every name below `host`, never `host` itself. */
  wildcard: boolean;
  /** The one port allowed, or null for 80 and 443. */
  port: number | null;
}

/** Ports a pattern without one allows. */
export const DEFAULT_PORTS: readonly number[] = [80, 443];

const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9a-f:.]+$/;

/** A host as requests name it, for comparing with patterns: lower case, no brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) return h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** Split `host:port` (or `[v6]:port`); the port is null when absent, NaN when not a number. */
function splitPort(text: string): { host: string; port: number | null } {
  const v6 = /^(\[[^\]]*\])(?::(.*))?$/.exec(text);
  if (v6) return { host: v6[1], port: v6[2] === undefined ? null : portNumber(v6[2]) };
  const colon = text.lastIndexOf(':');
  if (colon < 0 || text.indexOf(':') !== colon) return { host: text, port: null };
  return { host: text.slice(0, colon), port: portNumber(text.slice(colon + 1)) };
}

function portNumber(text: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  return n >= 1 && n <= 65535 ? n : NaN;
}

/** Parse one pattern: the pattern, or why it cannot be used, in words. */
export function parseHostPattern(raw: string): HostPattern | string {
  const text = raw.trim().toLowerCase();
  if (text === '') return 'an empty host';
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(text) || text.includes('/'))
    return `"${raw}" is a URL or a path; give the host name only (e.g. registry.npmjs.org)`;
  const { host: hostPart, port } = splitPort(text);
  if (Number.isNaN(port)) return `"${raw}" has a port that is not a number from 1 to 65535`;
  const wildcard = hostPart.startsWith('*.');
  const host = normalizeHost(wildcard ? hostPart.slice(2) : hostPart);
  const bracketed = hostPart.startsWith('[');
  if (bracketed ? !(IPV6.test(host) && host.includes(':')) : !NAME.test(host) && !IPV4.test(host))
    return `"${raw}" is not a host name or address (only exact names and a leading "*." are allowed)`;
  if (wildcard && (bracketed || IPV4.test(host))) return `"${raw}": "*." goes before names, not addresses`;
  if (wildcard && !host.includes('.'))
    return `"${raw}" would allow every name under a top-level domain; name the domain (e.g. *.example.org)`;
  const shown = bracketed ? `[${host}]` : host;
  const normal = `${wildcard ? '*.' : ''}${shown}${port === null ? '' : `:${port}`}`;
  return { text: normal, host, wildcard, port };
}

/** Parse a list: the patterns (duplicates dropped), and a sentence for each entry that cannot be used. */
export function parseHostPatterns(raw: readonly string[]): { patterns: HostPattern[]; problems: string[] } {
  const patterns: HostPattern[] = [];
  const problems: string[] = [];
  for (const entry of raw) {
    const parsed = parseHostPattern(entry);
    if (typeof parsed === 'string') problems.push(parsed);
    else if (!patterns.some((p) => p.text === parsed.text)) patterns.push(parsed);
  }
  return { patterns, problems };
}

/** Whether `pattern` names `host` (already normalised), whatever the port. */
function namesHost(pattern: HostPattern, host: string): boolean {
  return pattern.wildcard ? host.endsWith(`.${pattern.host}`) : host === pattern.host;
}

/**
 * The pattern that allows `host` on `port`, or null. An exact pattern wins over a wildcard, since
 * only an exact one lets the proxy reach a private or loopback address (see networkProxy.ts).
 */
export function matchHost(patterns: readonly HostPattern[], host: string, port: number): HostPattern | null {
  const h = normalizeHost(host);
  const fits = patterns.filter(
    (p) => namesHost(p, h) && (p.port === null ? DEFAULT_PORTS.includes(port) : p.port === port),
  );
  return fits.find((p) => !p.wildcard) ?? fits[0] ?? null;
}

/** Whether everything `inner` allows, `outer` allows too. */
export function covers(outer: HostPattern, inner: HostPattern): boolean {
  if (outer.port !== inner.port) return false;
  if (!outer.wildcard) return !inner.wildcard && outer.host === inner.host;
  return inner.host.endsWith(`.${outer.host}`) || (inner.wildcard && inner.host === outer.host);
}

/**
 * The user's patterns narrowed by a workspace's (which may only tighten): what both allow. A user
 * pattern stays when a workspace pattern covers it; a narrower workspace pattern stays when a user
 * pattern covers it. `ignored` are the workspace's patterns that share nothing with the user's, so
 * they would only have widened the list.
 */
export function narrowHostPatterns(
  user: readonly HostPattern[],
  workspace: readonly HostPattern[],
): { patterns: HostPattern[]; ignored: HostPattern[] } {
  const patterns: HostPattern[] = [];
  const add = (p: HostPattern): void => {
    if (!patterns.some((q) => q.text === p.text)) patterns.push(p);
  };
  for (const p of user) if (workspace.some((q) => covers(q, p))) add(p);
  for (const q of workspace) if (user.some((p) => covers(p, q))) add(q);
  const ignored = workspace.filter((q) => !user.some((p) => covers(p, q) || covers(q, p)));
  return { patterns, ignored };
}
