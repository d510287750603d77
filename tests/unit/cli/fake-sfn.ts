/**
 * Step Functions mocked at the command level for the CLI tests: state machines (paged), executions
 * started and described, and histories paged as `GetExecutionHistory` pages them, forward or newest
 * first, that grow call by call as a running execution's do.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const machineArn = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
export const executionArnOf = (machine: string, name: string) =>
  `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine}:${name}`;

interface FakeExecution {
  description: DescribeExecutionCommandOutput;
  /** The whole history; `revealed` events of it exist so far. */
  history: HistoryEvent[];
  revealed: number;
  /** Events revealed per history call (a running execution moving on). */
  step: number;
  /** How it ends once its history is all revealed. */
  end?: { status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT'; error?: string; cause?: string };
}

/** A mocked SFN client with the stepops state machines of some stages. */
export function fakeSfn(stages: Record<string, string[]>) {
  const mock = mockClient(SFNClient);
  const client = new SFNClient({ region: REGION });
  const executions = new Map<string, FakeExecution>();
  const machines = Object.entries(stages).flatMap(([stage, workflows]) =>
    workflows.map((w) => ({
      name: `stepops-${stage}-${w}`,
      stateMachineArn: machineArn(`stepops-${stage}-${w}`),
      type: 'STANDARD' as const,
      creationDate: new Date('2026-11-01T00:00:00Z'),
    })),
  );
  const all = [
    {
      name: 'unrelated-machine',
      stateMachineArn: machineArn('unrelated-machine'),
      type: 'EXPRESS' as const,
      creationDate: new Date(),
    },
    ...machines,
  ];
  // Two per page, as a real account with many machines pages them.
  mock.on(ListStateMachinesCommand).callsFake(({ nextToken }: { nextToken?: string }) => {
    const from = nextToken ? Number(nextToken) : 0;
    return {
      stateMachines: all.slice(from, from + 2),
      ...(from + 2 < all.length ? { nextToken: String(from + 2) } : {}),
    };
  });
  mock.on(DescribeExecutionCommand).callsFake(({ executionArn }: { executionArn: string }) => {
    const found = executions.get(executionArn);
    if (!found) throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
    return found.description;
  });
  mock
    .on(ListExecutionsCommand)
    .callsFake(
      ({
        stateMachineArn,
        statusFilter,
        nextToken,
      }: {
        stateMachineArn: string;
        statusFilter?: string;
        nextToken?: string;
      }) => {
        const list = [...executions.values()]
          .map((e) => e.description)
          .filter(
            (d) => d.stateMachineArn === stateMachineArn && (!statusFilter || d.status === statusFilter),
          )
          .sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0))
          .map((d) => ({
            executionArn: d.executionArn!,
            stateMachineArn: d.stateMachineArn!,
            name: d.name!,
            status: d.status!,
            startDate: d.startDate!,
            ...(d.stopDate ? { stopDate: d.stopDate } : {}),
          }));
        const from = nextToken ? Number(nextToken) : 0;
        return {
          executions: list.slice(from, from + 2),
          ...(from + 2 < list.length ? { nextToken: String(from + 2) } : {}),
        };
      },
    );
  mock
    .on(GetExecutionHistoryCommand)
    .callsFake(
      ({
        executionArn,
        reverseOrder,
        maxResults,
        nextToken,
      }: {
        executionArn: string;
        reverseOrder?: boolean;
        maxResults?: number;
        nextToken?: string;
      }) => {
        const found = executions.get(executionArn);
        if (!found) throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
        if (!nextToken) {
          found.revealed = Math.min(found.history.length, found.revealed + found.step);
          if (found.revealed === found.history.length && found.end) {
            Object.assign(found.description, found.end, { stopDate: found.history.at(-1)?.timestamp });
          }
        }
        const visible = found.history.slice(0, found.revealed);
        const ordered = reverseOrder ? [...visible].reverse() : visible;
        const size = maxResults || 100;
        const from = nextToken ? Number(nextToken.split(':')[1]) : 0;
        const events = ordered.slice(from, from + size);
        return { events, ...(from + size < ordered.length ? { nextToken: `page:${from + size}` } : {}) };
      },
    );

  /** Adds an execution of `stepops-<stage>-<workflow>` with its history. */
  function addExecution(options: {
    stage: string;
    workflow?: string;
    name: string;
    input: object;
    history: HistoryEvent[];
    status?: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
    end?: FakeExecution['end'];
    step?: number;
    startDate?: Date;
  }): string {
    const machine = `stepops-${options.stage}-${options.workflow ?? 'deploy'}`;
    const arn = executionArnOf(machine, options.name);
    const running = options.status === undefined || options.status === 'RUNNING';
    executions.set(arn, {
      description: {
        executionArn: arn,
        stateMachineArn: machineArn(machine),
        name: options.name,
        status: options.status ?? 'RUNNING',
        input: JSON.stringify(options.input),
        startDate: options.startDate ?? options.history[0]?.timestamp ?? new Date(),
        ...(!running && options.history.at(-1)?.timestamp
          ? { stopDate: options.history.at(-1)!.timestamp }
          : {}),
        ...(options.end && !running ? options.end : {}),
        $metadata: {},
      },
      history: options.history,
      revealed: running ? 0 : options.history.length,
      step: options.step ?? (running ? 10 : options.history.length),
      ...(options.end ? { end: options.end } : {}),
    });
    return arn;
  }

  /** StartExecution adds a running execution whose history is `history` (revealed `step` events a call). */
  function onStart(history: HistoryEvent[], end: FakeExecution['end'], step = 10) {
    mock
      .on(StartExecutionCommand)
      .callsFake(
        ({ stateMachineArn, name, input }: { stateMachineArn: string; name: string; input: string }) => {
          const machine = stateMachineArn.split(':').pop()!;
          const arn = executionArnOf(machine, name);
          const existing = executions.get(arn);
          // As Step Functions answers a name used before: the same input of a running execution is
          // idempotent; a closed one, or another input, is ExecutionAlreadyExists.
          if (existing) {
            if (existing.description.status === 'RUNNING' && existing.description.input === input) {
              return { executionArn: arn, startDate: existing.description.startDate };
            }
            throw new ExecutionAlreadyExists({
              message: `Execution Already Exists: '${arn}'`,
              $metadata: {},
            });
          }
          executions.set(arn, {
            description: {
              executionArn: arn,
              stateMachineArn,
              name,
              status: 'RUNNING',
              input,
              startDate: history[0]?.timestamp ?? new Date(),
              $metadata: {},
            },
            history,
            revealed: 0,
            step,
            ...(end ? { end } : {}),
          });
          return { executionArn: arn, startDate: new Date() };
        },
      );
  }

  return { mock, client, executions, addExecution, onStart };
}
