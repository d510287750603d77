/**
 * Live progress of a workflow run in the terminal: one line per state entered and per state left
 * (with its duration), retries and catches on their own lines. On a TTY an ora spinner shows the
 * state that is running; elsewhere (pipes, CI, tests) the same lines are written plainly.
 */
import ora, { type Ora } from 'ora';

/** What the progress display needs to know about one event of a run. */
export type ProgressEvent =
  | { kind: 'entered'; state: string; stateType?: string }
  | { kind: 'left'; state: string; stateType?: string; durationMs?: number }
  | { kind: 'failed'; state: string; stateType?: string; durationMs?: number; error?: string }
  | { kind: 'retry'; state: string; attempt?: number; error?: string }
  | { kind: 'caught'; state: string; error?: string; next?: string };

/** Receives the events of one run; `stop()` ends the spinner (call it once the run has ended). */
export interface Progress {
  event(event: ProgressEvent): void;
  stop(): void;
}

/** Where progress goes: a stream (a TTY gets a spinner). */
export type ProgressStream = Pick<NodeJS.WritableStream, 'write'> & { isTTY?: boolean; columns?: number };

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Where the lines go (default `process.stdout`). */
  stream?: ProgressStream;
  /** Spinner or plain lines; a spinner only when the stream is a TTY unless set. */
  interactive?: boolean;
  /** Indentation before each line (default two spaces). */
  indent?: string;
}

/**
 * Formats a duration for people: `85 ms`, `1.2 s`, `2 min 5 s`.
 *
 * @example
 * formatDuration(1234) // '1.2 s'
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}

/**
 * The line written for an event (without indentation).
 *
 * @example
 * progressLine({ kind: 'left', state: 'PlanDeploy', durationMs: 42 }) // '✔ PlanDeploy  42 ms'
 */
export function progressLine(event: ProgressEvent): string {
  const duration =
    'durationMs' in event && event.durationMs !== undefined ? `  ${formatDuration(event.durationMs)}` : '';
  switch (event.kind) {
    case 'entered':
      return `▸ ${event.state}`;
    case 'left':
      return `✔ ${event.state}${duration}`;
    case 'failed':
      return `✖ ${event.state}${duration}${event.error ? `  ${event.error}` : ''}`;
    case 'retry':
      return `↻ ${event.state} retry${event.attempt !== undefined ? ` ${event.attempt}` : ''}${event.error ? ` after ${event.error}` : ''}`;
    case 'caught':
      return `⤷ ${event.state} caught ${event.error ?? 'an error'}${event.next ? ` → ${event.next}` : ''}`;
  }
}

/**
 * Creates the progress display of one run.
 *
 * @example
 * const progress = createProgress();
 * progress.event({ kind: 'entered', state: 'Plan' });
 * progress.event({ kind: 'left', state: 'Plan', durationMs: 42 });
 * progress.stop();
 */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stdout;
  const indent = options.indent ?? '  ';
  // A spinner needs a terminal that knows its width (ora clears lines by it).
  const interactive = options.interactive ?? (Boolean(stream.isTTY) && (stream.columns ?? 0) > 0);
  const active: string[] = [];

  if (!interactive) {
    return {
      event(event) {
        stream.write(`${indent}${progressLine(event)}\n`);
      },
      stop() {},
    };
  }

  const spinner: Ora = ora({
    stream: stream as NodeJS.WritableStream,
    isEnabled: true,
    indent: indent.length,
    // Leave stdin alone: Ctrl-C must reach the process's own handler.
    discardStdin: false,
  });
  const refresh = () => {
    const current = active.at(-1);
    if (current === undefined) {
      if (spinner.isSpinning) spinner.stop();
    } else {
      spinner.text = current;
      if (!spinner.isSpinning) spinner.start();
    }
  };
  const persist = (line: string) => {
    const spinning = spinner.isSpinning;
    if (spinning) spinner.clear();
    // ora leaves the cursor at its indent column after clearing: start the line from column 0.
    stream.write(`\r${indent}${line}\n`);
    if (spinning) spinner.render();
  };
  return {
    event(event) {
      if (event.kind === 'entered') {
        active.push(event.state);
      } else if (event.kind === 'left' || event.kind === 'failed') {
        const index = active.lastIndexOf(event.state);
        if (index >= 0) active.splice(index, 1);
        persist(progressLine(event));
      } else {
        persist(progressLine(event));
      }
      refresh();
    },
    stop() {
      active.length = 0;
      spinner.stop();
    },
  };
}
