/** The one way Foreman turns a caught value into text: an Error's message, anything else as a string. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The same with the stack where there is one: for logs, never for the model or the panel. */
export function errorDetail(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}
