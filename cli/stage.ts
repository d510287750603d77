/**
 * The stage a CLI run of an `ec2` target belongs to: its DynamoDB state table (the target's lease)
 * and its SNS alerts topic, so that a deploy started here and one started on AWS take the very
 * same lease and cannot race. Found from the stage name (`--stage` or `STEPOPS_STAGE`, the tables
 * and topics are named by the stacks) in the stage's region (`STEPOPS_REGION`, as `sst deploy`
 * uses it); `STEPOPS_STATE_TABLE` and `STEPOPS_ALERTS_TOPIC_ARN` name them directly.
 */
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../shared/drivers/aws/clients.ts';
import { stageResourceNames } from '../shared/drivers/options.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { stageRegion } from './stage-region.ts';

export { DEFAULT_STAGE_REGION, stageRegion } from './stage-region.ts';

/** What a run of an `ec2` target uses of its stage. */
export interface StageResources {
  stage?: string;
  region: string;
  stateTable: string;
  alertsTopicArn: string;
}

/** No AWS credentials were found: the message says which variables to set. */
export class MissingCredentialsError extends InvalidInputError {
  constructor(message: string) {
    super(message);
    this.name = 'MissingCredentialsError';
  }
}

/** Options of {@link stageResources}; the AWS parts are injectable for tests. */
export interface StageOptions {
  /** `--stage`; `STEPOPS_STAGE` when omitted. */
  stage?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolves credentials (the SDK's default provider chain, as the clients use it, by default). */
  credentials?: (region: string) => Promise<unknown>;
  /** The DynamoDB client of the stage's region. */
  client?: (region: string) => DynamoDBClient;
}

/** The default credential provider chain of the SDK, resolved as the DynamoDB client resolves it. */
async function defaultCredentials(region: string): Promise<unknown> {
  return dynamoClient(region).config.credentials();
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

/**
 * The stage's state table and alerts topic, after checking that AWS credentials are there.
 *
 * @example
 * const stage = await stageResources('zmanim', { stage: 'prod' });
 * // { stage: 'prod', region: 'eu-west-1', stateTable: 'stepops-prod-state', alertsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:stepops-prod-alerts' }
 * @throws InvalidInputError when no stage is named, MissingCredentialsError without credentials,
 * InvalidInputError when the stage's table does not exist
 */
export async function stageResources(target: string, options: StageOptions = {}): Promise<StageResources> {
  const env = options.env ?? process.env;
  const stage = options.stage ?? (env.STEPOPS_STAGE?.trim() || undefined);
  if (stage !== undefined && !/^[a-z][a-z0-9-]{0,29}$/.test(stage)) {
    throw new InvalidInputError(`stage "${stage}": expected lowercase letters, digits and dashes`);
  }
  const names = stage ? stageResourceNames(stage) : undefined;
  const stateTable = env.STEPOPS_STATE_TABLE?.trim() || names?.stateTable;
  const explicitTopic = env.STEPOPS_ALERTS_TOPIC_ARN?.trim() || undefined;
  if (!stateTable || (!explicitTopic && !names)) {
    throw new InvalidInputError(
      `target "${target}" has ec2 hosts: its deploys take the stage's DynamoDB lease and publish to the stage's SNS topic, ` +
        'so that a run from here cannot race one started on AWS; name the stage with --stage <stage> (or STEPOPS_STAGE), ' +
        'or set STEPOPS_STATE_TABLE and STEPOPS_ALERTS_TOPIC_ARN',
    );
  }
  const region = stageRegion(env);
  try {
    await (options.credentials ?? defaultCredentials)(region);
  } catch (error) {
    throw new MissingCredentialsError(
      `no AWS credentials found (${(error as Error).message?.split('\n')[0] ?? String(error)}): set AWS_PROFILE ` +
        '(a profile of ~/.aws/config) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_REGION; ' +
        `the stage's table ${stateTable} is looked up in ${region} (STEPOPS_REGION); nothing was started`,
    );
  }
  if (explicitTopic)
    return { ...(stage ? { stage } : {}), region, stateTable, alertsTopicArn: explicitTopic };
  const client = (options.client ?? dynamoClient)(region);
  let tableArn: string | undefined;
  try {
    tableArn = (await client.send(new DescribeTableCommand({ TableName: stateTable }))).Table?.TableArn;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      throw new InvalidInputError(
        `stage "${stage}" has no state table ${stateTable} in ${region}: deploy the stage (npx sst deploy --stage ${stage}) or set STEPOPS_REGION to its region`,
      );
    }
    throw error;
  }
  const [, partition, , , account] = tableArn?.split(':') ?? [];
  if (!partition || !account || !names) {
    throw new InvalidInputError(`the state table ${stateTable} has no ARN to find the stage's account from`);
  }
  return {
    ...(stage ? { stage } : {}),
    region,
    stateTable,
    alertsTopicArn: `arn:${partition}:sns:${region}:${account}:${names.alertsTopic}`,
  };
}
