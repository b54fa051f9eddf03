/**
 * The task graph a planner produces and a run executes. Pure data; validation lives in
 * src/core/planGraph.ts.
 */

/** One unit of work for one agent. */
export interface TaskSpec {
  /** Short, unique within the plan; `[a-z0-9-]`, used in branch names. */
  id: string;
  title: string;
  /** What the agent is to do, in enough detail to do it without the spec. */
  instructions: string;
  /** Checkable statements that are true when the task is done. */
  acceptance: string[];
  /** Repository-relative paths the task expects to create or change. */
  files: string[];
  /** Ids of tasks whose merged result this task starts from. */
  dependsOn: string[];
}

/** A warning about a plan that does not make it invalid. */
export interface PlanWarning {
  kind: 'overlap';
  /** The tasks involved. */
  tasks: string[];
  /** The files they share. */
  files: string[];
  message: string;
}

/** A validated task graph. */
export interface Plan {
  version: 1;
  spec: string;
  tasks: TaskSpec[];
  warnings: PlanWarning[];
}
