/**
 * Starts a recovery runbook on AWS: `StartExecution` of the stage's recover state machine, with an
 * execution name derived from the health run, so a retried Lambda finds the execution it already
 * started instead of starting a second one.
 *
 * IAM: `states:StartExecution` on the recover state machine.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { RecoveryRequest, RecoveryStarter } from '../ports.ts';

/**
 * The execution name of a recovery a health run starts: at most 80 characters of letters, digits,
 * `-` and `_`.
 *
 * @example
 * recoveryExecutionName({ target: 'demo', runbook: 'restart-app', runId: 'health-demo-1700000000000', … }) // 'demo-restart-app-health-demo-1700000000000'
 */
export function recoveryExecutionName(
  request: Pick<RecoveryRequest, 'target' | 'runbook' | 'runId'>,
): string {
  return `${request.target}-${request.runbook}-${request.runId}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}

/**
 * The recover state machine, started by ARN.
 *
 * @example
 * await new SfnRecoveryStarter('arn:aws:states:eu-west-1:123456789012:stateMachine:stepops-prod-recover').start(request);
 */
export class SfnRecoveryStarter implements RecoveryStarter {
  readonly #arn: string;
  readonly #client: SFNClient;

  constructor(stateMachineArn: string, options: { client?: SFNClient } = {}) {
    this.#arn = stateMachineArn;
    const region = stateMachineArn.split(':')[3];
    this.#client = options.client ?? new SFNClient(region ? { region } : {});
  }

  async start(request: RecoveryRequest): Promise<{ executionId: string }> {
    const name = recoveryExecutionName(request);
    const input = JSON.stringify({
      target: request.target,
      runbook: request.runbook,
      reason: request.reason.slice(0, 500),
      requestedBy: request.requestedBy,
      ...(request.instance ? { instance: request.instance } : {}),
    });
    try {
      const output = await this.#client.send(
        new StartExecutionCommand({ stateMachineArn: this.#arn, name, input }),
      );
      if (!output.executionArn) throw new Error('Step Functions StartExecution returned no execution ARN');
      return { executionId: output.executionArn };
    } catch (error) {
      // The same name with the same input: this run started it already (a retried invocation).
      const errorName =
        typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
      if (errorName !== 'ExecutionAlreadyExists') throw error;
      const machine = this.#arn.split(':');
      return { executionId: [...machine.slice(0, 5), 'execution', machine[6], name].join(':') };
    }
  }
}
