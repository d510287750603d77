/**
 * Orchestration overhead: the wall time of a deploy whose one step sleeps S seconds, minus the time
 * the step itself ran (it records its own start and end), for several long-poll intervals of the
 * poll Lambda.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'aws-lambda';
import { clearRegisteredTargets, registerTarget } from '../shared/config/registry.ts';
import { pollCommandInputSchema } from '../shared/deploy/contracts.ts';
import { type DeployDeps, defaultDeployDeps } from '../shared/deploy/deps.ts';
import {
  COMMAND_POLL_FIRST_MS,
  COMMAND_POLL_MAX_MS,
  pollCommandStep,
} from '../shared/deploy/steps/poll-command.ts';
import {
  createLocalEngine,
  type LambdaHandler,
  type LocalEngine,
  type RunResult,
} from '../shared/engine/index.ts';
import { createFixtureLab, type FixtureLab, fixtureTarget } from './fixtures.ts';
import { loadDeploy, withStepopsHome } from './harness.ts';
import type { OverheadRow, OverheadSection } from './report.ts';
import { median, restOfOverhead } from './stats.ts';

export interface SectionOptions {
  quick: boolean;
  log: (line: string) => void;
}

/** The step: sleep S seconds between two timestamps it appends to `../times` (ns since the epoch). */
export function sleepStep(seconds: number): { name: string; script: string; timeout: number } {
  return {
    name: 'work',
    script: [
      'start=$(date +%s%N)',
      `sleep ${seconds}`,
      'end=$(date +%s%N)',
      'printf \'%s %s\\n\' "$start" "$end" >> ../times',
    ].join('\n'),
    timeout: Math.ceil(seconds) + 60,
  };
}

/** The last `start end` pair the step wrote, in epoch milliseconds. */
async function lastScriptSpan(lab: FixtureLab): Promise<{ startMs: number; endMs: number }> {
  const lines = (await readFile(path.join(lab.dir, 'times'), 'utf8')).trim().split('\n');
  const [start, end] = (lines.at(-1) ?? '').split(' ').map((v) => Number(BigInt(v) / 1000n) / 1000);
  if (!start || !end) throw new Error('the step did not record its start and end');
  return { startMs: start, endMs: end };
}

/** The long-polling Lambda of the deploy workflow. */
export const POLL_FUNCTION = 'poll-command';

/**
 * Milliseconds from the end of the script to the end of the poll Task that saw it finish: the
 * part of the overhead the long-poll interval sets. Undefined when no poll Task ended after it.
 *
 * @example
 * detectionLatencyMs(result, span.endMs) // 755
 */
export function detectionLatencyMs(
  result: Pick<RunResult, 'trace'>,
  scriptEndMs: number,
  pollFunction: string = POLL_FUNCTION,
): number | undefined {
  const pollStates = new Set(
    result.trace.invocations.filter((i) => i.functionName === pollFunction).map((i) => i.state),
  );
  const exit = result.trace.events.find(
    (e) =>
      e.kind === 'state-exited' && e.state !== undefined && pollStates.has(e.state) && e.at >= scriptEndMs,
  );
  return exit ? exit.at - scriptEndMs : undefined;
}

/** One poll schedule of the poll Lambda: as built, or a fixed pause between status reads. */
export interface PollSchedule {
  label: string;
  /** Fixed pause in ms; undefined: the handler as built. */
  fixedMs?: number;
}

/** The schedules measured: the one built in, and fixed pauses either side of it. */
export const POLL_SCHEDULES: readonly PollSchedule[] = [
  { label: `as built: ${COMMAND_POLL_FIRST_MS} → ${COMMAND_POLL_MAX_MS} ms backoff` },
  { label: 'fixed 100 ms', fixedMs: 100 },
  { label: 'fixed 500 ms', fixedMs: 500 },
  { label: 'fixed 2000 ms', fixedMs: 2000 },
];

/**
 * The poll-command handler with a fixed pause between status reads. The pause is not an option of
 * the handler (`COMMAND_POLL_FIRST_MS`/`COMMAND_POLL_MAX_MS` are constants in shared/deploy/steps/poll-command.ts),
 * so the benchmark runs the same step function, `pollCommandStep`, with the real dependencies except
 * `sleep`, which pauses `fixedMs` whatever it is asked.
 */
export function fixedIntervalPollHandler(fixedMs: number): LambdaHandler {
  const real = defaultDeployDeps();
  const deps: DeployDeps = { ...real, sleep: () => sleep(fixedMs) };
  return (event: never, context: Context) =>
    pollCommandStep(pollCommandInputSchema.parse(event), deps, () => context.getRemainingTimeInMillis());
}

/** Runs one series (every S, its runs in turn) on its own lab and target. */
async function series(
  engine: LocalEngine,
  schedule: PollSchedule,
  pollArn: string,
  plan: readonly { sleepSeconds: number; runs: number }[],
  index: number,
  log: (line: string) => void,
): Promise<OverheadRow[]> {
  const lab = await createFixtureLab(`overhead-${index}`);
  const overrides =
    schedule.fixedMs === undefined ? {} : { [pollArn]: fixedIntervalPollHandler(schedule.fixedMs) };
  const rows: OverheadRow[] = [];
  try {
    for (const { sleepSeconds, runs } of plan) {
      const name = `bench-sleep-${index}-${String(sleepSeconds).replace('.', 'p')}`;
      registerTarget(fixtureTarget({ name, lab, steps: [sleepStep(sleepSeconds)] }));
      const row: OverheadRow = {
        sleepSeconds,
        runs,
        wallMs: [],
        scriptMs: [],
        overheadMs: [],
        detectionMs: [],
        medianOverheadMs: 0,
      };
      for (let i = 0; i < runs; i += 1) {
        await rm(path.join(lab.dir, 'times'), { force: true });
        const started = performance.now();
        const result = await engine.start(
          { target: name, ref: 'v1', requestedBy: 'bench' },
          { handlerOverrides: overrides },
        ).result;
        const wallMs = performance.now() - started;
        if (result.status !== 'SUCCEEDED') {
          throw new Error(
            `deploy with S = ${sleepSeconds} failed: ${result.error}: ${result.cause?.slice(0, 200)}`,
          );
        }
        const span = await lastScriptSpan(lab);
        const scriptMs = span.endMs - span.startMs;
        row.wallMs.push(wallMs);
        row.scriptMs.push(scriptMs);
        row.overheadMs.push(wallMs - scriptMs);
        const latency = detectionLatencyMs(result, span.endMs);
        if (latency !== undefined) row.detectionMs.push(latency);
      }
      row.medianOverheadMs = median(row.overheadMs);
      log(
        `  ${schedule.label}, S = ${sleepSeconds} s: overhead ${row.overheadMs.map((v) => v.toFixed(0)).join(', ')} ms; detection ${row.detectionMs.map((v) => v.toFixed(0)).join(', ')} ms`,
      );
      rows.push(row);
    }
  } finally {
    await lab.dispose();
  }
  return rows;
}

/**
 * Measures the overhead for S = 1, 5 and 20 s under each poll schedule. The series of the
 * schedules run at the same time (each on its own lab and target, so their leases do not meet);
 * within a series the runs are one after another.
 *
 * @example
 * const section = await benchOverhead({ quick: false, log: console.error });
 */
export async function benchOverhead(options: SectionOptions): Promise<OverheadSection> {
  const deploy = await loadDeploy();
  const pollArn = deploy.arns[POLL_FUNCTION];
  if (!pollArn) throw new Error(`the deploy workflow has no ${POLL_FUNCTION} function`);
  const engine = createLocalEngine(deploy.definition, deploy.handlersByArn);
  const plan = options.quick
    ? [{ sleepSeconds: 1, runs: 1 }]
    : [
        { sleepSeconds: 1, runs: 3 },
        // Ends just after a status read of the as-built schedule (reads at 0, 0.25, 0.75, 1.25 … 2.75 s):
        // close to its worst case.
        { sleepSeconds: 2.8, runs: 2 },
        { sleepSeconds: 5, runs: 3 },
        { sleepSeconds: 20, runs: 2 },
      ];
  const schedules = options.quick ? POLL_SCHEDULES.slice(0, 2) : POLL_SCHEDULES;
  const outcomes = await withStepopsHome(async () => {
    try {
      // Every series finishes (and removes its lab) before a failure is reported.
      const settled = await Promise.allSettled(
        schedules.map((schedule, index) => series(engine, schedule, pollArn, plan, index, options.log)),
      );
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.map((s) => (s as PromiseFulfilledResult<OverheadRow[]>).value);
    } finally {
      clearRegisteredTargets();
    }
  });
  const byInterval = schedules.map((schedule, i) => ({
    interval: schedule.label,
    asBuilt: schedule.fixedMs === undefined,
    longestPauseMs: schedule.fixedMs ?? COMMAND_POLL_MAX_MS,
    rows: outcomes[i]!,
  }));
  return {
    status: 'ok',
    goalMs: 1000,
    note: overheadNote(byInterval),
    byInterval,
  };
}

/**
 * Status reads one command costs in its first minute of running under a schedule: a read at once,
 * then one after each pause (the first pause, doubling up to the longest). The time a read takes
 * is left out, so this is the most it can cost.
 *
 * @example
 * statusReadsPerMinute(250, 500) // 121
 * statusReadsPerMinute(100, 100) // 600
 */
export function statusReadsPerMinute(firstMs: number, longestMs: number): number {
  let reads = 1;
  let pause = firstMs;
  for (let at = pause; at < 60_000; at += pause) {
    reads += 1;
    pause = Math.min(longestMs, pause * 2);
  }
  return reads;
}

/**
 * Explains the overhead from the measurements: the part that waits for the next status read
 * (detection) and the rest of the orchestration.
 *
 * @example
 * overheadNote(section.byInterval)
 */
export function overheadNote(byInterval: OverheadSection['byInterval']): string {
  const lines = [
    `The poll-command Lambda reads the command status, then pauses before the next read: as built ${COMMAND_POLL_FIRST_MS} ms, doubling up to ${COMMAND_POLL_MAX_MS} ms (COMMAND_POLL_FIRST_MS / COMMAND_POLL_MAX_MS in shared/deploy/steps/poll-command.ts); the fixed schedules run the same step function with a fixed pause. Detection is the time from the end of the script to the end of the poll Task that saw it; the rest is everything else (plan, lock, send, health gate, release, notify, engine).`,
  ];
  for (const { interval, rows, longestPauseMs, asBuilt } of byInterval) {
    const detection = rows.flatMap((r) => r.detectionMs);
    const rest = restOfOverhead(rows);
    if (detection.length === 0 || rest === undefined) continue;
    const reads = asBuilt
      ? statusReadsPerMinute(COMMAND_POLL_FIRST_MS, COMMAND_POLL_MAX_MS)
      : statusReadsPerMinute(longestPauseMs, longestPauseMs);
    lines.push(
      `${interval}: detection median ${median(detection).toFixed(0)} ms (max ${Math.max(...detection).toFixed(0)} ms), the rest median ${rest.toFixed(0)} ms, so about ${(rest + longestPauseMs).toFixed(0)} ms at worst (a script ending just after a read); at most ${reads} status reads per command-minute.`,
    );
  }
  lines.push(
    'A status read is one SSM call: GetCommandInvocation for a command of one host, and ListCommands by command id for a command of several hosts (up to 50) while it runs, each host read once when it has finished; so the reads per command-minute are SSM calls per minute, whatever the batch size. SSM publishes no fixed rate for these two read actions: an account whose calls exceed what SSM allows gets ThrottlingException, which the SDK retries with backoff. As built, that is at most 2 calls a second per running command (10 commands polled at once: 20 a second); the schedule before this one, 250 → 1000 ms, made at most 62 a minute.',
    'Detection under a pause p lies between 0 and p, depending on where the script ends between two reads; with the as-built schedule (reads at 0, 0.25, 0.75, 1.25 s … every 0.5 s) a whole-second S ends about 0.25 s before the next read, and S = 2.8 s ends just after one, near the worst case of about the longest pause plus the rest.',
    'The series run concurrently (each mostly sleeping) to fit the time budget.',
  );
  return lines.join(' ');
}
