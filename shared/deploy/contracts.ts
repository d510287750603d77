/**
 * The contract between the deploy workflow (ASL) and its Lambdas: the zod schema of each task's
 * input and output. Handlers parse their input with these (Powertools parser); the logic in
 * `steps.ts` returns values of the output types. Written with `zod/mini`, which keeps the Lambdas' bundles small.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NAME_PATTERN } from '../config/names.ts';

// zod/mini (a fraction of zod's size in a bundle) loads no messages by itself: the same English
// messages as zod's, so that an input error reads the same.
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

const targetName = pure(() => z.string().check(z.regex(NAME_PATTERN, { error: 'expected a target name' })));
const runId = pure(() => z.string().check(z.minLength(1), z.maxLength(128)));
const ref = pure(() => z.string().check(z.minLength(1), z.maxLength(128)));
/** An execution ARN (`$$.Execution.Id`), bounded as the recovery contracts bound it. */
const executionArn = pure(() => z.string().check(z.minLength(1), z.maxLength(2048)));
const countOrPercent = pure(() =>
  z.union([z.number().check(z.int(), z.nonnegative()), z.string().check(z.regex(/^\d{1,3}%$/))]),
);

/** A host as resolved for a run (see `HostRef` in the driver ports). */
export const hostRefSchema = pure(() =>
  z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('ec2'),
      id: z.string().check(z.minLength(1)),
      region: z.string().check(z.minLength(1)),
    }),
    z.strictObject({
      kind: z.literal('local'),
      id: z.string().check(z.minLength(1)),
      directory: z.string().check(z.minLength(1)),
    }),
  ]),
);

/** What a caller sends to start a deploy. */
export const deployRequestSchema = pure(() =>
  z.strictObject({
    target: targetName,
    ref: z.string({ error: 'expected a ref (branch, tag or commit)' }),
    reason: z.optional(z.string().check(z.maxLength(500))),
    requestedBy: z.optional(z.string().check(z.maxLength(200))),
  }),
);
export type DeployRequest = z.infer<typeof deployRequestSchema>;

// ── plan-deploy ─────────────────────────────────────────────────────────────────────────────────
/** The raw execution input (validated by the step itself, so that bad input gets a named error). */
export const planDeployInputSchema = pure(() => z.strictObject({ input: z.unknown(), runId }));
export type PlanDeployInput = z.infer<typeof planDeployInputSchema>;

export const healthGateSchema = pure(() =>
  z.strictObject({
    probes: z.array(z.string()).check(z.minLength(1)),
    timeoutSeconds: z.number().check(z.int(), z.positive()),
    intervalSeconds: z.number().check(z.int(), z.positive()),
    successes: z.number().check(z.int(), z.positive()),
  }),
);
export type HealthGateSettings = z.infer<typeof healthGateSchema>;

export const deployPlanSummarySchema = pure(() =>
  z.strictObject({
    target: targetName,
    ref,
    runId,
    reason: z.optional(z.string()),
    requestedBy: z.optional(z.string()),
    batchSize: countOrPercent,
    maxErrors: countOrPercent,
    snapshot: z.strictObject({ enabled: z.boolean(), ebs: z.boolean(), rdsInstance: z.optional(z.string()) }),
    healthGate: healthGateSchema,
    /** Whether the target declares verify steps, run on every host before any host changes. */
    verify: z.boolean(),
    /** Whether the target names load balancer target groups, which each batch leaves while it deploys. */
    loadBalancer: z.boolean(),
    deployTimeoutSeconds: z.number().check(z.int(), z.positive()),
    rollbackTimeoutSeconds: z.number().check(z.int(), z.positive()),
    lockTtlSeconds: z.number().check(z.int(), z.positive()),
  }),
);
/** What the plan state puts in `$.plan`: small, no scripts (each step re-renders what it runs). */
export type DeployPlanSummary = z.infer<typeof deployPlanSummarySchema>;

// ── acquire-lock / release-lock ─────────────────────────────────────────────────────────────────
export const acquireLockInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    ttlSeconds: z.number().check(z.int(), z.positive()),
    /** The run's execution ARN (`$$.Execution.Id`), kept on the lease: health asks whether it still runs. */
    execution: z.optional(executionArn),
    /** A maintenance run says its job and the probes it mutes: health mutes only those meanwhile. */
    maintenance: z.optional(
      z.strictObject({ job: targetName, mute: z.array(z.string().check(z.minLength(1), z.maxLength(64))) }),
    ),
  }),
);
export type AcquireLockInput = z.infer<typeof acquireLockInputSchema>;
export const lockSchema = pure(() =>
  z.strictObject({ key: z.string(), owner: z.string(), expiresAt: z.number() }),
);
export type LockInfo = z.infer<typeof lockSchema>;

export const releaseLockInputSchema = pure(() => z.strictObject({ target: targetName, runId }));
export type ReleaseLockInput = z.infer<typeof releaseLockInputSchema>;

// ── resolve-hosts ───────────────────────────────────────────────────────────────────────────────
export const resolveHostsInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    batchSize: countOrPercent,
    /** The state machine's `TimeoutSeconds`: a run whose bound exceeds it is refused before it starts. */
    runTimeoutSeconds: z.optional(z.number().check(z.int(), z.positive())),
  }),
);
export type ResolveHostsInput = z.infer<typeof resolveHostsInputSchema>;

export const batchSchema = pure(() =>
  z.strictObject({
    index: z.number().check(z.int(), z.nonnegative()),
    hosts: z.array(hostRefSchema).check(z.minLength(1)),
    /** Index of the batch's first host among all the hosts of the run. */
    offset: z.optional(z.number().check(z.int(), z.nonnegative())),
    /** Hosts in the whole run. */
    hostCount: z.optional(z.number().check(z.int(), z.positive())),
  }),
);
export type Batch = z.infer<typeof batchSchema>;
export const resolvedHostsSchema = pure(() =>
  z.strictObject({
    hosts: z.array(hostRefSchema).check(z.minLength(1)),
    batches: z.array(batchSchema).check(z.minLength(1)),
    batchCount: z.number().check(z.int(), z.positive()),
  }),
);
export type ResolvedHosts = z.infer<typeof resolvedHostsSchema>;

// ── claim-hosts: the deploy's lease, then its hosts, in one Lambda ──────────────────────────────
/** What acquire-lock and resolve-hosts take, together: the deploy's lease and its batch size. */
export const claimHostsInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    ttlSeconds: z.number().check(z.int(), z.positive()),
    /** The run's execution ARN (`$$.Execution.Id`), kept on the lease: health asks whether it still runs. */
    execution: z.optional(executionArn),
    batchSize: countOrPercent,
    /** The state machine's `TimeoutSeconds`: a run whose bound exceeds it is refused before it starts. */
    runTimeoutSeconds: z.optional(z.number().check(z.int(), z.positive())),
  }),
);
export type ClaimHostsInput = z.infer<typeof claimHostsInputSchema>;
/** The resolved hosts and batches, and the lease the run took before resolving them. */
export const claimedHostsSchema = pure(() => z.extend(resolvedHostsSchema, { lock: lockSchema }));
export type ClaimedHosts = z.infer<typeof claimedHostsSchema>;

// ── create-snapshots ────────────────────────────────────────────────────────────────────────────
export const createSnapshotsInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    ref,
    runId,
    hosts: z.array(hostRefSchema),
    snapshot: z.strictObject({ enabled: z.boolean(), ebs: z.boolean(), rdsInstance: z.optional(z.string()) }),
  }),
);
export type CreateSnapshotsInput = z.infer<typeof createSnapshotsInputSchema>;
export const snapshotsSchema = pure(() =>
  z.strictObject({
    volumeSnapshotIds: z.array(z.string()),
    dbSnapshotId: z.optional(z.string()),
    /** The older pre-deploy snapshots the retention let go; an error here does not fail the deploy. */
    pruned: z.optional(z.strictObject({ deleted: z.array(z.string()), error: z.optional(z.string()) })),
  }),
);
export type SnapshotsTaken = z.infer<typeof snapshotsSchema>;

// ── send-command / poll-command ─────────────────────────────────────────────────────────────────
export const phaseSchema = pure(() => z.enum(['verify', 'deploy', 'rollback']));
export type Phase = z.infer<typeof phaseSchema>;

export const sendCommandInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    ref,
    runId,
    phase: phaseSchema,
    hosts: z.array(hostRefSchema).check(z.minLength(1)),
    batchIndex: z.optional(z.number().check(z.int(), z.nonnegative())),
    maxErrors: z.optional(countOrPercent),
    /** Index of the first of these hosts among all the hosts of the run (0 when omitted). */
    hostOffset: z.optional(z.number().check(z.int(), z.nonnegative())),
    /** Hosts in the whole run (these hosts when omitted). */
    hostCount: z.optional(z.number().check(z.int(), z.positive())),
    /** When the run started (`$$.Execution.StartTime`): a retried send looks for its command since then. */
    startedAt: z.optional(z.string()),
  }),
);
export type SendCommandInput = z.infer<typeof sendCommandInputSchema>;

export const commandSentSchema = pure(() =>
  z.strictObject({
    commandId: z.string().check(z.minLength(1)),
    /** Every command in host order, when the hosts took more than one (SSM: 50 hosts per command). */
    commandIds: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(2))),
    phase: phaseSchema,
    hosts: z.array(hostRefSchema).check(z.minLength(1)),
    sentAt: z.string(),
    /**
     * ISO time by which every host must have a final status (the script's timeout plus the delivery
     * margin): past it, polling fails the batch whatever SSM still says.
     */
    deadline: z.string(),
  }),
);
export type CommandSent = z.infer<typeof commandSentSchema>;

export const pollCommandInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    command: commandSentSchema,
    /** Failed hosts the batch tolerates (count or percentage); 0 when omitted. */
    maxErrors: z.optional(countOrPercent),
  }),
);
export type PollCommandInput = z.infer<typeof pollCommandInputSchema>;

export const hostFailureSchema = pure(() =>
  z.strictObject({
    hostId: z.string(),
    state: z.string(),
    exitCode: z.optional(z.number().check(z.int())),
    outputTail: z.string(),
  }),
);
export type HostFailure = z.infer<typeof hostFailureSchema>;

export const commandStatusSchema = pure(() =>
  z.strictObject({
    status: z.enum(['running', 'succeeded', 'failed']),
    phase: phaseSchema,
    commandId: z.string(),
    total: z.number().check(z.int()),
    done: z.number().check(z.int()),
    failedCount: z.number().check(z.int()),
    allowedErrors: z.number().check(z.int()),
    /** The failed hosts (at most {@link MAX_REPORTED_FAILURES}), each with the tail of its output. */
    failures: z.array(hostFailureSchema),
    polls: z.number().check(z.int()),
    /** Seconds the workflow waits before the next read of a long command still running (absent: none). */
    waitSeconds: z.optional(z.number().check(z.int(), z.nonnegative())),
  }),
);
export type CommandStatus = z.infer<typeof commandStatusSchema>;

/** Failed hosts reported in full in a command status; the count says how many there were. */
export const MAX_REPORTED_FAILURES = 5;
/** Characters of output kept per failed host in the state (the notification shows them). */
export const STATE_OUTPUT_TAIL = 2_000;

// ── check-health ────────────────────────────────────────────────────────────────────────────────
export const probeOutcomeSchema = pure(() =>
  z.strictObject({
    probe: z.string(),
    ok: z.boolean(),
    detail: z.string(),
    host: z.optional(z.string()),
  }),
);
export type ProbeOutcome = z.infer<typeof probeOutcomeSchema>;

export const gateStateSchema = pure(() =>
  z.strictObject({
    status: z.enum(['starting', 'checking', 'healthy', 'unhealthy']),
    consecutive: z.number().check(z.int(), z.nonnegative()),
    rounds: z.number().check(z.int(), z.nonnegative()),
    /** ISO time after which the gate fails; set by the first check. */
    deadline: z.optional(z.string()),
    /** The results of the last round. */
    last: z.optional(z.array(probeOutcomeSchema)),
    /** ISO time the next round is due (the interval after the last one), when a later invocation runs it. */
    nextRoundAt: z.optional(z.string()),
  }),
);
export type GateState = z.infer<typeof gateStateSchema>;

/** The state a gate starts from (in the Map's ItemSelector and in the rollback plan). */
export const INITIAL_GATE: GateState = { status: 'starting', consecutive: 0, rounds: 0 };

export const checkHealthInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    hosts: z.array(hostRefSchema).check(z.minLength(1)),
    healthGate: healthGateSchema,
    gate: gateStateSchema,
  }),
);
export type CheckHealthInput = z.infer<typeof checkHealthInputSchema>;

// ── drain-targets / register-targets ────────────────────────────────────────────────────────────
/** A host not yet in the wanted state in a target group. */
export const pendingTargetSchema = pure(() =>
  z.strictObject({
    targetGroup: z.string(),
    hostId: z.string(),
    state: z.string(),
    reason: z.optional(z.string()),
  }),
);
export type PendingTarget = z.infer<typeof pendingTargetSchema>;

/** Where a drain (every host `unused` in every group) or a registration (every host `healthy`) is. */
export const targetsWaitSchema = pure(() =>
  z.strictObject({
    status: z.enum(['starting', 'waiting', 'done', 'timed-out']),
    rounds: z.number().check(z.int(), z.nonnegative()),
    /** ISO time after which the wait fails; set by the first call. */
    deadline: z.optional(z.string()),
    /** Hosts not yet there after the last round (at most {@link MAX_REPORTED_FAILURES}); the count says how many. */
    pending: z.optional(z.array(pendingTargetSchema)),
    pendingCount: z.optional(z.number().check(z.int(), z.nonnegative())),
  }),
);
export type TargetsWait = z.infer<typeof targetsWaitSchema>;

/** The state a drain or a registration starts from (in the Map's ItemSelector and in the rollback plan). */
export const INITIAL_TARGETS_WAIT: TargetsWait = { status: 'starting', rounds: 0 };

export const targetsInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    hosts: z.array(hostRefSchema).check(z.minLength(1)),
    wait: targetsWaitSchema,
  }),
);
export type TargetsInput = z.infer<typeof targetsInputSchema>;

// ── plan-rollback ───────────────────────────────────────────────────────────────────────────────
/**
 * A failure record in the state: what a `Catch` puts there (`Cause` a string), or what a Record…
 * Pass state puts there for a domain failure (`Cause` the status object that shows it).
 */
export const caughtErrorSchema = pure(() => z.object({ Error: z.string(), Cause: z.optional(z.unknown()) }));
export type CaughtError = z.infer<typeof caughtErrorSchema>;

export const planRollbackInputSchema = pure(() =>
  z.strictObject({
    batches: z.array(batchSchema).check(z.minLength(1)),
    failure: caughtErrorSchema,
  }),
);
export type PlanRollbackInput = z.infer<typeof planRollbackInputSchema>;

/** Why a batch failed, as the Map's failure record says. */
export const batchFailureSchema = pure(() =>
  z.strictObject({
    /** Index of the failed batch; undefined when the failure could not be read. */
    batchIndex: z.optional(z.number().check(z.int(), z.nonnegative())),
    /** The state inside the batch that failed, e.g. `CheckHealth`. */
    state: z.string(),
    error: z.string(),
    /** One readable line (or a few) saying what went wrong. */
    message: z.string(),
    host: z.optional(z.string()),
    outputTail: z.optional(z.string()),
  }),
);
export type BatchFailure = z.infer<typeof batchFailureSchema>;

// ── describe-batch-failure ──────────────────────────────────────────────────────────────────────
export const describeBatchFailureInputSchema = pure(() =>
  z.strictObject({
    batch: batchSchema,
    /** The failure records of the batch, keyed by the state that failed. */
    failure: z.record(z.string(), caughtErrorSchema),
  }),
);
export type DescribeBatchFailureInput = z.infer<typeof describeBatchFailureInputSchema>;

/** The error and cause a failed batch ends its Map iteration with (the cause is a JSON {@link BatchFailure}). */
export const batchFailedSchema = pure(() => z.strictObject({ error: z.string(), cause: z.string() }));
export type BatchFailed = z.infer<typeof batchFailedSchema>;

export const rollbackPlanSchema = pure(() =>
  z.strictObject({
    /** Every host of every batch that was started, in order. */
    hosts: z.array(hostRefSchema).check(z.minLength(1)),
    /** Hosts in the whole run (for `STEPOPS_HOST_COUNT`). */
    hostCount: z.number().check(z.int(), z.positive()),
    batchesTouched: z.number().check(z.int(), z.positive()),
    failure: batchFailureSchema,
    gate: gateStateSchema,
    /** The rollback's drain and registration of its hosts (target groups), from their start. */
    drain: targetsWaitSchema,
    register: targetsWaitSchema,
  }),
);
export type RollbackPlan = z.infer<typeof rollbackPlanSchema>;

// ── notify ──────────────────────────────────────────────────────────────────────────────────────
export const notifyInputSchema = pure(() =>
  z.strictObject({
    /** The whole run state (`$`): whatever the run has gathered when it ends. */
    run: z.record(z.string(), z.unknown()),
    runId,
    executionId: z.optional(z.string()),
    startedAt: z.optional(z.string()),
  }),
);
export type NotifyInput = z.infer<typeof notifyInputSchema>;

export const runOutcomeSchema = pure(() =>
  z.strictObject({
    outcome: z.enum(['succeeded', 'failed', 'rolled-back', 'rollback-failed']),
    summary: z.string(),
    /** The error the run ends with (absent on success). */
    error: z.optional(z.string()),
    /** The cause the run ends with: readable text naming the state, host and output tail. */
    cause: z.optional(z.string()),
    failedState: z.optional(z.string()),
    host: z.optional(z.string()),
  }),
);
export type RunOutcome = z.infer<typeof runOutcomeSchema>;
