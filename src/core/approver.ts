/**
 * The approvals port: who answers when the command policy says `ask`. The tool asks through it
 * and runs the command only on an approval, so an approvals UI (the Lead panel, a terminal prompt)
 * plugs in here without touching the tool.
 */
import type { PolicyVerdict } from './commandPolicy';

/** One question for the developer. */
export interface ApprovalRequest {
  /** The task whose agent asked, when the caller knows it. */
  task: string | null;
  /** The whole line the agent wants to run. */
  line: string;
  /** The policy's `ask`: the rule that asked and the simple command it asked about. */
  verdict: PolicyVerdict;
}

/** The developer's answer. A refusal's reason is passed to the agent as it is. */
export type ApprovalAnswer = { approved: true } | { approved: false; reason: string };

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
      reason: 'No one can approve commands during this run, so it was not run.',
    }),
};
