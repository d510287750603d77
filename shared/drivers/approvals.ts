/**
 * The approval store and task answerer: DynamoDB and Step Functions when the stack's state table is
 * named, else files under `.stepops/approvals/` (local runs relay the answer to their engine).
 */
import { DynamoApprovalStore } from './aws/dynamo-approval-store.ts';
import { SfnTaskAnswerer } from './aws/sfn-task-answerer.ts';
import { FileApprovalStore } from './local/file-approval-store.ts';
import { type DriversOptions, resolvedNames } from './options.ts';
import type { ApprovalStore, TaskAnswerer } from './ports.ts';

/**
 * Chooses the approval store.
 *
 * @example
 * await approvalStoreFor().answer('run-1', 'approved', 'ana');
 */
export function approvalStoreFor(options: DriversOptions = {}): ApprovalStore {
  const { stateTable } = resolvedNames(options);
  return stateTable ? new DynamoApprovalStore(stateTable) : new FileApprovalStore();
}

/**
 * The task answerer of AWS runs (`SendTaskSuccess` / `SendTaskFailure`).
 *
 * @example
 * await taskAnswererFor().succeed(token, { approved: true, by: 'ana', at });
 */
export function taskAnswererFor(): TaskAnswerer {
  return new SfnTaskAnswerer();
}
