/**
 * What the `ec2-status` health probe sends, in a module of its own that the probe loads with a
 * dynamic `import()` when it first runs: most targets probe over HTTP, and a function that bundles
 * the probe does not evaluate the EC2 client at cold start.
 */
export { DescribeInstanceStatusCommand } from '@aws-sdk/client-ec2';
export { ec2Client } from './ec2-client.ts';
