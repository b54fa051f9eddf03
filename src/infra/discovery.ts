/**
 * Local inference-server discovery: probes, in parallel and each with a short time-out, the
 * OpenAI-compatible `GET /v1/models` on the localhost ports the common servers listen on, and
 * names what answered. Nothing is sent but that one GET (no key, no body); a port where nothing
 * listens, or where something answers that is not an OpenAI-compatible model list, is skipped.
 */

/** A port to probe and the server usually found there (null where several share the port). */
export interface ProbeTarget {
  port: number;
  /** The name to give a server on this port when its answer does not say what it is. */
  usual: string | null;
}

/** A server that answered with a model list. */
export interface FoundServer {
  /** What it looks like: vLLM, SGLang, Ollama, LM Studio, llama.cpp … or 'OpenAI-compatible'. */
  kind: string;
  /** Base URL ending in /v1, as a client is given it. */
  baseUrl: string;
  /** The model ids it lists, in its order. */
  models: string[];
}

/**
 * The default ports: vLLM (8000, shared with TensorRT-LLM, NIM and Dynamo, so named by the
 * answer), SGLang 30000, Ollama 11434, LM Studio 1234, llama.cpp 8080.
 */
export const DEFAULT_TARGETS: readonly ProbeTarget[] = [
  { port: 8000, usual: null },
  { port: 30000, usual: 'SGLang' },
  { port: 11434, usual: 'Ollama' },
  { port: 1234, usual: 'LM Studio' },
  { port: 8080, usual: 'llama.cpp' },
];

/** Options of `discoverServers`. */
export interface DiscoveryOptions {
  /** Ports to probe; default DEFAULT_TARGETS. A bare number has no usual server. */
  targets?: readonly (ProbeTarget | number)[];
  /** Host to probe; default 127.0.0.1. */
  host?: string;
  /** Longest one probe may take, in ms; default 800. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The `owned_by` values (and server header words) that say which server answered. */
const SIGNATURES: readonly [RegExp, string][] = [
  [/vllm/i, 'vLLM'],
  [/sglang/i, 'SGLang'],
  [/tensorrt|trtllm|trt-llm/i, 'TensorRT-LLM'],
  [/dynamo/i, 'NVIDIA Dynamo'],
  [/\bnim\b|nvidia/i, 'NVIDIA NIM'],
  [/llama\.?cpp/i, 'llama.cpp'],
  [/organization_owner|lm.?studio/i, 'LM Studio'],
  [/ollama|^library$/i, 'Ollama'],
];

/**
 * Probe every target at once and return the servers that answered, in target order (one entry
 * per port). Never rejects for an unreachable or odd server; an aborted signal ends it early
 * with what was found.
 */
export async function discoverServers(options: DiscoveryOptions = {}): Promise<FoundServer[]> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 800;
  const targets = (options.targets ?? DEFAULT_TARGETS).map((t) =>
    typeof t === 'number' ? { port: t, usual: null } : t,
  );
  const seen = new Set<number>();
  const unique = targets.filter((t) => !seen.has(t.port) && seen.add(t.port));
  const found = await Promise.all(unique.map((t) => probe(host, t, timeoutMs, options.signal)));
  return found.filter((f): f is FoundServer => f !== null);
}

async function probe(
  host: string,
  target: ProbeTarget,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<FoundServer | null> {
  const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${target.port}/v1`;
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  try {
    const res = await fetch(`${baseUrl}/models`, {
      signal: AbortSignal.any(signals),
      headers: { accept: 'application/json' },
    });
    if (!res.ok) return null;
    const listed = modelList(await res.json());
    if (listed === null) return null;
    const hints = [...listed.owners, res.headers.get('server') ?? ''];
    return { kind: kindOf(hints, target), baseUrl, models: listed.ids };
  } catch {
    // Nothing listens there, it was too slow, or it did not answer JSON: not a server to offer.
    return null;
  }
}

/** The ids and owners of an OpenAI-shaped model list, or null when the body is not one. */
function modelList(body: unknown): { ids: string[]; owners: string[] } | null {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return null;
  const ids: string[] = [];
  const owners: string[] = [];
  for (const entry of data) {
    const e = entry as { id?: unknown; owned_by?: unknown } | null;
    if (typeof e?.id === 'string') ids.push(e.id);
    if (typeof e?.owned_by === 'string') owners.push(e.owned_by);
  }
  return { ids, owners };
}

/** The server's name from what it said about itself, else the port's usual server, else generic. */
export function kindOf(hints: readonly string[], target: ProbeTarget): string {
  for (const hint of hints) {
    for (const [pattern, name] of SIGNATURES) if (pattern.test(hint)) return name;
  }
  return target.usual ?? 'OpenAI-compatible';
}
