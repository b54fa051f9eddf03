/**
 * The developer's MCP servers for runs the headless fleet drives (runFleet.ts, behind `foreman
 * mcp`): read from foreman.json's `mcpServers` and `.vscode/mcp.json` as `foreman run` reads them
 * (the repository is the developer's own, so its servers count as trusted; every server still
 * needs its pin approved), and opened afresh for each drive of the run, closed when the drive ends.
 *
 * Who approves a new or changed pin is not the run's command approver (no one can answer that one
 * in `foreman mcp`): each drive asks the `PinQuestion` the caller that started or moved the run gave
 * (the MCP client's user, through elicitation, or a refusal saying how to approve it instead).
 */
import { join } from 'node:path';
import type { Approver } from '../core/approver';
import type { McpPort, McpPrepareContext, McpServerConfig, McpTaskTools } from '../core/mcpTools';
import type { ToolSchema } from '../core/model';
import type { TaskRunner } from '../core/ports';
import { createMcpHub, filePinStore } from '../infra/mcpHub';
import { readMcpServers } from './mcpServers';
import type { Settings } from './settings';
import type { Workspace } from './workspace';

/**
 * Who answers a run's pin questions, changed by each caller that moves the run (start, resume, a
 * decision), so a question is put to whoever is there now.
 */
export interface PinQuestion {
  approver: Approver;
}

/** The refusal when no caller gave anyone to ask (a run moved by no tool call). */
export const NO_PIN_QUESTION: Approver = {
  approve: () =>
    Promise.resolve({
      approved: false,
      by: 'nobody',
      reason:
        'no one can be asked to approve it here; run `foreman run` once in a terminal in this repository to approve its pin',
    }),
};

/**
 * The MCP servers of the fleet's runs in `ws`, or null when none is configured; `log` gets the
 * notices. A configuration Foreman cannot use is a SettingsError naming the server and the file.
 */
export async function readFleetMcp(
  ws: Workspace,
  settings: Settings,
  log: (line: string) => void,
): Promise<McpServerConfig[] | null> {
  const { servers, notices } = await readMcpServers({
    root: ws.repo.root,
    workspace: settings.mcpServers,
    workspaceOrigin: 'foreman.json',
    user: undefined,
    trusted: true,
    env: process.env,
  });
  for (const line of notices) log(line);
  return servers.length ? servers : null;
}

/**
 * A run's McpPort for the fleet: a fresh hub (src/infra/mcpHub.ts) for each drive, made at the
 * drive's `prepare` and ended by `close` when the drive comes to rest, so a run held for review
 * keeps no server process or connection while it waits. Pins already approved are found in
 * `.git/foreman/mcp-pins.json` and asked about no more.
 */
export class DriveMcp implements McpPort {
  private hub: McpPort | null = null;
  private prepared!: Promise<void>;
  private markPrepared: () => void = () => undefined;

  constructor(
    private readonly servers: readonly McpServerConfig[],
    private readonly stateDir: string,
    private readonly question: PinQuestion,
  ) {
    this.expectDrive();
  }

  private expectDrive(): void {
    this.prepared = new Promise((resolve) => (this.markPrepared = resolve));
  }

  /** The names of the servers, for the log. */
  get names(): string[] {
    return this.servers.map((s) => s.name);
  }

  /** Resolves once this drive (or, between drives, the next) has read, pinned and asked about every server. */
  whenPrepared(): Promise<void> {
    return this.prepared;
  }

  prepare(ctx: McpPrepareContext): Promise<void> {
    this.hub ??= createMcpHub({ servers: this.servers, pins: filePinStore(join(this.stateDir, 'mcp-pins.json')) });
    // The hub's approver is asked about pins only; the run's command asks keep the run's own.
    const approver: Approver = { approve: (request, signal) => this.question.approver.approve(request, signal) };
    const done = this.hub.prepare({ ...ctx, approver });
    void done.then(this.markPrepared, this.markPrepared);
    return done;
  }

  get schemas(): readonly ToolSchema[] {
    return this.hub?.schemas ?? [];
  }

  resolve(name: string): ReturnType<McpPort['resolve']> {
    return this.hub?.resolve(name) ?? null;
  }

  openTask(taskId: string, runner: TaskRunner, worktree: string): McpTaskTools {
    if (!this.hub) throw new Error(`task ${taskId} asked for MCP tools before the run prepared its servers`);
    return this.hub.openTask(taskId, runner, worktree);
  }

  /** End the drive's hub (its HTTP connections); the next drive makes a new one. */
  async close(): Promise<void> {
    const hub = this.hub;
    this.hub = null;
    if (hub) this.expectDrive();
    await hub?.close();
  }
}
