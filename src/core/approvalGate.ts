/**
 * The run's side of approvals, in front of the front end's approver: every ask and its answer go
 * into the journal (the audit trail), and a command the developer allowed "for this run" is
 * approved again without asking, in any task, after a resume too (the run state remembers it from
 * the journal).
 */
import { approvalKey, NO_APPROVER } from './approver';
import type { ApprovalAnswer, ApprovalRequest, Approver } from './approver';
import type { PolicyVerdict } from './commandPolicy';
import type { NewEvent, PolicyRecord } from './journal';
import type { RunState } from './runState';

/** What the gate needs of the run. */
export interface GateHost {
  readonly state: RunState;
  emit(event: NewEvent): void;
}

/** The policy's verdict as the journal records it. */
export function policyRecord(verdict: PolicyVerdict): PolicyRecord {
  return { decision: verdict.decision, rule: verdict.rule.id, source: verdict.rule.source, command: verdict.command };
}

/** The approver one task's tools use: `inner` (absent: no one answers) behind the journal. */
export function approvalGate(host: GateHost, taskId: string, inner: Approver | undefined): Approver {
  return {
    async approve(request: ApprovalRequest, signal?: AbortSignal): Promise<ApprovalAnswer> {
      // The seq the ask's own event will get: unique in the run's journal.
      const askId = `${taskId}#${host.state.lastSeq + 1}`;
      const ask = { ...request, id: askId, task: taskId };
      host.emit({
        type: 'approval_asked',
        taskId,
        askId,
        line: request.line,
        policy: policyRecord(request.verdict),
        why: request.verdict.rule.why,
      });
      const answer: ApprovalAnswer = host.state.allowedForRun.has(approvalKey(request.verdict))
        ? { approved: true, scope: 'run', by: 'rule' }
        : await (inner ?? NO_APPROVER).approve(ask, signal);
      host.emit(
        answer.approved
          ? { type: 'approval_answered', taskId, askId, approved: true, scope: answer.scope, by: answer.by }
          : { type: 'approval_answered', taskId, askId, approved: false, by: answer.by, reason: answer.reason },
      );
      return answer;
    },
  };
}
