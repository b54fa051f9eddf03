/**
 * The shape of `foreman.mcpServers` (VS Code's setting, and the same key in foreman.json), apart
 * from src/app/mcpServers.ts so that settings.ts can use it without a cycle.
 */
import { z } from 'zod';

const Permission = z.enum(['allow', 'ask', 'deny']);

/** One entry of `foreman.mcpServers`: a server, or only the permissions of a server defined in .vscode/mcp.json. */
export const McpServerEntry = z
  .object({
    type: z.enum(['stdio', 'http']).optional(),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
    url: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    tools: z.record(z.string(), Permission).optional(),
    /** Longest wait for one call of this server's tools, in ms (default 60000). */
    timeoutMs: z.number().int().positive().optional(),
  })
  .strict();
export type McpServerEntry = z.infer<typeof McpServerEntry>;

/** `foreman.mcpServers`: server name → entry. */
export const McpServersSetting = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" and "-" only'),
  McpServerEntry,
);
