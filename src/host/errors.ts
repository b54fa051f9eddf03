/**
 * How the extension tells a person about a failure. A LeadError is expected (the session refused
 * something and said why): its message is shown as it is. Anything else is a bug or an environment
 * problem: it is logged with its stack and shown as a short pointer to the log.
 */
import * as vscode from 'vscode';
import type { LeadError } from '../app/leadApi';
import { LEAD_ERROR_REASONS } from '../protocol/constants';
import type { RequestError } from '../protocol/panel';
import { errorDetail, errorMessage } from '../core/errors';

const REASONS: ReadonlySet<string> = new Set(LEAD_ERROR_REASONS);

/**
 * Whether `e` is a LeadError. Checked by shape, not `instanceof`: the session is a bundle of its own
 * (dist/lead.js) with its own copy of the class, so its errors are not instances of this bundle's.
 */
export function isLeadError(e: unknown): e is LeadError {
  if (!(e instanceof Error) || e.name !== 'LeadError') return false;
  const reason = (e as { reason?: unknown }).reason;
  return typeof reason === 'string' && REASONS.has(reason);
}

/** The text to show for `e`; an unexpected error is logged (with its stack) first. */
export function messageForUser(e: unknown, log: vscode.LogOutputChannel, doing: string): string {
  if (isLeadError(e)) return e.message;
  const message = errorMessage(e);
  log.error(`${doing} failed: ${errorDetail(e)}`);
  return `Foreman hit an unexpected error: ${message} (see Foreman log)`;
}

/** The panel's answer to a request that failed with `e`: the text to show (see messageForUser) and why. */
export function requestErrorOf(e: unknown, log: vscode.LogOutputChannel, doing: string): RequestError {
  return { message: messageForUser(e, log, doing), reason: isLeadError(e) ? e.reason : 'unexpected' };
}

/** Shows `e` as an error notification (see messageForUser). Never rejects. */
export function showError(e: unknown, log: vscode.LogOutputChannel, doing: string): void {
  void vscode.window.showErrorMessage(messageForUser(e, log, doing));
}
