/**
 * How many requests an inference server says it runs at once, where it says so. Three servers
 * publish it at their root: llama.cpp's `GET /props` (`total_slots`, the `--parallel` slots),
 * SGLang's `GET /get_server_info` (`max_running_requests`, at the top or in `internal_states`),
 * and Text Generation Inference's `GET /info` (`max_concurrent_requests`). vLLM, Ollama and hosted
 * APIs publish no such figure; for them this finds nothing and the caller keeps its default.
 * The three are asked at once, each bounded by a short time-out; the first in that order that
 * answers with a positive whole number is the endpoint's limit.
 */
import { createNodeFetch } from './nodeFetch';

/** A limit a server reported, and where (e.g. `total_slots of llama.cpp's /props`). */
export interface ReportedLimit {
  requests: number;
  source: string;
}

/** Where to ask. The key is sent only as the bearer token, to the endpoint's own host. */
export interface LimitTarget {
  baseUrl: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

type Reader = { path: string; server: string; field: string; read: (body: Record<string, unknown>) => unknown };

const READERS: readonly Reader[] = [
  { path: '/props', server: "llama.cpp's", field: 'total_slots', read: (b) => b.total_slots },
  {
    path: '/get_server_info',
    server: "SGLang's",
    field: 'max_running_requests',
    read: (b) => b.max_running_requests ?? firstState(b)?.max_running_requests,
  },
  { path: '/info', server: "TGI's", field: 'max_concurrent_requests', read: (b) => b.max_concurrent_requests },
];

function firstState(body: Record<string, unknown>): Record<string, unknown> | null {
  const states = body.internal_states;
  return Array.isArray(states) && states[0] && typeof states[0] === 'object'
    ? (states[0] as Record<string, unknown>)
    : null;
}

/** The root the server's own routes hang from: the base URL without its `/v1`. */
export function serverRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** The server's own limit of requests at once, or null where it reports none (or does not answer). */
export async function readServerLimit(target: LimitTarget, timeoutMs = 3_000): Promise<ReportedLimit | null> {
  const fetchFn = createNodeFetch({ maxSockets: READERS.length });
  const headers: Record<string, string> = { accept: 'application/json', ...(target.headers ?? {}) };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  const root = serverRoot(target.baseUrl);
  try {
    const answers = await Promise.all(
      READERS.map(async (reader) => {
        try {
          const res = await fetchFn(`${root}${reader.path}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
          if (!res.ok) {
            await res.body?.cancel();
            return null;
          }
          const body = (await res.json()) as unknown;
          if (!body || typeof body !== 'object') return null;
          const value = reader.read(body as Record<string, unknown>);
          return typeof value === 'number' && Number.isInteger(value) && value > 0
            ? { requests: value, source: `${reader.field} of ${reader.server} ${reader.path}` }
            : null;
        } catch {
          // No answer, or not JSON: this server does not report it here.
          return null;
        }
      }),
    );
    return answers.find((a) => a !== null) ?? null;
  } finally {
    fetchFn.close();
  }
}
