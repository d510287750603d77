/**
 * The contract between the health workflow (ASL) and its Lambdas: the zod schema of each task's
 * input and output.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NAME_PATTERN } from '../config/names.ts';

// zod/mini loads no messages by itself: zod's English ones, so that an input error reads the same.
z.config(en());

const targetName = z.string().check(z.regex(NAME_PATTERN, { error: 'expected a target name' }));
const runId = z.string().check(z.minLength(1), z.maxLength(128));

/** What the schedule (or the CLI) starts a health run with. */
export const healthRequestSchema = z.strictObject({ target: targetName });
export type HealthRequest = z.infer<typeof healthRequestSchema>;

// ── check-target ────────────────────────────────────────────────────────────────────────────────
export const checkTargetInputSchema = z.strictObject({
  target: targetName,
  runId,
  /** Given by a workflow that publishes the status page: seconds between publishes of an unchanged page. */
  statusPageEverySeconds: z.optional(z.number().check(z.int(), z.positive())),
});
export type CheckTargetInput = z.infer<typeof checkTargetInputSchema>;

export const healthEventSchema = z.strictObject({
  kind: z.enum(['down', 'up', 'still-down', 'down-in-maintenance', 'flapping', 'stable']),
  probe: z.string(),
  host: z.optional(z.string()),
  detail: z.string(),
  alerted: z.boolean(),
});

const recoveryNoteSchema = z.strictObject({
  runbook: z.string(),
  started: z.boolean(),
  executionId: z.optional(z.string()),
  why: z.optional(z.string()),
});

export const healthRunSummarySchema = z.strictObject({
  target: targetName,
  runId,
  /** Probe states after the round, counted: up (last check passed), failing (up, last check failed), down. */
  up: z.number().check(z.int(), z.nonnegative()),
  failing: z.optional(z.number().check(z.int(), z.nonnegative())),
  down: z.number().check(z.int(), z.nonnegative()),
  events: z.array(healthEventSchema),
  maintenance: z.optional(z.string()),
  recovery: z.optional(recoveryNoteSchema),
  /** Every runbook a down probe requested this round (the first is `recovery`). */
  recoveries: z.optional(z.array(recoveryNoteSchema)),
  /** The host each fleet-wide probe ran on this round. */
  fleetHost: z.optional(z.string()),
  /** Writes that lost to an overlapping run and were folded again. */
  conflicts: z.number().check(z.int(), z.nonnegative()),
  /** Publish the public status page after this run (only when the workflow publishes one). */
  publishStatus: z.optional(z.boolean()),
});
export type HealthRunSummary = z.infer<typeof healthRunSummarySchema>;

// ── notify-health-failure ───────────────────────────────────────────────────────────────────────
export const notifyHealthFailureInputSchema = z.strictObject({
  target: z.string(),
  runId,
  failedState: z.string(),
  error: z.strictObject({ Error: z.string(), Cause: z.optional(z.string()) }),
});
export type NotifyHealthFailureInput = z.infer<typeof notifyHealthFailureInputSchema>;
