/**
 * The approvals port: who answers when the command policy says `ask`. The tool asks through it
 * and runs the command only on an approval, so an approvals UI (the Lead panel, a terminal prompt)
 * plugs in here without touching the tool. The task pipeline puts core/approvalGate.ts in front of
 * the front end's approver: it journals every ask and answer and remembers "allow for this run".
 */
import type { PolicyVerdict } from './commandPolicy';
import type { ApprovalBy } from './journal';

/** One question for the developer. */
export interface ApprovalRequest {
  /**
   * Set by the run's gate (core/approvalGate.ts): unique within the run, it pairs the journal's
   * `approval_asked` and `approval_answered`.
   */
  id?: string;
  /** The task whose agent asked, when the caller knows it. */
  task: string | null;
  /** The whole line the agent wants to run. */
  line: string;
  /** The policy's `ask`: the rule that asked and the simple command it asked about. */
  verdict: PolicyVerdict;
}

/**
 * The answer. `once` runs this command this time; `run` also allows the same command under the
 * same rule for the rest of the run. A refusal's reason is passed to the agent as it is.
 */
export type ApprovalAnswer =
  { approved: true; scope: 'once' | 'run'; by: ApprovalBy } | { approved: false; reason: string; by: ApprovalBy };

/**
 * Answers asks. Contract: `approve` never rejects; an abort of `signal`, a time-out or anything
 * else that leaves the question unanswered resolves as not approved, with a reason saying so.
 */
export interface Approver {
  approve(request: ApprovalRequest, signal?: AbortSignal): Promise<ApprovalAnswer>;
}

/** The approver while no one can answer: every ask is not approved, and the agent is told why. */
export const NO_APPROVER: Approver = {
  approve: () =>
    Promise.resolve({
      approved: false,
      by: 'nobody',
      reason: 'No one can approve commands during this run, so it was not run.',
    }),
};

/**
 * The approver of `--approve never` in a place with no one to ask: every ask is refused, and the
 * agent is told what the developer could do.
 */
export const NEVER_APPROVER: Approver = {
  approve: () =>
    Promise.resolve({
      approved: false,
      by: 'nobody',
      reason:
        'Commands that need approval are refused in this run (no one can be asked). Find another way, or say in your summary which command you needed.',
    }),
};

/**
 * The approver of `--approve policy`: no one is asked; what the policy allows or denies stands,
 * and a command it asks about runs because the sandbox holds it. Without a sandbox (the user
 * turned it off) every ask is refused.
 */
export function sandboxTrustApprover(sandboxed: boolean): Approver {
  return {
    approve: () =>
      Promise.resolve(
        sandboxed
          ? { approved: true, scope: 'once', by: 'sandbox' }
          : {
              approved: false,
              by: 'nobody',
              reason: 'Commands that need approval are refused: the sandbox is off and no one can be asked.',
            },
      ),
  };
}

/** Where answers are grouped and remembered: the rule that asked and the simple command it asked about. */
export function approvalKey(verdict: PolicyVerdict): string {
  return askKey(verdict.rule.id, verdict.command);
}

/** `approvalKey` from a rule's id and a command, as the journal records them. */
export function askKey(rule: string, command: string): string {
  return `${rule}\u0000${command}`;
}
