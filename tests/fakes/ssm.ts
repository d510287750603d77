/**
 * A stateful SSM Run Command on aws-sdk-client-mock, answering as the Systems Manager API reference
 * documents:
 *
 * - `GetCommandInvocation` right after `SendCommand` may answer `InvocationDoesNotExist` (the
 *   invocation is created asynchronously; GetCommandInvocation errors: "The command id and instance
 *   id you specified didn't match any invocations"): {@link SsmSwitches.invisibleReads}.
 * - Its `StandardOutputContent` is "the first 24,000 characters written by the plugin to stdout"
 *   and `StandardErrorContent` "the first 8,000 characters written by the plugin to stderr".
 * - `ListCommands` filter values: `InvokedAfter`/`InvokedBefore` take a timestamp written as
 *   `2021-07-07T00:00:00Z` (CommandFilter, "value"); a value with milliseconds is refused with a
 *   `ValidationException` ("Common Errors": the input fails to satisfy the constraints), and an
 *   unknown key with `InvalidFilterKey`.
 * - Throttling comes in bursts: the API answers `ThrottlingException` ("Rate exceeded") when calls
 *   arrive faster than its token bucket refills ("Systems Manager endpoints and quotas", API
 *   throttling). Here: more than {@link SsmSwitches.maxInFlight} calls of one operation at once, or
 *   the next N calls of an operation ({@link SsmSwitches.throttle}).
 *
 * What each instance does with a script is `run` (default: succeeds with no output); a test may run
 * it with bash.
 */
import { setImmediate as tick } from 'node:timers/promises';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvalidFilterKey,
  InvocationDoesNotExist,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { answer, awsError, CallLog, type Input } from './common.ts';

/** Ids AWS hands out are never reused: one counter for every fake account of the process. */
let serial = 0;

/** What one instance made of a script. */
export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What an instance does with a script it is sent (the command's comment says which run and phase). */
export type ScriptRunner = (script: string, instanceId: string, command: { comment: string }) => ScriptResult;

export interface FakeInvocation extends ScriptResult {
  instanceId: string;
  /** Reads that still answer InvocationDoesNotExist. */
  invisibleReads: number;
  /** Reads that still answer InProgress. */
  runningReads: number;
}

export interface FakeCommand {
  id: string;
  comment: string;
  documentName: string;
  script: string;
  requestedAt: Date;
  invocations: Map<string, FakeInvocation>;
}

export interface SsmSwitches {
  /** GetCommandInvocation reads that answer InvocationDoesNotExist after a send (default 1). */
  invisibleReads: number;
  /** Reads that answer InProgress before the final status (default 0). */
  runningReads: number;
  /** Calls of one operation that may be in flight at once before the next is throttled. */
  maxInFlight: number;
  /** The next N calls of an operation answer ThrottlingException. */
  throttle: Partial<Record<string, number>>;
}

export interface FakeSsm {
  mock: AwsClientStub<SSMClient>;
  commands: Map<string, FakeCommand>;
  /** Instances whose agent is online, by id. */
  online: Set<string>;
  switches: SsmSwitches;
  /** The most calls of each operation seen in flight at once. */
  peakInFlight: Map<string, number>;
  /** Calls answered with ThrottlingException, per operation. */
  throttled: Map<string, number>;
  restore(): void;
}

/** The format CommandFilter documents for InvokedAfter/InvokedBefore. */
const FILTER_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const FILTER_KEYS = new Set(['InvokedAfter', 'InvokedBefore', 'Status', 'ExecutionStage', 'DocumentName']);
const meta = { $metadata: {} };

/**
 * Installs the SSM fake.
 *
 * @example
 * const ssm = fakeSsm(log, { run: (script, id) => ({ code: 0, stdout: 'ok', stderr: '' }) });
 */
export function fakeSsm(
  log: CallLog = new CallLog(),
  options: Partial<SsmSwitches> & { run?: ScriptRunner } = {},
): FakeSsm {
  const { run = () => ({ code: 0, stdout: '', stderr: '' }), ...switches } = options;
  const mock = mockClient(SSMClient);
  const commands = new Map<string, FakeCommand>();
  const online = new Set<string>();
  const sw: SsmSwitches = { invisibleReads: 1, runningReads: 0, maxInFlight: 10, throttle: {}, ...switches };
  const inFlight = new Map<string, number>();
  const peakInFlight = new Map<string, number>();
  const throttled = new Map<string, number>();

  /** Runs one call as the API would under its rate limit: concurrent calls overlap here. */
  const limited = <I extends object, O>(operation: string, fn: (input: I) => O) =>
    answer(log, `ssm:${operation}`, async (input: I) => {
      const now = (inFlight.get(operation) ?? 0) + 1;
      inFlight.set(operation, now);
      peakInFlight.set(operation, Math.max(peakInFlight.get(operation) ?? 0, now));
      try {
        await tick();
        const burst = sw.throttle[operation] ?? 0;
        if (burst > 0 || now > sw.maxInFlight) {
          if (burst > 0) sw.throttle[operation] = burst - 1;
          throttled.set(operation, (throttled.get(operation) ?? 0) + 1);
          throw awsError('ThrottlingException', 'Rate exceeded', { status: 400 });
        }
        return fn(input);
      } finally {
        inFlight.set(operation, (inFlight.get(operation) ?? 1) - 1);
      }
    });

  /** A command as a whole: InProgress while an instance still runs it (each read is time passing). */
  const statusOf = (command: FakeCommand): string => {
    const all = [...command.invocations.values()];
    const running = all.some((i) => i.runningReads > 0);
    for (const i of all) if (i.runningReads > 0) i.runningReads -= 1;
    if (running) return 'InProgress';
    return all.every((i) => i.code === 0) ? 'Success' : 'Failed';
  };

  mock.on(SendCommandCommand).callsFake(
    limited('SendCommand', (input: Input) => {
      serial += 1;
      const id = `${serial.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
      const script = (input.Parameters?.commands ?? []).join('\n');
      const command: FakeCommand = {
        id,
        comment: input.Comment ?? '',
        documentName: input.DocumentName,
        script,
        requestedAt: new Date(),
        invocations: new Map(),
      };
      for (const instanceId of (input.InstanceIds ?? []) as string[]) {
        command.invocations.set(instanceId, {
          instanceId,
          ...run(script, instanceId, { comment: command.comment }),
          invisibleReads: sw.invisibleReads,
          runningReads: sw.runningReads,
        });
      }
      commands.set(id, command);
      return {
        Command: {
          CommandId: id,
          Comment: command.comment,
          DocumentName: command.documentName,
          Status: 'Pending',
          TargetCount: command.invocations.size,
          CompletedCount: 0,
        },
      };
    }),
  );

  mock.on(GetCommandInvocationCommand).callsFake(
    limited('GetCommandInvocation', (input: Input) => {
      const invocation = commands.get(input.CommandId)?.invocations.get(input.InstanceId);
      if (!invocation || invocation.invisibleReads > 0) {
        if (invocation) invocation.invisibleReads -= 1;
        throw new InvocationDoesNotExist({ message: 'InvocationDoesNotExist', ...meta });
      }
      if (invocation.runningReads > 0) {
        invocation.runningReads -= 1;
        return {
          CommandId: input.CommandId,
          InstanceId: input.InstanceId,
          Status: 'InProgress',
          ResponseCode: -1,
        };
      }
      const status = invocation.code === 0 ? 'Success' : 'Failed';
      return {
        CommandId: input.CommandId,
        InstanceId: input.InstanceId,
        Status: status,
        StatusDetails: status,
        ResponseCode: invocation.code,
        StandardOutputContent: invocation.stdout.slice(0, 24_000),
        StandardErrorContent: invocation.stderr.slice(0, 8_000),
      };
    }),
  );

  mock.on(ListCommandsCommand).callsFake(
    limited('ListCommands', (input: Input) => {
      let found = [...commands.values()];
      if (input.CommandId) found = found.filter((c) => c.id === input.CommandId);
      for (const filter of (input.Filters ?? []) as { key: string; value: string }[]) {
        if (!FILTER_KEYS.has(filter.key)) throw new InvalidFilterKey({ message: `${filter.key}`, ...meta });
        if (filter.key === 'InvokedAfter' || filter.key === 'InvokedBefore') {
          if (!FILTER_TIME.test(filter.value)) {
            throw awsError(
              'ValidationException',
              `Invalid value for filter ${filter.key}: ${filter.value}; expected a timestamp such as 2021-07-07T00:00:00Z`,
            );
          }
          const at = Date.parse(filter.value);
          found = found.filter((c) =>
            filter.key === 'InvokedAfter' ? c.requestedAt.getTime() >= at : c.requestedAt.getTime() < at,
          );
        } else if (filter.key === 'DocumentName') {
          found = found.filter((c) => c.documentName === filter.value);
        }
      }
      return {
        Commands: found.map((c) => {
          const status = statusOf(c);
          const done = [...c.invocations.values()].filter((i) => i.runningReads === 0);
          return {
            CommandId: c.id,
            Comment: c.comment,
            DocumentName: c.documentName,
            RequestedDateTime: c.requestedAt,
            Status: status,
            TargetCount: c.invocations.size,
            CompletedCount: status === 'InProgress' ? done.length : c.invocations.size,
          };
        }),
      };
    }),
  );

  mock.on(DescribeInstanceInformationCommand).callsFake(
    limited('DescribeInstanceInformation', () => ({
      InstanceInformationList: [...online].map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })),
    })),
  );

  return {
    mock,
    commands,
    online,
    switches: sw,
    peakInFlight,
    throttled,
    restore: () => mock.restore(),
  };
}
