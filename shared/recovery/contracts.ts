/**
 * The contract between the recovery workflow (ASL) and its Lambdas: the zod schema of the run's
 * input and of each task's input and output.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NAME_PATTERN } from '../config/names.ts';
import { hostRefSchema } from '../deploy/contracts.ts';

// zod/mini loads no messages by itself: zod's English ones, so that an input error reads the same.
z.config(en());

/**
 * Builds a schema at import, as a call the bundler may drop: esbuild removes a call to a function
 * annotated as free of side effects when its result is unused, so each Lambda's bundle keeps only
 * the schemas its function uses. Declared in this module because esbuild honours the annotation
 * only inside the module that declares the function.
 */
/* @__NO_SIDE_EFFECTS__ */
function pure<T>(build: () => T): T {
  return build();
}

const name = pure(() => z.string().check(z.regex(NAME_PATTERN)));
const runId = pure(() => z.string().check(z.minLength(1), z.maxLength(128)));

/** An EC2 instance id. */
export const INSTANCE_ID_PATTERN = /^i-[0-9a-f]{8,17}$/;

/** A parameter value a run may give: plain characters only, so it is safe in a tag and a script. */
export const PARAM_VALUE_PATTERN = /^[A-Za-z0-9._:/@+=,-]{0,256}$/;

/**
 * What starts a recovery run (the Step Functions console, `stepops run recover`, the API or a health
 * alert). Unknown fields are refused.
 */
export const recoverRequestSchema = pure(() =>
  z.strictObject({
    target: z
      .string({ error: 'expected the target name, a string such as "zmanim"' })
      .check(
        z.regex(NAME_PATTERN, { error: 'expected a target name of lowercase letters, digits and dashes' }),
      ),
    runbook: z
      .string({ error: 'expected the runbook name, a string such as "restart-api"' })
      .check(
        z.regex(NAME_PATTERN, { error: 'expected a runbook name of lowercase letters, digits and dashes' }),
      ),
    params: z.optional(
      z.record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean()], {
          error: 'expected a string, number or boolean value',
        }),
        {
          error:
            'expected an object of parameter values, e.g. {"snapshot": "stepops-datizmo-20260301-020304"}',
        },
      ),
    ),
    reason: z
      .string({ error: 'expected the reason, a sentence saying why the runbook is run' })
      .check(
        z.trim(),
        z.minLength(1, { error: 'expected a non-empty reason' }),
        z.maxLength(500, { error: 'expected a reason of at most 500 characters' }),
      ),
    requestedBy: z.optional(z.string({ error: 'expected who asked, a string' }).check(z.maxLength(200))),
    /**
     * The instance the one-instance steps act on (replace-instance, restore-volume; a reboot then
     * reboots only it): one of the target's instances, required when the target has several.
     */
    instance: z.optional(
      z
        .string({ error: 'expected an instance id, a string such as "i-0123456789abcdef0"' })
        .check(
          z.regex(INSTANCE_ID_PATTERN, { error: 'expected an instance id such as "i-0123456789abcdef0"' }),
        ),
    ),
    /** `health-alert` when the health workflow started the run (it then needs approval unless unattended). */
    trigger: z.optional(z.enum(['manual', 'health-alert'], { error: 'expected "manual" or "health-alert"' })),
  }),
);
export type RecoverRequest = z.infer<typeof recoverRequestSchema>;

export const planRecoveryInputSchema = pure(() => z.strictObject({ input: z.unknown(), runId }));
export type PlanRecoveryInput = z.infer<typeof planRecoveryInputSchema>;

/** What each step Lambda does. */
export const stepKindSchema = pure(() =>
  z.enum(['command', 'restore-dump', 'reboot', 'restore-volume', 'restore-rds', 'replace-instance']),
);
export type StepKind = z.infer<typeof stepKindSchema>;

export const plannedStepSchema = pure(() =>
  z.strictObject({
    index: z.number().check(z.int(), z.nonnegative()),
    name,
    type: z.string(),
    kind: stepKindSchema,
    description: z.string(),
    destructive: z.boolean(),
    /** The step waits for its own approval before it acts (a destructive step of an `each-step` runbook). */
    approve: z.boolean(),
    timeoutSeconds: z.number().check(z.int(), z.positive()),
  }),
);
export type PlannedStep = z.infer<typeof plannedStepSchema>;

const paramValues = pure(() => z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])));

/** What `$.plan` holds: small; each step re-plans what it runs from the target file. */
export const recoveryRunPlanSchema = pure(() =>
  z.strictObject({
    target: name,
    runbook: name,
    runId,
    reason: z.string(),
    requestedBy: z.string(),
    trigger: z.enum(['manual', 'health-alert']),
    params: paramValues,
    /** The instance the input named, if any. */
    instance: z.optional(z.string()),
    steps: z.array(plannedStepSchema).check(z.minLength(1)),
    approval: z.strictObject({
      required: z.boolean(),
      why: z.string(),
      timeoutSeconds: z.number().check(z.int(), z.positive()),
    }),
    verify: z.strictObject({
      enabled: z.boolean(),
      probes: z.array(z.string()),
      timeoutSeconds: z.number().check(z.int(), z.positive()),
      intervalSeconds: z.number().check(z.int(), z.positive()),
    }),
    lockTtlSeconds: z.number().check(z.int(), z.positive()),
    /**
     * Replace-instance runbooks: seconds the replaced instances stay stopped before the run, once it
     * has succeeded, terminates them (the longest `retainOldFor` of its steps).
     */
    retire: z.optional(z.strictObject({ afterSeconds: z.number().check(z.int(), z.positive()) })),
    /** The rendered plan, as printed before anything runs and sent with the approval request. */
    planText: z.string(),
  }),
);
export type RecoveryRunPlan = z.infer<typeof recoveryRunPlanSchema>;

// ── preflight ───────────────────────────────────────────────────────────────────────────────────
export const preflightInputSchema = pure(() => z.strictObject({ plan: recoveryRunPlanSchema }));
export type PreflightInput = z.infer<typeof preflightInputSchema>;

/** What the pre-flight resolved for one step (snapshot, image, address, volumes …). */
export const resolvedStepSchema = pure(() => z.record(z.string(), z.string()));

/** One resource a step will act on, as the approval request shows it. */
export const stepResourceSchema = pure(() =>
  z.strictObject({
    /** `instance`, `host`, `volume`, `snapshot`, `image`, `launch-template`, `subnet`, `elastic-ip`, `target-group`, `db-instance`, `db-snapshot`, `dump`. */
    kind: z.string(),
    id: z.string(),
    /** What the step does to it, or reads from it. */
    change: z.string(),
  }),
);
export type StepResource = z.infer<typeof stepResourceSchema>;

export const recoveryContextSchema = pure(() =>
  z.strictObject({
    region: z.optional(z.string()),
    /** The instances AWS steps act on (ec2 targets). */
    instanceIds: z.array(z.string()),
    /** Per step name: what the pre-flight resolved. */
    steps: z.record(z.string(), resolvedStepSchema),
    checks: z.array(z.string()),
    /** Per step name: the exact resources the step will change (and those it reads), for the approval. */
    resources: z.optional(z.record(z.string(), z.array(stepResourceSchema))),
  }),
);
export type RecoveryContext = z.infer<typeof recoveryContextSchema>;

// ── steps ───────────────────────────────────────────────────────────────────────────────────────
/** A step's progress between two calls of its Lambda: `phase` and what the phases found. */
export const progressSchema = pure(() =>
  z.catchall(
    z.object({
      status: z.enum(['starting', 'running', 'done']),
      phase: z.string(),
      /** ISO time after which the step has timed out. */
      deadline: z.optional(z.string()),
      /** One line on what the step did or is doing. */
      summary: z.optional(z.string()),
      /** The tail of a command's output. */
      outputTail: z.optional(z.string()),
      hosts: z.optional(z.array(hostRefSchema)),
      commandId: z.optional(z.string()),
      polls: z.optional(z.number().check(z.int())),
    }),
    z.union([z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]), z.array(hostRefSchema)]),
  ),
);
export type StepProgress = z.infer<typeof progressSchema>;

export const INITIAL_PROGRESS: StepProgress = { status: 'starting', phase: 'start' };

export const stepInputSchema = pure(() =>
  z.strictObject({
    target: name,
    runbook: name,
    runId,
    /**
     * The run's execution ARN (`$$.Execution.Id`): a rolling step asks whether its run still runs
     * before it drains each batch after the first.
     */
    executionId: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
    params: paramValues,
    step: plannedStepSchema,
    context: recoveryContextSchema,
    progress: progressSchema,
  }),
);
export type StepInput = z.infer<typeof stepInputSchema>;

// ── terminate-replaced ──────────────────────────────────────────────────────────────────────────
export const terminateReplacedInputSchema = pure(() => z.strictObject({ target: name, runId }));
export const terminateReplacedOutputSchema = pure(() => z.strictObject({ terminated: z.array(z.string()) }));

// ── approval ────────────────────────────────────────────────────────────────────────────────────
export const requestApprovalInputSchema = pure(() =>
  z.strictObject({
    taskToken: z.string().check(z.minLength(1), z.maxLength(2048)),
    plan: recoveryRunPlanSchema,
    executionId: z.string(),
    context: recoveryContextSchema,
    /** The step this approval is for (an `each-step` runbook); the whole run when absent. */
    step: z.optional(plannedStepSchema),
  }),
);
export type RequestApprovalInput = z.infer<typeof requestApprovalInputSchema>;

export const approvalRequestedSchema = pure(() =>
  z.strictObject({ requested: z.literal(true), expiresAt: z.string() }),
);

/** The output a granted approval gives the callback Task (`$.approval`). */
export const approvalAnswerSchema = pure(() =>
  z.strictObject({
    approved: z.literal(true),
    by: z.string(),
    at: z.string(),
    comment: z.optional(z.string()),
  }),
);
export type ApprovalAnswer = z.infer<typeof approvalAnswerSchema>;

// ── verify ──────────────────────────────────────────────────────────────────────────────────────
export const verifyInputSchema = pure(() =>
  z.strictObject({
    plan: recoveryRunPlanSchema,
    verification: z.strictObject({
      status: z.enum(['starting', 'checking', 'healthy', 'unhealthy']),
      rounds: z.number().check(z.int(), z.nonnegative()),
      deadline: z.optional(z.string()),
      last: z.optional(
        z.array(
          z.strictObject({
            probe: z.string(),
            ok: z.boolean(),
            detail: z.string(),
            host: z.optional(z.string()),
          }),
        ),
      ),
    }),
  }),
);
export type VerifyInput = z.infer<typeof verifyInputSchema>;
export type Verification = VerifyInput['verification'];
export const INITIAL_VERIFICATION: Verification = { status: 'starting', rounds: 0 };

// ── notify ──────────────────────────────────────────────────────────────────────────────────────
export const notifyRecoveryInputSchema = pure(() =>
  z.strictObject({
    run: z.record(z.string(), z.unknown()),
    runId,
    executionId: z.string(),
  }),
);
export type NotifyRecoveryInput = z.infer<typeof notifyRecoveryInputSchema>;

export const recoveryOutcomeSchema = pure(() =>
  z.strictObject({
    outcome: z.enum(['succeeded', 'failed']),
    summary: z.string(),
    error: z.optional(z.string()),
    cause: z.optional(z.string()),
    failedState: z.optional(z.string()),
    /** Set when nothing was changed (bad input, pre-flight, rejected or expired approval). */
    unchanged: z.optional(z.boolean()),
  }),
);
export type RecoveryOutcome = z.infer<typeof recoveryOutcomeSchema>;
