/**
 * Whether a Step Functions execution is still running: `DescribeExecution` by execution ARN
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
 * `RUNNING` is alive; `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` (stopped with
 * `StopExecution`) and `PENDING_REDRIVE` are not. An id that is not an execution ARN in an AWS
 * region (a run id; the local engine's `arn:aws:states:local:…`, whose run is not in Step
 * Functions), or an execution Step Functions does not know (`ExecutionDoesNotExist`), is unknown. Throttling is
 * retried by the SDK's standard retry.
 *
 * IAM: `states:DescribeExecution` on the execution
 * (`arn:aws:states:<region>:<account>:execution:<state machine name>:<execution name>`).
 */
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { RunLiveness } from '../ports.ts';
import { cachedClient } from './regions.ts';

/**
 * A standard execution's ARN in an AWS region: `arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`
 * (the local engine's `arn:aws:states:local:…` is not one).
 */
const EXECUTION_ARN =
  /^arn:aws[a-z-]*:states:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):\d{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_-]{1,80}$/;

/**
 * The region of an execution ARN, or undefined when `id` is not one.
 *
 * @example
 * executionRegion('arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:r1') // 'eu-west-1'
 */
export function executionRegion(id: string): string | undefined {
  return EXECUTION_ARN.exec(id)?.[1];
}

/**
 * Run liveness of Step Functions executions.
 *
 * @example
 * await new SfnRunLiveness().alive('arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:r1') // false once stopped
 */
export class SfnRunLiveness implements RunLiveness {
  readonly #client: SFNClient | undefined;

  constructor(options: { client?: SFNClient } = {}) {
    this.#client = options.client;
  }

  /** One client per region for the container (the stores are made per call, the clients are not). */
  #clientFor(region: string): SFNClient {
    return this.#client ?? cachedClient('sfn', region, (r) => new SFNClient({ region: r }));
  }

  /** True while the execution is RUNNING, false once it ended, undefined for an unknown id or execution. */
  async alive(executionArn: string): Promise<boolean | undefined> {
    const region = executionRegion(executionArn);
    if (!region) return undefined;
    try {
      const output = await this.#clientFor(region).send(new DescribeExecutionCommand({ executionArn }));
      if (output.status === undefined) return undefined;
      return output.status === 'RUNNING';
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }
}
