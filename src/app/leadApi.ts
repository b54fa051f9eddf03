/**
 * The Lead session as its front end sees it: the panel's state, a change signal, and the panel's
 * requests. The session (src/app/leadSession.ts) owns all state; VS Code's side (src/host/) renders
 * it, adds the editor's own features (diffs, transcripts, key entry) and never changes run state
 * except through `handle`.
 */
import type { RunState } from '../core/runState';
import type { LeadErrorReason } from '../protocol/constants';
import type { PanelState, Request } from '../protocol/panel';

/** Requests the editor itself answers (they open editors or ask for input); the rest go to the session. */
export type EditorRequestType =
  | 'panel/ready'
  | 'task/openTranscript'
  | 'task/openChanges'
  | 'task/openChecks'
  | 'task/openAudit'
  | 'backend/setKey'
  | 'settings/open';

/** A request the session answers. */
export type SessionRequest = Exclude<Request, { type: EditorRequestType }>;

/**
 * Why a request was refused, for a person to act on. `reason` tells callers apart without parsing
 * text (LEAD_ERROR_REASONS in src/protocol/constants.ts says what each means); the panel receives it.
 */
export class LeadError extends Error {
  override readonly name = 'LeadError';
  constructor(
    message: string,
    readonly reason: LeadErrorReason,
  ) {
    super(message);
  }

  /**
   * Whether `e` is a LeadError, by shape: the extension and the session are separate bundles, each
   * with its own copy of this class, so `instanceof` fails across them.
   */
  static is(e: unknown): e is LeadError {
    return e instanceof Error && e.name === 'LeadError' && typeof (e as { reason?: unknown }).reason === 'string';
  }
}

/** The run on the board, for the editor's review features (changed files, diffs, transcripts). */
export interface BoardRun {
  runId: string;
  /** The repository's top level. */
  repoRoot: string;
  /** Where the run keeps its journal (`journal.jsonl`) and transcripts (`transcripts/<task>.jsonl`, read with src/infra/transcriptFile.ts). */
  runDir: string;
  /** The run's state as the engine (or its journal) tells it; read-only. */
  state: RunState;
}

/** The session's surface. */
export interface LeadApi {
  /** The panel's state now. */
  snapshot(): PanelState;
  /**
   * `listener` is called after every change, as often as changes happen (many times a second
   * while agents stream); callers coalesce. Returns the unsubscribe function.
   */
  onDidChange(listener: () => void): () => void;
  /** Carry out one of the panel's requests. Rejects with a LeadError a person can act on. */
  handle(request: SessionRequest): Promise<void>;
  /** The run on the board, or null when the board is empty. */
  boardRun(): BoardRun | null;
  /** Read settings, trust and history again (settings changed, trust granted, a run ended elsewhere). */
  refresh(): Promise<void>;
  /** Stop every live run (processes killed, work kept), release its lock, stop the demo server. */
  dispose(): Promise<void>;
}
