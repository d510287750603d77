/**
 * How the workflows wait for long work (a snapshot of hours, an RDS restore, a long deploy command)
 * without filling Step Functions' execution history (25,000 events at most): a young job is
 * long-polled inside the Lambda; an older one is read once per invocation, with a Wait state
 * between reads that grows with the time it has taken.
 */

/** A job younger than this is long-polled inside the Lambda; an older one is read once per invocation. */
export const LONG_POLL_PHASE_MS = 5 * 60_000;
/** The longest Wait state between two reads of a long job. */
export const MAX_POLL_WAIT_SECONDS = 600;

/**
 * Seconds the workflow waits before the next read of a job still running: none while it is young
 * (the long-poll reads it), then a tenth of the time it has taken, at least 30 s and at most
 * {@link MAX_POLL_WAIT_SECONDS}, and never past its deadline. A 24-hour snapshot is read about 170
 * times, not 1,700.
 *
 * @example
 * nextWaitSeconds(60_000, 86_400_000) // 0
 * nextWaitSeconds(3_600_000, 86_400_000) // 360
 * nextWaitSeconds(20 * 3_600_000, 86_400_000) // 600
 */
export function nextWaitSeconds(elapsedMs: number, untilDeadlineMs: number): number {
  if (elapsedMs < LONG_POLL_PHASE_MS) return 0;
  const wait = Math.min(MAX_POLL_WAIT_SECONDS, Math.max(30, Math.floor(elapsedMs / 10_000)));
  return Math.max(0, Math.min(wait, Math.ceil(untilDeadlineMs / 1000)));
}

/**
 * Milliseconds one poll invocation may keep reading: `budgetMs` while the job is young, none (one
 * read) once it has run {@link LONG_POLL_PHASE_MS}, when the workflow's Waits space the reads.
 *
 * @example
 * longPollBudget(60_000, 50_000) // 50_000
 * longPollBudget(600_000, 50_000) // 0
 */
export function longPollBudget(elapsedMs: number, budgetMs: number): number {
  return elapsedMs >= LONG_POLL_PHASE_MS ? 0 : Math.max(0, budgetMs);
}
