/**
 * A Step Functions that knows executions and their status, on aws-sdk-client-mock, answering
 * `DescribeExecution` as its API reference says
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html):
 *
 * - `executionArn` names the execution; its `status` is `RUNNING`, `SUCCEEDED`, `FAILED`,
 *   `TIMED_OUT`, `ABORTED` (stopped with `StopExecution`) or `PENDING_REDRIVE`.
 * - An execution Step Functions does not know answers `ExecutionDoesNotExist` (HTTP 400); an ARN
 *   that is not an execution's answers `InvalidArn` (HTTP 400).
 * - IAM: `states:DescribeExecution` on the execution ARN
 *   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html).
 */
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { answer, awsError, type CallLog, type Input } from './common.ts';

/** An execution's status, as `DescribeExecution` reports it. */
export type FakeExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

export interface FakeSfn {
  mock: AwsClientStub<SFNClient>;
  /** The status of each execution, by ARN. */
  executions: Map<string, FakeExecutionStatus>;
  /** `StopExecution`: the execution ends ABORTED (a Lambda invocation it started goes on). */
  stop(executionArn: string): void;
  restore(): void;
}

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:([^:]+):([^:]+)$/;

/**
 * Installs the Step Functions fake.
 *
 * @example
 * const sfn = fakeSfn(log);
 * sfn.executions.set(arn, 'RUNNING');
 * sfn.stop(arn);
 */
export function fakeSfn(log: CallLog): FakeSfn {
  const mock = mockClient(SFNClient);
  const executions = new Map<string, FakeExecutionStatus>();
  mock.on(DescribeExecutionCommand).callsFake(
    answer(log, 'states:DescribeExecution', (input: Input) => {
      const arn = String(input.executionArn ?? '');
      const parts = EXECUTION_ARN.exec(arn);
      if (!parts) throw awsError('InvalidArn', `Invalid Arn: '${arn}'`);
      const status = executions.get(arn);
      if (!status) throw awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
      return {
        executionArn: arn,
        stateMachineArn: arn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, ''),
        name: parts[2],
        status,
        startDate: new Date(0),
      };
    }),
  );
  return {
    mock,
    executions,
    stop(executionArn) {
      if (executions.get(executionArn) === 'RUNNING') executions.set(executionArn, 'ABORTED');
    },
    restore: () => mock.restore(),
  };
}
