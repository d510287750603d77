/**
 * The contract between the deploy workflow (ASL) and its Lambdas: the zod schema of each task's
 * input and output. Handlers parse their input with these (Powertools parser); the logic in
 * `steps.ts` returns values of the output types.
 */
import * as z from 'zod';
import { NAME_PATTERN } from '../config/schema.ts';

const targetName = z.string().regex(NAME_PATTERN, { error: 'expected a target name' });
const runId = z.string().min(1).max(128);
const ref = z.string().min(1).max(128);
const countOrPercent = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,3}%$/)]);

/** A host as resolved for a run (see `HostRef` in the driver ports). */
export const hostRefSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ec2'), id: z.string().min(1), region: z.string().min(1) }),
  z.strictObject({ kind: z.literal('local'), id: z.string().min(1), directory: z.string().min(1) }),
]);

/** What a caller sends to start a deploy. */
export const deployRequestSchema = z.strictObject({
  target: targetName,
  ref: z.string({ error: 'expected a ref (branch, tag or commit)' }),
  reason: z.string().max(500).optional(),
  requestedBy: z.string().max(200).optional(),
});
export type DeployRequest = z.infer<typeof deployRequestSchema>;

// ── plan-deploy ─────────────────────────────────────────────────────────────────────────────────
/** The raw execution input (validated by the step itself, so that bad input gets a named error). */
export const planDeployInputSchema = z.strictObject({ input: z.unknown(), runId });
export type PlanDeployInput = z.infer<typeof planDeployInputSchema>;

export const healthGateSchema = z.strictObject({
  probes: z.array(z.string()).min(1),
  timeoutSeconds: z.number().int().positive(),
  intervalSeconds: z.number().int().positive(),
  successes: z.number().int().positive(),
});
export type HealthGateSettings = z.infer<typeof healthGateSchema>;

export const deployPlanSummarySchema = z.strictObject({
  target: targetName,
  ref,
  runId,
  reason: z.string().optional(),
  requestedBy: z.string().optional(),
  batchSize: countOrPercent,
  maxErrors: countOrPercent,
  snapshot: z.strictObject({ enabled: z.boolean(), ebs: z.boolean(), rdsInstance: z.string().optional() }),
  healthGate: healthGateSchema,
  /** Whether the target declares verify steps, run on every host before any host changes. */
  verify: z.boolean(),
  /** Whether the target names load balancer target groups, which each batch leaves while it deploys. */
  loadBalancer: z.boolean(),
  deployTimeoutSeconds: z.number().int().positive(),
  rollbackTimeoutSeconds: z.number().int().positive(),
  lockTtlSeconds: z.number().int().positive(),
});
/** What the plan state puts in `$.plan`: small, no scripts (each step re-renders what it runs). */
export type DeployPlanSummary = z.infer<typeof deployPlanSummarySchema>;

// ── acquire-lock / release-lock ─────────────────────────────────────────────────────────────────
export const acquireLockInputSchema = z.strictObject({
  target: targetName,
  runId,
  ttlSeconds: z.number().int().positive(),
});
export type AcquireLockInput = z.infer<typeof acquireLockInputSchema>;
export const lockSchema = z.strictObject({ key: z.string(), owner: z.string(), expiresAt: z.number() });
export type LockInfo = z.infer<typeof lockSchema>;

export const releaseLockInputSchema = z.strictObject({ target: targetName, runId });
export type ReleaseLockInput = z.infer<typeof releaseLockInputSchema>;

// ── resolve-hosts ───────────────────────────────────────────────────────────────────────────────
export const resolveHostsInputSchema = z.strictObject({
  target: targetName,
  runId,
  batchSize: countOrPercent,
  /** The state machine's `TimeoutSeconds`: a run whose bound exceeds it is refused before it starts. */
  runTimeoutSeconds: z.number().int().positive().optional(),
});
export type ResolveHostsInput = z.infer<typeof resolveHostsInputSchema>;

export const batchSchema = z.strictObject({
  index: z.number().int().nonnegative(),
  hosts: z.array(hostRefSchema).min(1),
  /** Index of the batch's first host among all the hosts of the run. */
  offset: z.number().int().nonnegative().optional(),
  /** Hosts in the whole run. */
  hostCount: z.number().int().positive().optional(),
});
export type Batch = z.infer<typeof batchSchema>;
export const resolvedHostsSchema = z.strictObject({
  hosts: z.array(hostRefSchema).min(1),
  batches: z.array(batchSchema).min(1),
  batchCount: z.number().int().positive(),
});
export type ResolvedHosts = z.infer<typeof resolvedHostsSchema>;

// ── create-snapshots ────────────────────────────────────────────────────────────────────────────
export const createSnapshotsInputSchema = z.strictObject({
  target: targetName,
  ref,
  runId,
  hosts: z.array(hostRefSchema),
  snapshot: z.strictObject({ enabled: z.boolean(), ebs: z.boolean(), rdsInstance: z.string().optional() }),
});
export type CreateSnapshotsInput = z.infer<typeof createSnapshotsInputSchema>;
export const snapshotsSchema = z.strictObject({
  volumeSnapshotIds: z.array(z.string()),
  dbSnapshotId: z.string().optional(),
});
export type SnapshotsTaken = z.infer<typeof snapshotsSchema>;

// ── send-command / poll-command ─────────────────────────────────────────────────────────────────
export const phaseSchema = z.enum(['verify', 'deploy', 'rollback']);
export type Phase = z.infer<typeof phaseSchema>;

export const sendCommandInputSchema = z.strictObject({
  target: targetName,
  ref,
  runId,
  phase: phaseSchema,
  hosts: z.array(hostRefSchema).min(1),
  batchIndex: z.number().int().nonnegative().optional(),
  maxErrors: countOrPercent.optional(),
  /** Index of the first of these hosts among all the hosts of the run (0 when omitted). */
  hostOffset: z.number().int().nonnegative().optional(),
  /** Hosts in the whole run (these hosts when omitted). */
  hostCount: z.number().int().positive().optional(),
  /** When the run started (`$$.Execution.StartTime`): a retried send looks for its command since then. */
  startedAt: z.string().optional(),
});
export type SendCommandInput = z.infer<typeof sendCommandInputSchema>;

export const commandSentSchema = z.strictObject({
  commandId: z.string().min(1),
  /** Every command in host order, when the hosts took more than one (SSM: 50 hosts per command). */
  commandIds: z.array(z.string().min(1)).min(2).optional(),
  phase: phaseSchema,
  hosts: z.array(hostRefSchema).min(1),
  sentAt: z.string(),
  /**
   * ISO time by which every host must have a final status (the script's timeout plus the delivery
   * margin): past it, polling fails the batch whatever SSM still says.
   */
  deadline: z.string(),
});
export type CommandSent = z.infer<typeof commandSentSchema>;

export const pollCommandInputSchema = z.strictObject({
  target: targetName,
  command: commandSentSchema,
  /** Failed hosts the batch tolerates (count or percentage); 0 when omitted. */
  maxErrors: countOrPercent.optional(),
});
export type PollCommandInput = z.infer<typeof pollCommandInputSchema>;

export const hostFailureSchema = z.strictObject({
  hostId: z.string(),
  state: z.string(),
  exitCode: z.number().int().optional(),
  outputTail: z.string(),
});
export type HostFailure = z.infer<typeof hostFailureSchema>;

export const commandStatusSchema = z.strictObject({
  status: z.enum(['running', 'succeeded', 'failed']),
  phase: phaseSchema,
  commandId: z.string(),
  total: z.number().int(),
  done: z.number().int(),
  failedCount: z.number().int(),
  allowedErrors: z.number().int(),
  /** The failed hosts (at most {@link MAX_REPORTED_FAILURES}), each with the tail of its output. */
  failures: z.array(hostFailureSchema),
  polls: z.number().int(),
});
export type CommandStatus = z.infer<typeof commandStatusSchema>;

/** Failed hosts reported in full in a command status; the count says how many there were. */
export const MAX_REPORTED_FAILURES = 5;
/** Characters of output kept per failed host in the state (the notification shows them). */
export const STATE_OUTPUT_TAIL = 2_000;

// ── check-health ────────────────────────────────────────────────────────────────────────────────
export const probeOutcomeSchema = z.strictObject({
  probe: z.string(),
  ok: z.boolean(),
  detail: z.string(),
  host: z.string().optional(),
});
export type ProbeOutcome = z.infer<typeof probeOutcomeSchema>;

export const gateStateSchema = z.strictObject({
  status: z.enum(['starting', 'checking', 'healthy', 'unhealthy']),
  consecutive: z.number().int().nonnegative(),
  rounds: z.number().int().nonnegative(),
  /** ISO time after which the gate fails; set by the first check. */
  deadline: z.string().optional(),
  /** The results of the last round. */
  last: z.array(probeOutcomeSchema).optional(),
  /** ISO time the next round is due (the interval after the last one), when a later invocation runs it. */
  nextRoundAt: z.string().optional(),
});
export type GateState = z.infer<typeof gateStateSchema>;

/** The state a gate starts from (in the Map's ItemSelector and in the rollback plan). */
export const INITIAL_GATE: GateState = { status: 'starting', consecutive: 0, rounds: 0 };

export const checkHealthInputSchema = z.strictObject({
  target: targetName,
  hosts: z.array(hostRefSchema).min(1),
  healthGate: healthGateSchema,
  gate: gateStateSchema,
});
export type CheckHealthInput = z.infer<typeof checkHealthInputSchema>;

// ── drain-targets / register-targets ────────────────────────────────────────────────────────────
/** A host not yet in the wanted state in a target group. */
export const pendingTargetSchema = z.strictObject({
  targetGroup: z.string(),
  hostId: z.string(),
  state: z.string(),
  reason: z.string().optional(),
});
export type PendingTarget = z.infer<typeof pendingTargetSchema>;

/** Where a drain (every host `unused` in every group) or a registration (every host `healthy`) is. */
export const targetsWaitSchema = z.strictObject({
  status: z.enum(['starting', 'waiting', 'done', 'timed-out']),
  rounds: z.number().int().nonnegative(),
  /** ISO time after which the wait fails; set by the first call. */
  deadline: z.string().optional(),
  /** Hosts not yet there after the last round (at most {@link MAX_REPORTED_FAILURES}); the count says how many. */
  pending: z.array(pendingTargetSchema).optional(),
  pendingCount: z.number().int().nonnegative().optional(),
});
export type TargetsWait = z.infer<typeof targetsWaitSchema>;

/** The state a drain or a registration starts from (in the Map's ItemSelector and in the rollback plan). */
export const INITIAL_TARGETS_WAIT: TargetsWait = { status: 'starting', rounds: 0 };

export const targetsInputSchema = z.strictObject({
  target: targetName,
  hosts: z.array(hostRefSchema).min(1),
  wait: targetsWaitSchema,
});
export type TargetsInput = z.infer<typeof targetsInputSchema>;

// ── plan-rollback ───────────────────────────────────────────────────────────────────────────────
/**
 * A failure record in the state: what a `Catch` puts there (`Cause` a string), or what a Record…
 * Pass state puts there for a domain failure (`Cause` the status object that shows it).
 */
export const caughtErrorSchema = z.object({ Error: z.string(), Cause: z.unknown().optional() });
export type CaughtError = z.infer<typeof caughtErrorSchema>;

export const planRollbackInputSchema = z.strictObject({
  batches: z.array(batchSchema).min(1),
  failure: caughtErrorSchema,
});
export type PlanRollbackInput = z.infer<typeof planRollbackInputSchema>;

/** Why a batch failed, as the Map's failure record says. */
export const batchFailureSchema = z.strictObject({
  /** Index of the failed batch; undefined when the failure could not be read. */
  batchIndex: z.number().int().nonnegative().optional(),
  /** The state inside the batch that failed, e.g. `CheckHealth`. */
  state: z.string(),
  error: z.string(),
  /** One readable line (or a few) saying what went wrong. */
  message: z.string(),
  host: z.string().optional(),
  outputTail: z.string().optional(),
});
export type BatchFailure = z.infer<typeof batchFailureSchema>;

// ── describe-batch-failure ──────────────────────────────────────────────────────────────────────
export const describeBatchFailureInputSchema = z.strictObject({
  batch: batchSchema,
  /** The failure records of the batch, keyed by the state that failed. */
  failure: z.record(z.string(), caughtErrorSchema),
});
export type DescribeBatchFailureInput = z.infer<typeof describeBatchFailureInputSchema>;

/** The error and cause a failed batch ends its Map iteration with (the cause is a JSON {@link BatchFailure}). */
export const batchFailedSchema = z.strictObject({ error: z.string(), cause: z.string() });
export type BatchFailed = z.infer<typeof batchFailedSchema>;

export const rollbackPlanSchema = z.strictObject({
  /** Every host of every batch that was started, in order. */
  hosts: z.array(hostRefSchema).min(1),
  /** Hosts in the whole run (for `STEPOPS_HOST_COUNT`). */
  hostCount: z.number().int().positive(),
  batchesTouched: z.number().int().positive(),
  failure: batchFailureSchema,
  gate: gateStateSchema,
  /** The rollback's drain and registration of its hosts (target groups), from their start. */
  drain: targetsWaitSchema,
  register: targetsWaitSchema,
});
export type RollbackPlan = z.infer<typeof rollbackPlanSchema>;

// ── notify ──────────────────────────────────────────────────────────────────────────────────────
export const notifyInputSchema = z.strictObject({
  /** The whole run state (`$`): whatever the run has gathered when it ends. */
  run: z.record(z.string(), z.unknown()),
  runId,
  executionId: z.string().optional(),
  startedAt: z.string().optional(),
});
export type NotifyInput = z.infer<typeof notifyInputSchema>;

export const runOutcomeSchema = z.strictObject({
  outcome: z.enum(['succeeded', 'failed', 'rolled-back', 'rollback-failed']),
  summary: z.string(),
  /** The error the run ends with (absent on success). */
  error: z.string().optional(),
  /** The cause the run ends with: readable text naming the state, host and output tail. */
  cause: z.string().optional(),
  failedState: z.string().optional(),
  host: z.string().optional(),
});
export type RunOutcome = z.infer<typeof runOutcomeSchema>;
