/**
 * Helpers of the tests that drive Foreman's own MCP server (`foreman mcp`) with the SDK's Client:
 * a tool call with its text and structured content, and the URL `foreman mcp --http` prints first.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { waitFor } from './runHarness';
import type { CliProcess } from './runHarness';

/** Call `name` (two minutes at most); its result, its text content joined, and its structured content. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  opts: { signal?: AbortSignal; onprogress?: (p: Progress) => void } = {},
) {
  const result = (await client.callTool({ name, arguments: args }, CallToolResultSchema, {
    timeout: 120_000,
    ...opts,
  })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return { result, text, structured: result.structuredContent };
}

/** The URL `foreman mcp --http` prints on the first line of its standard output. */
export function mcpUrl(foreman: CliProcess): Promise<string> {
  let stdout = '';
  foreman.child.stdout?.on('data', (d: string) => (stdout += d));
  return waitFor('the URL on stdout', () => (stdout.includes('\n') ? stdout.split('\n')[0] : null));
}
