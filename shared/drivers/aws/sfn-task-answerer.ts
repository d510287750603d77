/**
 * Answers a Step Functions task token: `SendTaskSuccess` with the output as JSON, or
 * `SendTaskFailure` with an error name and cause.
 *
 * IAM: `states:SendTaskSuccess`, `states:SendTaskFailure` on the state machine.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { TaskAnswerer } from '../ports.ts';
import { defaultRegion } from './regions.ts';

/** SendTaskFailure limits: error 256 characters, cause 32,768. */
const MAX_ERROR = 256;
const MAX_CAUSE = 32_768;

let shared: SFNClient | undefined;

/**
 * Task answers through the Step Functions API.
 *
 * @example
 * await new SfnTaskAnswerer().succeed(token, { approved: true, by: 'ana' });
 */
export class SfnTaskAnswerer implements TaskAnswerer {
  readonly #client: SFNClient;

  constructor(client?: SFNClient) {
    if (!client && !shared) {
      const region = defaultRegion();
      shared = new SFNClient(region ? { region } : {});
    }
    this.#client = client ?? (shared as SFNClient);
  }

  async succeed(token: string, output: unknown): Promise<void> {
    await this.#client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    await this.#client.send(
      new SendTaskFailureCommand({
        taskToken: token,
        error: error.slice(0, MAX_ERROR),
        cause: cause.slice(0, MAX_CAUSE),
      }),
    );
  }
}
