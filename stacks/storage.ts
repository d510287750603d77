/**
 * The state table: leases per target (and small run state), on-demand, items expiring on their own
 * through the TTL attribute `expiresAt` (epoch seconds).
 */

import { STATE_TABLE } from '../shared/drivers/aws/dynamo-tables.ts';
import { stageResourceNames } from '../shared/drivers/options.ts';

/**
 * Creates the state table, named `stepops-<stage>-state` (the CLI finds it by the stage name).
 *
 * @example
 * const { table } = createStorage();
 */
export function createStorage() {
  const table = new sst.aws.Dynamo('State', {
    ...STATE_TABLE,
    transform: {
      table: (args: aws.dynamodb.TableArgs) => {
        args.name = stageResourceNames($app.stage).stateTable;
        args.billingMode = 'PAY_PER_REQUEST';
        args.pointInTimeRecovery = { enabled: true };
      },
    },
  });
  /** What the functions link: name and ARN only, no permission (each function gets its own). */
  const link = new sst.Linkable('StateTable', { properties: { name: table.name, arn: table.arn } });
  return { table, link };
}
