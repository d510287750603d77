/**
 * The contract between the maintenance workflow (ASL) and its Lambdas: the zod schema of the run's
 * input and of each task's input and output. The step and verification contracts are the
 * recovery's, with the job named: a maintenance job runs as an unattended runbook.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NAME_PATTERN } from '../config/names.ts';
import { recoveryRunPlanSchema, stepInputSchema, verifyInputSchema } from '../recovery/contracts.ts';

z.config(en());

/* @__NO_SIDE_EFFECTS__ */
function pure<T>(build: () => T): T {
  return build();
}

const name = pure(() => z.string().check(z.regex(NAME_PATTERN)));
const runId = pure(() => z.string().check(z.minLength(1), z.maxLength(128)));

/** What starts a maintenance run (its schedule, `stepops maintain`). Unknown fields are refused. */
export const maintainRequestSchema = pure(() =>
  z.strictObject({
    target: z
      .string({ error: 'expected the target name, a string such as "datizmo"' })
      .check(
        z.regex(NAME_PATTERN, { error: 'expected a target name of lowercase letters, digits and dashes' }),
      ),
    job: z
      .string({ error: 'expected the maintenance job name, a string such as "certificates"' })
      .check(z.regex(NAME_PATTERN, { error: 'expected a job name of lowercase letters, digits and dashes' })),
    reason: z.optional(
      z
        .string({ error: 'expected the reason, a sentence' })
        .check(z.trim(), z.minLength(1), z.maxLength(500, { error: 'expected at most 500 characters' })),
    ),
    requestedBy: z.optional(z.string({ error: 'expected who asked, a string' }).check(z.maxLength(200))),
    /** `schedule` when EventBridge Scheduler started the run. */
    trigger: z.optional(z.enum(['schedule', 'manual'], { error: 'expected "schedule" or "manual"' })),
  }),
);
export type MaintainRequest = z.infer<typeof maintainRequestSchema>;

export const planMaintenanceInputSchema = pure(() => z.strictObject({ input: z.unknown(), runId }));
export type PlanMaintenanceInput = z.infer<typeof planMaintenanceInputSchema>;

/** What `$.plan` holds: the job, what it mutes, and the plan of the runbook it runs as. */
export const maintenanceRunPlanSchema = pure(() =>
  z.strictObject({
    target: name,
    job: name,
    runId,
    trigger: z.enum(['schedule', 'manual']),
    /** Probes the job disturbs: health does not alert on them while the run holds the lease. */
    mute: z.array(z.string()),
    batchSize: z.union([z.number().check(z.int(), z.positive()), z.string()]),
    lockTtlSeconds: z.number().check(z.int(), z.positive()),
    /** The runbook the job runs as (its steps, the final health probes, the plan text). */
    runbook: recoveryRunPlanSchema,
  }),
);
export type MaintenanceRunPlan = z.infer<typeof maintenanceRunPlanSchema>;

/** run-maintenance-step: the recovery step input, with the job it belongs to. */
export const maintenanceStepInputSchema = pure(() => z.extend(stepInputSchema, { job: name }));
export type MaintenanceStepInput = z.infer<typeof maintenanceStepInputSchema>;

/** verify-maintenance: the recovery's final probes, with the job they follow. */
export const maintenanceVerifyInputSchema = pure(() => z.extend(verifyInputSchema, { job: name }));
export type MaintenanceVerifyInput = z.infer<typeof maintenanceVerifyInputSchema>;

export const notifyMaintenanceInputSchema = pure(() =>
  z.strictObject({ run: z.record(z.string(), z.unknown()), runId, executionId: z.string() }),
);
export type NotifyMaintenanceInput = z.infer<typeof notifyMaintenanceInputSchema>;

/** How a maintenance run ended: `skipped` when another run held the target (nothing was run). */
export const maintenanceOutcomeSchema = pure(() =>
  z.strictObject({
    outcome: z.enum(['succeeded', 'failed', 'skipped']),
    summary: z.string(),
    error: z.optional(z.string()),
    cause: z.optional(z.string()),
    failedState: z.optional(z.string()),
    unchanged: z.optional(z.boolean()),
  }),
);
export type MaintenanceOutcome = z.infer<typeof maintenanceOutcomeSchema>;
