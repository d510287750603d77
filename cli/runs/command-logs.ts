/**
 * The end of a command's output on an EC2 host from CloudWatch Logs, where the stage sends every
 * command's full output (`STEPOPS_COMMAND_LOG_GROUP`): SSM's `GetCommandInvocation` keeps only the
 * first 24,000 characters of stdout, so the error at the end of a long build is only here. SSM
 * names the streams `<command id>/<instance id>/<plugin>/stdout` and `…/stderr`.
 */
import {
  type CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';

/**
 * The last `lines` lines a command wrote on a host (stdout, then stderr when it wrote any), or
 * undefined when the group holds no stream of it.
 *
 * @example
 * await cloudWatchTail(new CloudWatchLogsClient({}), '/stepops/prod/commands', 'c-1', 'i-0abc', 20)
 */
export async function cloudWatchTail(
  client: CloudWatchLogsClient,
  logGroupName: string,
  commandId: string,
  instanceId: string,
  lines: number,
): Promise<string | undefined> {
  const streams = await client.send(
    new DescribeLogStreamsCommand({ logGroupName, logStreamNamePrefix: `${commandId}/${instanceId}/` }),
  );
  const names = (streams.logStreams ?? []).map((s) => s.logStreamName ?? '').filter(Boolean);
  const ordered = [
    ...names.filter((n) => n.endsWith('/stdout')),
    ...names.filter((n) => n.endsWith('/stderr')),
  ];
  if (ordered.length === 0) return undefined;
  const parts: string[] = [];
  for (const logStreamName of ordered) {
    // Newest last: startFromHead false reads the end of the stream, `limit` events back.
    const page = await client.send(
      new GetLogEventsCommand({
        logGroupName,
        logStreamName,
        startFromHead: false,
        limit: Math.min(10_000, lines),
      }),
    );
    const text = (page.events ?? []).map((e) => (e.message ?? '').replace(/\n$/, '')).join('\n');
    if (text.trim()) parts.push(logStreamName.endsWith('/stderr') ? `[stderr]\n${text}` : text);
  }
  return parts.join('\n');
}
