/**
 * Resource subscriptions of Foreman's MCP server (one per connection): a client subscribes to a
 * run (`foreman://runs/{runId}`), its journal (`…/journal`) or the list of runs (`foreman://runs`)
 * and gets `notifications/resources/updated` for that URI while the run moves, coalesced to at
 * most one per URI every UPDATE_EVERY_MS (the last change is always sent), never one per journal
 * line. A new run started by this process sends `notifications/resources/list_changed` to every
 * client, as does the end of a drive (the list's phases and costs changed).
 *
 * A URI that is not Foreman's (another scheme) is accepted and never updated: nothing of Foreman's
 * changes it. A `foreman://` URI that names no run is refused with a sentence.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { RunFleet } from '../app/runFleet';
import { isValidRunId } from '../infra/journalFile';

/** At most one update per subscribed URI in this many ms. */
export const UPDATE_EVERY_MS = 300;

/** The protocol's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002;

const RUNS_URI = 'foreman://runs';
const FOREMAN_URI = /^foreman:\/\/runs\/([^/]+)(\/journal)?$/;

/**
 * Serve `resources/subscribe` and `resources/unsubscribe` on `server` and send its updates and
 * list changes as `fleet`'s runs move. Returns a function that stops (when the connection closes).
 */
export function serveSubscriptions(server: McpServer, fleet: RunFleet): () => void {
  const subscribed = new Set<string>();
  const pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastSent = 0;

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const uri = request.params.uri;
    await refuseUnknown(uri, fleet);
    subscribed.add(uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscribed.delete(request.params.uri);
    pending.delete(request.params.uri);
    return {};
  });

  const flush = (): void => {
    timer = undefined;
    lastSent = Date.now();
    const uris = [...pending];
    pending.clear();
    if (!server.isConnected()) return;
    // A client gone away needs no more updates: a failed send is dropped.
    for (const uri of uris) if (subscribed.has(uri)) server.server.sendResourceUpdated({ uri }).catch(() => undefined);
  };
  const stop = fleet.onChange((runId, change) => {
    if (change !== 'moved' && server.isConnected()) server.sendResourceListChanged();
    for (const uri of [`${RUNS_URI}/${runId}`, `${RUNS_URI}/${runId}/journal`, RUNS_URI])
      if (subscribed.has(uri)) pending.add(uri);
    if (pending.size && !timer) timer = setTimeout(flush, Math.max(0, UPDATE_EVERY_MS - (Date.now() - lastSent)));
  });
  return () => {
    stop();
    if (timer) clearTimeout(timer);
    subscribed.clear();
  };
}

/** A `foreman://` URI must name the list of runs or a run of this repository. */
async function refuseUnknown(uri: string, fleet: RunFleet): Promise<void> {
  if (!uri.startsWith('foreman:')) return;
  if (uri === RUNS_URI) return;
  const runId = FOREMAN_URI.exec(uri)?.[1];
  if (runId === undefined || !isValidRunId(decodeURIComponent(runId)))
    throw new McpError(
      RESOURCE_NOT_FOUND,
      `${uri} is not one of Foreman's resources: they are foreman://runs, foreman://runs/<runId> and foreman://runs/<runId>/journal`,
    );
  const known = await fleet.runIds();
  if (!known.includes(decodeURIComponent(runId)))
    throw new McpError(RESOURCE_NOT_FOUND, `There is no run ${runId} in this repository, so ${uri} cannot be watched.`);
}
