/**
 * From what a run did (its state transitions and its Lambda invocations with their durations) to
 * the usage AWS bills. Pure: the caller extracts these from the engine's trace.
 */
import { gbSeconds, type RunUsage } from './pricing.ts';

/** Memory of a Lambda when its stack does not say: the figure `bench/` quotes when it uses it. */
export const DEFAULT_MEMORY_MB = 256;

/** One Lambda invocation as the trace records it. */
export interface Invocation {
  /** The function's name (`functions/<name>`), used to look up its memory. */
  functionName: string;
  /** Measured handler time in milliseconds. */
  durationMs: number;
}

/** What a run did, as far as billing is concerned. */
export interface RunActivity {
  /** State transitions counted by the engine (every state entered, retries included). */
  transitions: number;
  invocations: readonly Invocation[];
}

/** Usage of a run plus the per-function breakdown behind it. */
export interface UsageReport extends RunUsage {
  byFunction: Record<
    string,
    { invocations: number; durationMs: number; memoryMb: number; gbSeconds: number }
  >;
}

/**
 * Bills a run: one request per invocation, and each invocation's duration (rounded up to 1 ms)
 * times its function's memory.
 *
 * @param memoryMb - memory per function name; functions not listed get `defaultMemoryMb`
 * @example
 * usageOf({ transitions: 7, invocations: [{ functionName: 'plan-deploy', durationMs: 12.3 }] }, {}, 256)
 * // { transitions: 7, invocations: 1, gbSeconds: 0.25 * 0.013, byFunction: { 'plan-deploy': … } }
 */
export function usageOf(
  activity: RunActivity,
  memoryMb: Readonly<Record<string, number>> = {},
  defaultMemoryMb: number = DEFAULT_MEMORY_MB,
): UsageReport {
  const byFunction: UsageReport['byFunction'] = {};
  let total = 0;
  for (const { functionName, durationMs } of activity.invocations) {
    const memory = memoryMb[functionName] ?? defaultMemoryMb;
    const gbs = gbSeconds(memory, durationMs);
    const entry = byFunction[functionName] ?? {
      invocations: 0,
      durationMs: 0,
      memoryMb: memory,
      gbSeconds: 0,
    };
    byFunction[functionName] = entry;
    entry.invocations += 1;
    entry.durationMs += durationMs;
    entry.gbSeconds += gbs;
    total += gbs;
  }
  return {
    transitions: activity.transitions,
    invocations: activity.invocations.length,
    gbSeconds: total,
    byFunction,
  };
}
