import type { BatchFailed, DescribeBatchFailureInput } from '../contracts.ts';
import { describeBatch } from '../outcome.ts';

/**
 * describe-batch-failure: turns the failure records of a failed batch into the error and the JSON
 * cause its Map iteration fails with, so that the batch index, the state, the host and the output
 * tail come out of the Map.
 *
 * @example
 * describeBatchFailureStep({ batch, failure: { WaitForDeploy: { Error: 'CommandFailedError', Cause: status } } })
 * // { error: 'CommandFailedError', cause: '{"batchIndex":0,"state":"WaitForDeploy",…}' }
 */
export function describeBatchFailureStep(input: DescribeBatchFailureInput): BatchFailed {
  const failure = describeBatch(input.batch, input.failure);
  return { error: failure.error, cause: JSON.stringify(failure) };
}
