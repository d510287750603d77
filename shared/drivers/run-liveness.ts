/**
 * The run liveness of a target's runs: the local run records on this machine, or, on a stage (the
 * state table named), Step Functions `DescribeExecution` of an execution ARN, loaded on first use.
 */
import type { Target } from '../config/schema.ts';
import { loadOnce } from './lazy.ts';
import { LocalRunLiveness } from './local/local-run-liveness.ts';
import { type DriversOptions, resolvedNames } from './options.ts';
import type { RunLiveness } from './ports.ts';

/**
 * Chooses how to tell whether a run is alive. Locally: its record under `<home>/runs/<id>/run.json`
 * (by run id, or by the execution ARN the local engine gives it). On a stage: `DescribeExecution`
 * of an execution ARN (`$$.Execution.Id`); any other id (a lease's run id, an execution name) is
 * unknown there.
 *
 * @example
 * await runLivenessFor(target).alive('arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:r1')
 */
export function runLivenessFor(_target: Target, options: DriversOptions = {}): RunLiveness {
  const { stateTable } = resolvedNames(options);
  if (!stateTable) return new LocalRunLiveness();
  // The Step Functions client is evaluated only when a run's liveness is first asked.
  const sfn = loadOnce(async () => new (await import('./aws/sfn-run-liveness.ts')).SfnRunLiveness());
  return { alive: async (id) => (id.startsWith('arn:') ? (await sfn()).alive(id) : undefined) };
}
