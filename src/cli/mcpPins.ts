/**
 * Pin questions of runs started or moved through Foreman's MCP server: before a run's agents are
 * offered the tools of a developer's MCP server that is new or changed since it was approved
 * (src/infra/mcpHub.ts), someone must approve its pin. `foreman mcp` has no terminal, so it asks
 * the user of the MCP client that moved the run, through form elicitation, as apply_run asks for
 * its confirmation; a client that cannot ask is answered with a refusal saying how to approve the
 * server instead, and the run goes on without that server's tools (the hub journals the refusal).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalAnswer, ApprovalRequest, Approver } from '../core/approver';
import { errorMessage } from '../core/errors';
import type { ToolExtra } from './mcpServer';

/** How long the user has to answer a pin question. */
const PIN_QUESTION_TIMEOUT_MS = 10 * 60_000;

/** Whether the connected client declared form elicitation (it can ask its user). */
export function canElicit(server: McpServer): boolean {
  return Boolean(server.server.getClientCapabilities()?.elicitation?.form);
}

/** The sentence of a refusal to a client that cannot ask its user. */
export const CANNOT_ASK =
  'this MCP client cannot ask you to approve it (it did not declare MCP form elicitation). To approve it, run `foreman run` once in a terminal in this repository and answer its question (the pin is kept in .git/foreman/mcp-pins.json), or drive Foreman from a client that supports elicitation; then start or resume the run again';

/**
 * The pin questions of the tool call `extra` on `server`: asked as part of that call while it is
 * open (its stream carries them), afterwards as the server's own requests. Call `ended` when the
 * tool call has answered.
 */
export function pinAsker(server: McpServer, extra: ToolExtra): { approver: Approver; ended(): void } {
  let open = true;
  const approver: Approver = {
    async approve(request, signal) {
      if (!server.isConnected())
        return refused('nobody', 'the MCP client that moved the run has gone, so no one can be asked to approve it');
      if (!canElicit(server)) return refused('nobody', CANNOT_ASK);
      // While the call lasts, cancelling it withdraws the question (the run goes on without the server).
      const withCall = open;
      const signals = [signal, withCall ? extra.signal : undefined].filter((s): s is AbortSignal => s !== undefined);
      return askUser(server, request, {
        related: withCall ? extra.requestId : undefined,
        signal: signals.length ? AbortSignal.any(signals) : undefined,
        cancelled: () => withCall && extra.signal.aborted,
      });
    },
  };
  return { approver, ended: () => (open = false) };
}

async function askUser(
  server: McpServer,
  request: ApprovalRequest,
  how: { related: string | number | undefined; signal: AbortSignal | undefined; cancelled(): boolean },
): Promise<ApprovalAnswer> {
  const why = request.verdict.rule?.why ?? 'an MCP server needs your approval';
  try {
    const reply = await server.server.elicitInput(
      {
        mode: 'form',
        message: `${why}.\n${request.line}\nApprove this server's tools for Foreman's agents in this repository? The approval is kept until the server's command or tools change.`,
        requestedSchema: {
          type: 'object',
          properties: {
            approve: {
              type: 'boolean',
              title: 'Approve the MCP server',
              description:
                "Yes: Foreman's agents may call these tools (each tool's own allow / ask / deny still applies).",
            },
          },
          required: ['approve'],
        },
      },
      {
        ...(how.related === undefined ? {} : { relatedRequestId: how.related }),
        signal: how.signal,
        timeout: PIN_QUESTION_TIMEOUT_MS,
      },
    );
    if (reply.action === 'accept' && reply.content?.approve === true)
      return { approved: true, scope: 'run', by: 'user' };
    return refused(
      'user',
      reply.action === 'accept'
        ? 'you did not approve it'
        : `you did not approve it (the question was ${reply.action === 'decline' ? 'declined' : 'dismissed'})`,
    );
  } catch (e) {
    if (how.cancelled()) return refused('stopped', 'the call that asked was cancelled before you answered');
    if (how.signal?.aborted) return refused('stopped', 'the run stopped before you answered');
    if (e instanceof McpError && e.code === (ErrorCode.RequestTimeout as number))
      return refused('timeout', `no answer came within ${PIN_QUESTION_TIMEOUT_MS / 60_000} minutes`);
    return refused('nobody', `the MCP client could not ask you (${errorMessage(e)})`);
  }
}

function refused(by: 'user' | 'timeout' | 'stopped' | 'nobody', reason: string): ApprovalAnswer {
  return { approved: false, by, reason };
}
