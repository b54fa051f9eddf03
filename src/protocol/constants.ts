/**
 * The protocol's plain constants, apart from its schemas so the extension's eager code can use them
 * without loading zod (src/protocol/panel.ts re-exports them).
 */

/** The id the integration branch goes by where a task id is expected (the engine's INTEGRATION_ID; the planner never gives a task this id). */
export const INTEGRATION_TASK_ID = 'integration';

/** The most messages the host sends in a second (state updates are coalesced to this rate). */
export const MAX_UPDATES_PER_SECOND = 10;
