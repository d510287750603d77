/**
 * How the operator's commands print: aligned columns, ages and durations for people, and colour
 * only on a terminal (never in a pipe, never under `NO_COLOR`, never for `TERM=dumb`).
 */
import { styleText } from 'node:util';
import type { RunStatus } from './model.ts';

/** A stream the commands write to, as far as colour is concerned. */
export type ColourStream = { isTTY?: boolean };

type Colour = 'red' | 'green' | 'yellow' | 'cyan' | 'gray' | 'bold';

/**
 * Whether to colour output written to `stream`.
 *
 * @example
 * useColour(process.stdout) // false in a pipe or under NO_COLOR
 */
export function useColour(stream: ColourStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** A painter: colours text when colour is on, returns it as it is otherwise. */
export type Paint = (colour: Colour, text: string) => string;

/**
 * The painter for a stream.
 *
 * @example
 * const paint = painter(process.stdout); paint('red', 'FAILED')
 */
export function painter(stream: ColourStream, env: NodeJS.ProcessEnv = process.env): Paint {
  const on = useColour(stream, env);
  return (colour, text) => (on ? styleText(colour, text, { validateStream: false }) : text);
}

/** The colour of a run status. */
export function statusColour(status: RunStatus | string): Colour {
  if (status === 'SUCCEEDED') return 'green';
  if (status === 'RUNNING') return 'cyan';
  return 'red';
}

/** Visible length (without ANSI colour codes). */
function visible(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/**
 * Aligned columns: every column as wide as its widest cell, two spaces between, no trailing blanks.
 *
 * @example
 * table([['RUN', 'STATUS'], ['zmanim-3c1f…', 'SUCCEEDED']])
 */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, visible(cell));
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A span of seconds in its largest whole unit: `42 s`, `5 min`, `3 h`, `2 d`. */
function roughly(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

/**
 * How long ago, for people: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
 *
 * @example
 * age('2026-11-22T03:00:00Z', Date.parse('2026-11-22T03:05:00Z')) // '5 min ago'
 */
export function age(iso: string, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return seconds < 5 ? 'just now' : `${roughly(seconds)} ago`;
}

/**
 * How long until a time, for people: `in 42 s`, `in 19 h`, `in 3 d`.
 *
 * @example
 * until(Date.parse('2026-12-03T02:00:00Z'), Date.parse('2026-12-02T06:30:00Z')) // 'in 19 h'
 */
export function until(at: number, now: number = Date.now()): string {
  return `in ${roughly(Math.max(0, Math.round((at - now) / 1000)))}`;
}

/**
 * A size in bytes for people: `1.5 MB`.
 *
 * @example
 * formatBytes(1536) // '1.5 KB'
 */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * A run's duration for people (`1.2 s`, `4 min 5 s`, `2 h 3 min`); `running` without an end.
 *
 * @example
 * runDuration('2026-11-22T03:00:00Z', '2026-11-22T03:04:05Z') // '4 min 5 s'
 */
export function runDuration(
  startedAt: string,
  stoppedAt: string | undefined,
  now: number = Date.now(),
): string {
  const ms = Math.max(0, (stoppedAt ? Date.parse(stoppedAt) : now) - Date.parse(startedAt));
  let text: string;
  if (ms < 60_000) text = `${(ms / 1000).toFixed(1)} s`;
  else if (ms < 3_600_000) text = `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  else text = `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
  return stoppedAt ? text : `${text} so far`;
}
