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

/** One probe's result in the state, its detail kept short. */
export const healthResultSchema = z.strictObject({
  probe: z.string(),
  ok: z.boolean(),
  detail: z.string(),
  host: z.optional(z.string()),
  latencyMs: z.optional(z.number()),
});
export type HealthResult = z.infer<typeof healthResultSchema>;

// ── probe-target ────────────────────────────────────────────────────────────────────────────────
export const probeTargetInputSchema = z.strictObject({ target: targetName, runId });
export type ProbeTargetInput = z.infer<typeof probeTargetInputSchema>;

export const probeRoundSchema = z.strictObject({
  target: targetName,
  runId,
  /** ISO time the round started. */
  at: z.string(),
  hosts: z.number().check(z.int(), z.nonnegative()),
  results: z.array(healthResultSchema),
});
export type ProbeRound = z.infer<typeof probeRoundSchema>;

// ── record-health ───────────────────────────────────────────────────────────────────────────────
export const recordHealthInputSchema = probeRoundSchema;
export type RecordHealthInput = ProbeRound;

export const healthEventSchema = z.strictObject({
  kind: z.enum(['down', 'up', 'still-down']),
  probe: z.string(),
  host: z.optional(z.string()),
  detail: z.string(),
  alerted: z.boolean(),
});

export const healthRunSummarySchema = z.strictObject({
  target: targetName,
  runId,
  /** Probe states after the round, counted. */
  up: z.number().check(z.int(), z.nonnegative()),
  down: z.number().check(z.int(), z.nonnegative()),
  events: z.array(healthEventSchema),
  maintenance: z.optional(z.string()),
  recovery: z.optional(
    z.strictObject({
      runbook: z.string(),
      started: z.boolean(),
      executionId: z.optional(z.string()),
      why: z.optional(z.string()),
    }),
  ),
  /** Writes that lost to an overlapping run and were folded again. */
  conflicts: z.number().check(z.int(), z.nonnegative()),
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
