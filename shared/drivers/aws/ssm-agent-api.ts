/**
 * What the `ssm-agent` health probe sends, in a module of its own that the probe loads with a
 * dynamic `import()` when it first runs, so that a function bundling the probe does not evaluate
 * the SSM client at cold start for it.
 */
export { DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
export { ssmClient } from './ssm-client.ts';
