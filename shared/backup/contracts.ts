/**
 * The contract between the backup workflow (ASL) and its Lambdas: the zod schema of each task's
 * input and output. Nothing here carries a secret: secrets are read on the host at run time.
 */
import * as z from 'zod';
import { NAME_PATTERN } from '../config/schema.ts';
import { hostRefSchema } from '../deploy/contracts.ts';

const targetName = z.string().regex(NAME_PATTERN, { error: 'expected a target name' });
const backupName = z.string().regex(NAME_PATTERN, { error: 'expected a backup name' });
const runId = z.string().min(1).max(128);
const iso = z.string().min(1);

/** What a run does: take backups (and prune), test a restore, or check freshness. */
export const backupTaskSchema = z.enum(['backup', 'restore-test', 'freshness']);
export type BackupTask = z.infer<typeof backupTaskSchema>;

/** The execution input of the backup workflow (see `workflows/backup.example.json`). */
export const backupRequestSchema = z.strictObject({
  target: targetName,
  /** One backup of the target (all of them when absent). */
  backup: backupName.optional(),
  reason: z.string().max(500).optional(),
  /** Take nothing and delete nothing: report what the prune would delete. */
  dryRun: z.boolean().optional(),
  task: backupTaskSchema.optional(),
});
export type BackupRequest = z.infer<typeof backupRequestSchema>;

export const backupKindSchema = z.enum(['ebs-snapshot', 'rds-snapshot', 'aws-backup', 'dump']);

// ── plan-backup ─────────────────────────────────────────────────────────────────────────────────
export const planBackupInputSchema = z.strictObject({ input: z.unknown(), runId });
export type PlanBackupInput = z.infer<typeof planBackupInputSchema>;

export const backupRunPlanSchema = z.strictObject({
  target: targetName,
  runId,
  task: backupTaskSchema,
  dryRun: z.boolean(),
  parallel: z.boolean(),
  /** The Map's concurrency: 0 (all at once) when parallel, else 1. */
  maxConcurrency: z.number().int().nonnegative(),
  reason: z.string().optional(),
  jobs: z.array(z.strictObject({ name: backupName, type: backupKindSchema })).min(1),
});
export type BackupRunPlan = z.infer<typeof backupRunPlanSchema>;

// ── start-backup / poll-backup ──────────────────────────────────────────────────────────────────
const resourceSchema = z.strictObject({ id: z.string().min(1), region: z.string().optional() });
export const copyRefSchema = z.strictObject({
  kind: z.enum(['ebs-snapshot', 'rds-snapshot', 'aws-backup']),
  resources: z.array(resourceSchema),
  cluster: z.boolean().optional(),
  vault: z.string().optional(),
});

export const jobInputSchema = z.strictObject({
  target: targetName,
  runId,
  job: z.strictObject({ name: backupName, type: backupKindSchema }),
});
export type JobInput = z.infer<typeof jobInputSchema>;

/** A started job: enough for another invocation to read its status and record it. */
export const jobHandleSchema = z.strictObject({
  target: targetName,
  runId,
  backup: backupName,
  kind: backupKindSchema,
  startedAt: iso,
  /** Epoch milliseconds after which a job still running counts as failed. */
  deadline: z.number().int(),
  copy: copyRefSchema.optional(),
  command: z.strictObject({ commandId: z.string().min(1), hosts: z.array(hostRefSchema).min(1) }).optional(),
  object: z.strictObject({ bucket: z.string(), key: z.string(), uri: z.string() }).optional(),
});
export type JobHandle = z.infer<typeof jobHandleSchema>;

export const pollBackupInputSchema = z.strictObject({ handle: jobHandleSchema });
export type PollBackupInput = z.infer<typeof pollBackupInputSchema>;

export const jobStatusSchema = z.strictObject({
  status: z.enum(['running', 'completed', 'failed']),
  detail: z.string(),
  resources: z.array(resourceSchema).optional(),
  sizeBytes: z.number().nonnegative().optional(),
  sha256: z.string().optional(),
  polls: z.number().int().nonnegative(),
});
export type JobStatus = z.infer<typeof jobStatusSchema>;

// ── record-backup ───────────────────────────────────────────────────────────────────────────────
const caughtErrorSchema = z.object({ Error: z.string().optional(), Cause: z.unknown().optional() });
export type CaughtError = z.infer<typeof caughtErrorSchema>;

export const recordBackupInputSchema = z.strictObject({
  target: targetName,
  runId,
  job: z.strictObject({ name: backupName, type: backupKindSchema }),
  /** The iteration's state: the handle and status when the job got that far, the caught error if any. */
  attempt: z.looseObject({
    handle: jobHandleSchema.optional(),
    status: jobStatusSchema.optional(),
    error: caughtErrorSchema.optional(),
  }),
});
export type RecordBackupInput = z.infer<typeof recordBackupInputSchema>;

export const recordedSchema = z.strictObject({
  backup: backupName,
  outcome: z.enum(['good', 'failed']),
  location: z.string(),
  detail: z.string(),
});
export type Recorded = z.infer<typeof recordedSchema>;

// ── prune-backups ───────────────────────────────────────────────────────────────────────────────
export const pruneInputSchema = z.strictObject({
  target: targetName,
  runId,
  backup: backupName,
  lastOutcome: z.enum(['good', 'failed', 'not-taken']),
  dryRun: z.boolean(),
});
export type PruneInput = z.infer<typeof pruneInputSchema>;

const verdictSchema = z.strictObject({ runId: z.string(), startedAt: z.string(), reason: z.string() });
export const pruneResultSchema = z.strictObject({
  backup: backupName,
  dryRun: z.boolean(),
  deleted: z.array(verdictSchema),
  wouldDelete: z.array(verdictSchema),
  kept: z.number().int().nonnegative(),
  untouchable: z.array(verdictSchema),
  /** Runs found by their tags but missing from the catalogue, now recorded. */
  adopted: z.array(z.string()),
});
export type PruneResult = z.infer<typeof pruneResultSchema>;

// ── restore tests ───────────────────────────────────────────────────────────────────────────────
export const restoreHandleSchema = z.strictObject({
  target: targetName,
  runId,
  backup: backupName,
  kind: backupKindSchema,
  /** The run whose copy is tested. */
  copyRunId: z.string(),
  deadline: z.number().int(),
  command: z.strictObject({ commandId: z.string().min(1), hosts: z.array(hostRefSchema).min(1) }).optional(),
  /** RDS: the temporary instance. */
  instance: z.strictObject({ id: z.string(), region: z.string() }).optional(),
  /** RDS: whether the temporary instance was found available (then it is deleted). */
  phase: z.enum(['restoring', 'deleting']).optional(),
  checked: z.string().optional(),
});
export type RestoreHandle = z.infer<typeof restoreHandleSchema>;

export const restoreStatusSchema = z.strictObject({
  status: z.enum(['running', 'passed', 'failed']),
  detail: z.string(),
  handle: restoreHandleSchema,
  polls: z.number().int().nonnegative(),
});
export type RestoreStatus = z.infer<typeof restoreStatusSchema>;

export const pollRestoreInputSchema = z.strictObject({ handle: restoreHandleSchema });
export type PollRestoreInput = z.infer<typeof pollRestoreInputSchema>;

export const recordRestoreInputSchema = z.strictObject({
  target: targetName,
  runId,
  job: z.strictObject({ name: backupName, type: backupKindSchema }),
  attempt: z.looseObject({
    handle: restoreHandleSchema.optional(),
    status: restoreStatusSchema.optional(),
    error: caughtErrorSchema.optional(),
  }),
});
export type RecordRestoreInput = z.infer<typeof recordRestoreInputSchema>;

export const restoreRecordedSchema = z.strictObject({
  backup: backupName,
  outcome: z.enum(['passed', 'failed']),
  copyRunId: z.string().optional(),
  detail: z.string(),
});
export type RestoreRecorded = z.infer<typeof restoreRecordedSchema>;

// ── check-freshness ─────────────────────────────────────────────────────────────────────────────
export const freshnessInputSchema = z.strictObject({ target: targetName, runId });
export type FreshnessInput = z.infer<typeof freshnessInputSchema>;
export const freshnessSchema = z.strictObject({
  stale: z.array(
    z.strictObject({
      backup: backupName,
      newest: z.string().optional(),
      ageHours: z.number().optional(),
      rpoHours: z.number(),
    }),
  ),
  checked: z.number().int().nonnegative(),
});
export type Freshness = z.infer<typeof freshnessSchema>;

// ── notify-backup ───────────────────────────────────────────────────────────────────────────────
export const notifyBackupInputSchema = z.strictObject({
  runId,
  /** The whole run state (`$`): the request, and `plan`, `results`, `freshness`, `failures` as far as it got. */
  run: z.looseObject({
    target: z.unknown().optional(),
    plan: backupRunPlanSchema.optional(),
    results: z.array(z.record(z.string(), z.unknown())).optional(),
    freshness: freshnessSchema.optional(),
    failures: z.record(z.string(), caughtErrorSchema).optional(),
  }),
});
export type NotifyBackupInput = z.infer<typeof notifyBackupInputSchema>;

export const backupOutcomeSchema = z.strictObject({
  outcome: z.enum(['succeeded', 'failed']),
  summary: z.string(),
  error: z.string().optional(),
  failedState: z.string().optional(),
  notified: z.boolean(),
});
export type BackupOutcome = z.infer<typeof backupOutcomeSchema>;
