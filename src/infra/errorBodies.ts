/**
 * Servers that put an error at the top level of the body (`{"object": "error", "message": …,
 * "type": …, "code": 400}`: vLLM before 0.10, SGLang) are not read by the openai SDK, which looks
 * for an `error` member and otherwise reports "400 status code (no body)". This wraps a `fetch` so
 * that such an answer reaches the SDK in OpenAI's shape (`{"error": {…}}`) and the error keeps the
 * server's words, which is how a context-length refusal is recognised. Every other answer, and
 * every success, passes through untouched (streams included).
 */
import type { FetchFunction } from './nodeFetch';

/** `fetchFn` with top-level error bodies of failed requests wrapped as `{"error": …}`. */
export function wrapTopLevelErrors(fetchFn: FetchFunction): FetchFunction {
  return async (input, init) => {
    const response = await fetchFn(input, init);
    if (response.ok || !/json/i.test(response.headers.get('content-type') ?? '')) return response;
    const text = await response.text();
    const headers = new Headers(response.headers);
    // The text is already decoded and may change length.
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(wrapped(text), { status: response.status, statusText: response.statusText, headers });
  };
}

/** The body with a top-level error moved under `error`; unchanged when it is not one. */
export function wrapped(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text; // not JSON after all: the SDK shows the text as it is
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return text;
  const body = parsed as Record<string, unknown>;
  if ('error' in body || typeof body.message !== 'string') return text;
  return JSON.stringify({ error: body });
}
