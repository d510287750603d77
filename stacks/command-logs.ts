/**
 * The CloudWatch Logs group that Run Command sends every command's full output to, when the stage
 * names one (`STEPOPS_COMMAND_LOG_GROUP`): created here with a retention, so that it neither keeps
 * output forever nor needs `logs:CreateLogGroup` on the instances. The instances write to it; their
 * role's permissions are in the README ("Full command output").
 */

/** Days the command output is kept. */
export const COMMAND_LOG_RETENTION_DAYS = 90;

/**
 * Creates the command log group.
 *
 * @example
 * createCommandLogGroup('/stepops/prod/commands');
 */
export function createCommandLogGroup(name: string) {
  return new aws.cloudwatch.LogGroup('CommandLogs', {
    name,
    retentionInDays: COMMAND_LOG_RETENTION_DAYS,
  });
}
