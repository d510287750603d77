/**
 * The contract between the health workflow (ASL) and its Lambdas: the zod schema of each task's
 * input and output.
 */
import * as z from 'zod';
import { NAME_PATTERN } from '../config/schema.ts';

const targetName = z.string().regex(NAME_PATTERN, { error: 'expected a target name' });
const runId = z.string().min(1).max(128);

/** What the schedule (or the CLI) starts a health run with. */
export const healthRequestSchema = z.strictObject({ target: targetName });
export type HealthRequest = z.infer<typeof healthRequestSchema>;

// ── check-target ────────────────────────────────────────────────────────────────────────────────
export const checkTargetInputSchema = z.strictObject({ target: targetName, runId });
export type CheckTargetInput = z.infer<typeof checkTargetInputSchema>;

export const healthEventSchema = z.strictObject({
  kind: z.enum(['down', 'up', 'still-down']),
  probe: z.string(),
  host: z.string().optional(),
  detail: z.string(),
  alerted: z.boolean(),
});

export const healthRunSummarySchema = z.strictObject({
  target: targetName,
  runId,
  /** Probe states after the round, counted. */
  up: z.number().int().nonnegative(),
  down: z.number().int().nonnegative(),
  events: z.array(healthEventSchema),
  maintenance: z.string().optional(),
  recovery: z
    .strictObject({
      runbook: z.string(),
      started: z.boolean(),
      executionId: z.string().optional(),
      why: z.string().optional(),
    })
    .optional(),
  /** Writes that lost to an overlapping run and were folded again. */
  conflicts: z.number().int().nonnegative(),
});
export type HealthRunSummary = z.infer<typeof healthRunSummarySchema>;

// ── notify-health-failure ───────────────────────────────────────────────────────────────────────
export const notifyHealthFailureInputSchema = z.strictObject({
  target: z.string(),
  runId,
  failedState: z.string(),
  error: z.strictObject({ Error: z.string(), Cause: z.string().optional() }),
});
export type NotifyHealthFailureInput = z.infer<typeof notifyHealthFailureInputSchema>;
