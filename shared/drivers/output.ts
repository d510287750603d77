/**
 * Helpers shared by the command runners: keeping output tails within the inline limit.
 */
import { OUTPUT_TAIL_LIMIT } from './ports.ts';

/**
 * Keeps the end of `text` within `limit` characters, starting with a marker that says how much was
 * cut, so the tail still shows where a script failed.
 *
 * @example
 * tail('a'.repeat(30_000)).length // 24000
 * tail('short') // 'short'
 */
export function tail(text: string, limit: number = OUTPUT_TAIL_LIMIT): string {
  if (text.length <= limit) return text;
  const marker = (count: number) => `[… ${count} earlier characters cut]\n`;
  // The marker for the whole length is at least as long as the one finally used.
  const cut = text.length - Math.max(0, limit - marker(text.length).length);
  return (marker(cut) + text.slice(cut)).slice(-limit);
}

/**
 * Joins stdout and stderr into one tail within the limit (stderr last, since it says why).
 *
 * @example
 * combineOutput('built\n', 'error: x\n') // 'built\n--- stderr ---\nerror: x\n'
 */
export function combineOutput(stdout: string, stderr: string, limit: number = OUTPUT_TAIL_LIMIT): string {
  const joined = stderr
    ? `${stdout}${stdout && !stdout.endsWith('\n') ? '\n' : ''}--- stderr ---\n${stderr}`
    : stdout;
  return tail(joined, limit);
}
