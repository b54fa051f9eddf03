/**
 * The protocol's plain constants, apart from its schemas so the extension's eager code can use them
 * without loading zod (src/protocol/panel.ts re-exports them).
 */

/**
 * The id the integration branch goes by where a task id is expected (no task may have it). The
 * engine's own constant, re-exported so the host and the webview spell it the same way: its file
 * is pure and imports nothing, the one core file the protocol may import.
 */
export { INTEGRATION_ID } from '../core/branches';

/** The most messages the host sends in a second (state updates are coalesced to this rate). */
export const MAX_UPDATES_PER_SECOND = 10;
