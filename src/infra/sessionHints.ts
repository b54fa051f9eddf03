/**
 * Session hints for clusters that route by themselves. Foreman does not route over such an
 * endpoint; it tells the cluster's router which conversation each request belongs to, one stable
 * session id per task, so the router can keep the conversation where its prefix is cached.
 *
 * - NVIDIA Dynamo: the `X-Dynamo-Session-ID` request header. Dynamo's frontend pins a session to a
 *   worker when it runs with `--router-session-affinity-ttl-secs` (docs.nvidia.com/dynamo, "Maintain
 *   session affinity"; Dynamo's own clients also send the header for trace attribution).
 * - llm-d: the inference scheduler's `session-affinity-scorer` answers with a `Set-Cookie:
 *   llm-d-session=<base64 of the pod>` and prefers that pod for requests that send the cookie back
 *   (llm-d-inference-scheduler, pkg/plugins/scorer/session_affinity.go); its earlier releases used
 *   an `x-session-token` header the same way. Foreman keeps what each task's last answer set and
 *   sends it with the task's next request.
 */
import { randomBytes } from 'node:crypto';

/** A cluster router Foreman leaves the routing to. */
export type ClusterRouter = 'dynamo' | 'llm-d';

export const CLUSTER_ROUTERS: readonly ClusterRouter[] = ['dynamo', 'llm-d'];

/** The llm-d scheduler's session cookie. */
const LLMD_COOKIE = 'llm-d-session';
/** The header earlier llm-d releases answered and read. */
const LLMD_TOKEN_HEADER = 'x-session-token';

/** The hints of one client: a session id per conversation, and what the cluster asked to send back. */
export class SessionHints {
  /** Keeps session ids of different Foreman processes (and runs) apart on a shared cluster. */
  private readonly prefix = `foreman-${randomBytes(4).toString('hex')}`;
  private readonly returned = new Map<string, { cookie: string | null; token: string | null }>();

  constructor(readonly router: ClusterRouter) {}

  /** The session id of a conversation (stable for this client's life). */
  sessionId(affinity: string): string {
    return `${this.prefix}-${affinity}`;
  }

  /** The headers for a request of the conversation `affinity` (none without one). */
  headers(affinity: string | undefined): Record<string, string> | undefined {
    if (affinity === undefined) return undefined;
    if (this.router === 'dynamo') return { 'x-dynamo-session-id': this.sessionId(affinity) };
    const back = this.returned.get(affinity);
    const headers: Record<string, string> = {};
    if (back?.cookie) headers.cookie = `${LLMD_COOKIE}=${back.cookie}`;
    if (back?.token) headers[LLMD_TOKEN_HEADER] = back.token;
    return headers;
  }

  /** Keep what the cluster's answer to `affinity` asks to be sent back. */
  answered(affinity: string | undefined, headers: Headers): void {
    if (affinity === undefined || this.router !== 'llm-d') return;
    const cookie = sessionCookie(headers.get('set-cookie'));
    const token = headers.get(LLMD_TOKEN_HEADER);
    if (cookie === null && token === null) return;
    const before = this.returned.get(affinity);
    this.returned.set(affinity, { cookie: cookie ?? before?.cookie ?? null, token: token ?? before?.token ?? null });
  }
}

/** The llm-d session cookie's value in a Set-Cookie header (several may be joined by commas or newlines). */
function sessionCookie(setCookie: string | null): string | null {
  if (!setCookie) return null;
  const m = new RegExp(`(?:^|[\\s,])${LLMD_COOKIE}=([^;,\\s]+)`).exec(setCookie);
  return m ? m[1] : null;
}
