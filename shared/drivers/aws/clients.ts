/**
 * Every AWS SDK client getter, for the CLI and tests. Code bundled into a Lambda imports the
 * getter of each service from its own module (`ssm-client.ts`, …) and the region helpers from
 * `regions.ts`, so that a client loaded on a rare path through a dynamic `import()` is not
 * evaluated at cold start by way of this module.
 */
export { backupClient } from './backup-client.ts';
export { dynamoClient } from './dynamo-client.ts';
export { ec2Client } from './ec2-client.ts';
export { elbv2Client } from './elbv2-client.ts';
export { rdsClient } from './rds-client.ts';
export { cachedClient, defaultRegion, regionOfArn } from './regions.ts';
export { snsClient } from './sns-client.ts';
export { ssmClient } from './ssm-client.ts';
