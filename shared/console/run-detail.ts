/**
 * A run's detail for the console from its recorded events: the states as timeline bars, the state
 * that failed first with its error, the tail of the commands' output, and the hosts of each batch.
 */
import type { RunTrace, TraceEvent } from '../engine/trace.ts';
import type { TimelineBar } from './html.ts';

/** Characters of output the page shows, at most (the end of it). */
export const OUTPUT_TAIL_CHARS = 4000;

const OUTPUT_FIELDS = new Set(['outputTail', 'stdout', 'stderr', 'output']);

/**
 * The state of the run that failed first (the original failure, before any catch re-threw it). A
 * batch's failure carries the state that failed inside it as JSON (`{ state, error, message }`):
 * that state, its error and its message are shown instead.
 *
 * @example
 * firstFailure(events) // { state: 'CheckHealth (batch 1)', error: 'HealthGateFailedError', cause: 'health gate not passed…' }
 */
export function firstFailure(
  events: readonly TraceEvent[],
): { state: string; error?: string; cause?: string } | undefined {
  const failed = events.find((e) => e.kind === 'state-failed' && e.state);
  if (!failed) return undefined;
  try {
    const inner = JSON.parse(failed.cause ?? '') as {
      state?: unknown;
      error?: unknown;
      message?: unknown;
      batchIndex?: unknown;
    };
    if (typeof inner.state === 'string' && typeof inner.error === 'string') {
      return {
        state: `${inner.state}${typeof inner.batchIndex === 'number' ? ` (batch ${inner.batchIndex + 1})` : ''}`,
        error: inner.error,
        ...(typeof inner.message === 'string' ? { cause: inner.message } : {}),
      };
    }
  } catch {
    // Not JSON: the cause as it is.
  }
  return {
    state: failed.state!,
    ...(failed.error !== undefined ? { error: failed.error } : {}),
    ...(failed.cause !== undefined ? { cause: failed.cause } : {}),
  };
}

function outputStrings(value: unknown, depth: number, found: string[]): void {
  if (depth > 6 || value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (typeof inner === 'string' && OUTPUT_FIELDS.has(key) && inner.trim()) found.push(inner);
    else outputStrings(inner, depth + 1, found);
  }
}

/**
 * The tail of the newest command output the run's states returned (fields `outputTail`, `stdout`,
 * `stderr`, `output`), at most {@link OUTPUT_TAIL_CHARS} characters; undefined when none was recorded.
 *
 * @example
 * outputTail(events) // '…npm ERR! missing script: build\n'
 */
export function outputTail(events: readonly TraceEvent[]): string | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind !== 'state-exited' || e.output === undefined) continue;
    const found: string[] = [];
    outputStrings(e.output, 0, found);
    if (found.length) {
      const text = found.join('\n');
      return text.length > OUTPUT_TAIL_CHARS ? `…${text.slice(-OUTPUT_TAIL_CHARS)}` : text;
    }
  }
  return undefined;
}

/**
 * The hosts of each batch (Map iteration) as the states inside it saw them (`batch.hosts[].id`).
 *
 * @example
 * batchHosts(events) // [{ batch: 0, hosts: ['i-0abc', 'i-0def'] }]
 */
export function batchHosts(events: readonly TraceEvent[]): { batch: number; hosts: string[] }[] {
  const batches = new Map<number, Set<string>>();
  for (const e of events) {
    if (e.iteration === undefined || e.kind !== 'state-exited') continue;
    const hosts = (e.output as { batch?: { hosts?: unknown } } | undefined)?.batch?.hosts;
    if (!Array.isArray(hosts)) continue;
    const set = batches.get(e.iteration) ?? new Set<string>();
    for (const h of hosts) {
      const id = (h as { id?: unknown } | null)?.id;
      if (typeof id === 'string') set.add(id);
    }
    batches.set(e.iteration, set);
  }
  return [...batches].sort(([a], [b]) => a - b).map(([batch, hosts]) => ({ batch, hosts: [...hosts] }));
}

/**
 * The timeline bars of a trace's steps; a step still running lasts until `nowMs` after the start.
 *
 * @example
 * timelineBars(trace, 1200) // [{ label: 'PlanDeploy', startMs: 0, durationMs: 3, outcome: 'succeeded', depth: 0 }, …]
 */
export function timelineBars(trace: RunTrace, nowMs: number): TimelineBar[] {
  return trace.steps.map((s) => ({
    label: s.iteration !== undefined ? `${s.state} #${s.iteration + 1}` : s.state,
    startMs: s.startedMs,
    durationMs: s.durationMs ?? Math.max(0, nowMs - s.startedMs),
    outcome: s.outcome,
    depth: s.depth,
  }));
}
