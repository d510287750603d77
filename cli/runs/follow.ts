/**
 * Following a run, on AWS or local: its events as live per-state progress (the display of a local
 * run), polled with backoff while it runs, a line now and then to show it is alive, the timeline
 * and the outcome at the end. Stopping the follow (Ctrl-C) detaches: the run goes on.
 */
import { isBadInputError } from '../../shared/deploy/outcome.ts';
import { formatTimeline, type RunTrace, readableCause } from '../../shared/engine/trace.ts';
import { EXIT, indent, type Output } from '../output.ts';
import { createProgress, formatDuration, type ProgressStream } from '../progress.ts';
import { progressMapper } from './engine.ts';
import type { RunSource, RunSummary } from './model.ts';

/** Exit code of a follow stopped with Ctrl-C (the run goes on). */
export const DETACHED_EXIT = 130;

/** The first and the longest wait between two polls of a running run, in milliseconds. */
export const POLL_BACKOFF = { firstMs: 1000, maxMs: 15_000, factor: 1.5 } as const;

/** How long a quiet run goes before the follower says it is still alive, in milliseconds. */
export const ALIVE_EVERY_MS = 60_000;

/**
 * The exit code a run's end gives: 0 succeeded, 2 bad input (nothing started), 1 any other end.
 *
 * @example
 * exitCodeOf({ status: 'FAILED', error: 'InvalidInputError' }) // 2
 */
export function exitCodeOf(run: Pick<RunSummary, 'status' | 'error'>): 0 | 1 | 2 {
  if (run.status === 'SUCCEEDED') return EXIT.ok;
  return isBadInputError(run.error) ? EXIT.invalidInput : EXIT.unexpected;
}

/** Options of {@link followRun}. */
export interface FollowOptions {
  output: Output;
  /** Spinner progress (default: when stdout is a TTY). */
  interactive?: boolean;
  /** Aborting it detaches (Ctrl-C). */
  signal?: AbortSignal;
  /** Waits between polls; `setTimeout` by default (tests pass one that does not wait). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock, for the alive lines. */
  now?: () => number;
  /** How to attach again, shown when detaching (`stepops follow <run> --stage prod`). */
  attachAgain?: string;
  /** Print the progress and the timeline (default); `false` for `--json`. */
  print?: boolean;
}

/** How a follow ended. */
export interface FollowResult {
  exitCode: number;
  run: RunSummary;
  trace: RunTrace;
  detached: boolean;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

function streamOf(output: Output): ProgressStream {
  return {
    write: (chunk: string | Uint8Array) => {
      output.out(String(chunk).replace(/\n$/, ''));
      return true;
    },
    isTTY: false,
  };
}

/**
 * Follows a run to its end (or until `signal` aborts), printing progress, then the timeline and
 * the outcome.
 *
 * @example
 * const { exitCode } = await followRun(source, run, { output: stdio, signal });
 */
export async function followRun(
  source: RunSource,
  run: RunSummary,
  options: FollowOptions,
): Promise<FollowResult> {
  const out = options.output;
  const print = options.print ?? true;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const progress = createProgress({
    stream: options.interactive ? process.stdout : streamOf(out),
    interactive: options.interactive ?? false,
  });
  const toProgress = progressMapper();
  const reader = source.events(run);
  let wait: number = POLL_BACKOFF.firstMs;
  let quietSince = now();
  let current: string | undefined;
  let detached = false;
  try {
    while (true) {
      const page = await reader.next();
      for (const event of page.events) {
        if (event.kind === 'state-entered' && event.state) current = event.state;
        const shown = toProgress(event);
        if (shown && print) progress.event(shown);
      }
      if (page.ended) break;
      if (options.signal?.aborted) {
        detached = true;
        break;
      }
      if (page.events.length > 0) {
        wait = POLL_BACKOFF.firstMs;
        quietSince = now();
      } else {
        wait = Math.min(POLL_BACKOFF.maxMs, Math.round(wait * POLL_BACKOFF.factor));
        if (print && now() - quietSince >= ALIVE_EVERY_MS) {
          out.out(
            `  … still running${current ? ` in ${current}` : ''} (${formatDuration(now() - Date.parse(run.startedAt))} since the start)`,
          );
          quietSince = now();
        }
      }
      await sleep(wait, options.signal);
      if (options.signal?.aborted) {
        detached = true;
        break;
      }
    }
  } finally {
    progress.stop();
  }
  const ended = (await source.describe(run.runId)) ?? run;
  const trace = reader.trace(ended);
  if (detached) {
    if (print) {
      out.err(
        `\nstepops: detached from ${run.runId}: the run goes on${options.attachAgain ? ` (attach again: ${options.attachAgain})` : ''}`,
      );
    }
    return { exitCode: DETACHED_EXIT, run: ended, trace, detached };
  }
  if (print) {
    out.out(`\ntimeline\n${indent(formatTimeline(trace))}`);
    printOutcome(ended, out);
  }
  return { exitCode: exitCodeOf(ended), run: ended, trace, detached };
}

/**
 * The outcome line of a run, and its cause when it failed.
 *
 * @example
 * printOutcome(run, stdio) // ✔ deploy of zmanim at v1.4.2 succeeded in 4 min 5 s
 */
export function printOutcome(run: RunSummary, out: Output): void {
  const what = `${run.workflow}${run.target ? ` of ${run.target}` : ''}${run.ref ? ` at ${run.ref}` : ''}`;
  const took = run.stoppedAt ? formatDuration(Date.parse(run.stoppedAt) - Date.parse(run.startedAt)) : '';
  if (run.status === 'SUCCEEDED') {
    out.out(`✔ ${what} succeeded${took ? ` in ${took}` : ''}`);
    return;
  }
  out.out(
    `✖ ${what} ${run.status.toLowerCase().replace('_', ' ')}: ${run.error ?? 'error'}${took ? ` after ${took}` : ''}`,
  );
  const cause = readableCause(run.cause);
  if (cause) out.out(indent(cause, 2));
}
