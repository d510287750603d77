/**
 * The workflows the operator's commands know, by name: how to build each one's definition (for
 * `graph`) and what its runs are about. A workflow that lands (backup, recover) plugs in with one
 * entry here; `follow`, `status`, `history`, `logs` and `graph` then take it by name.
 *
 * The workflows' modules load only when a definition is asked for: `--help` names the workflows
 * from this list without loading them.
 */

import type { StateMachineDefinition } from '../../shared/engine/asl.ts';
import { InvalidInputError } from '../../shared/errors.ts';

/** One workflow the CLI can show and follow. */
export interface WorkflowEntry {
  name: string;
  /** One line for `--help` and `status`. */
  description: string;
  /**
   * An Express workflow: Step Functions keeps no execution history of it to list or follow (its runs
   * are in CloudWatch Logs); `status` shows what it records instead.
   */
  express?: boolean;
  /** The definition with local ARNs: the same states as the one deployed. */
  definition(): Promise<StateMachineDefinition>;
}

/** Every workflow, in the order `status` shows them. */
export const WORKFLOWS: readonly WorkflowEntry[] = [
  {
    name: 'deploy',
    description: 'batches behind a health gate, rollback of every touched host, notify',
    async definition() {
      const [{ deployWorkflow, DEPLOY_FUNCTIONS }, { localArns }] = await Promise.all([
        import('../../workflows/deploy.ts'),
        import('../../workflows/asl.ts'),
      ]);
      return deployWorkflow(localArns(DEPLOY_FUNCTIONS));
    },
  },
  {
    name: 'health',
    description: 'probe a target once, record the round, alert on transitions, start a recovery',
    express: true,
    async definition() {
      const [{ healthWorkflow, HEALTH_FUNCTIONS }, { localArns }] = await Promise.all([
        import('../../workflows/health.ts'),
        import('../../workflows/asl.ts'),
      ]);
      return healthWorkflow(localArns(HEALTH_FUNCTIONS));
    },
  },
  {
    name: 'backup',
    description: 'back up (or restore) each job of a target, check the copy, prune past retention, notify',
    async definition() {
      const [{ backupWorkflow, BACKUP_FUNCTIONS }, { localArns }] = await Promise.all([
        import('../../workflows/backup.ts'),
        import('../../workflows/asl.ts'),
      ]);
      return backupWorkflow(localArns(BACKUP_FUNCTIONS));
    },
  },
  {
    name: 'recover',
    description: 'plan a runbook, wait for approval when it asks, run its steps, verify, notify',
    async definition() {
      const [{ recoverWorkflow, RECOVER_FUNCTIONS }, { localArns }] = await Promise.all([
        import('../../workflows/recover.ts'),
        import('../../workflows/asl.ts'),
      ]);
      return recoverWorkflow(localArns(RECOVER_FUNCTIONS));
    },
  },
  {
    name: 'maintenance',
    description:
      'a maintenance job as an unattended runbook: skipped while the target is held, batches behind the health gate, notify',
    async definition() {
      const [{ maintainWorkflow, MAINTAIN_FUNCTIONS }, { localArns }] = await Promise.all([
        import('../../workflows/maintain.ts'),
        import('../../workflows/asl.ts'),
      ]);
      return maintainWorkflow(localArns(MAINTAIN_FUNCTIONS));
    },
  },
];

/** The names of the known workflows. */
export function workflowNames(): string[] {
  return WORKFLOWS.map((w) => w.name);
}

/**
 * A workflow by name.
 *
 * @example
 * await workflowEntry('deploy').definition()
 * @throws UnknownWorkflowError naming the known workflows
 */
export function workflowEntry(name: string): WorkflowEntry {
  const entry = WORKFLOWS.find((w) => w.name === name);
  if (!entry) throw new UnknownWorkflowError(name);
  return entry;
}

/** No workflow by that name: exit 2. */
export class UnknownWorkflowError extends InvalidInputError {
  constructor(name: string) {
    super(`unknown workflow "${name}" (known: ${workflowNames().join(', ')})`);
    this.name = 'UnknownWorkflowError';
  }
}
