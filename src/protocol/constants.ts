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

/**
 * Why the Lead session refused a request (LeadError's `reason`), so callers tell refusals apart
 * without parsing text: `blocked`, the workspace cannot be used (PanelState.blocked says why);
 * `busy`, something already going (the planner, a run) stands in the way; `invalid`, the request's
 * input is wrong; `backend`, the model server failed or could not be reached; `refused`, the run's
 * rules do not allow it now; `notFound`, there is no such run or task.
 */
export const LEAD_ERROR_REASONS = ['blocked', 'busy', 'invalid', 'backend', 'refused', 'notFound'] as const;
export type LeadErrorReason = (typeof LEAD_ERROR_REASONS)[number];
