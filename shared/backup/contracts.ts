/**
 * The contract between the backup workflow (ASL) and its Lambdas: the zod schema of each task's
 * input and output. Nothing here carries a secret: secrets are read on the host at run time.
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

const targetName = pure(() => z.string().check(z.regex(NAME_PATTERN, { error: 'expected a target name' })));
const backupName = pure(() => z.string().check(z.regex(NAME_PATTERN, { error: 'expected a backup name' })));
const runId = pure(() => z.string().check(z.minLength(1), z.maxLength(128)));
const iso = pure(() => z.string().check(z.minLength(1)));

/** What a run does: take backups (and prune), test a restore, or check freshness. */
export const backupTaskSchema = pure(() => z.enum(['backup', 'restore-test', 'freshness']));
export type BackupTask = z.infer<typeof backupTaskSchema>;

/** The execution input of the backup workflow (see `workflows/backup.example.json`). */
export const backupRequestSchema = pure(() =>
  z.strictObject({
    target: targetName,
    /** One backup of the target (all of them when absent). */
    backup: z.optional(backupName),
    reason: z.optional(z.string().check(z.maxLength(500))),
    /** Who asked (`ana (stepops backup)`), as `stepops history` shows it. */
    requestedBy: z.optional(z.string().check(z.maxLength(200))),
    /** Take nothing and delete nothing: report what the prune would delete. */
    dryRun: z.optional(z.boolean()),
    task: z.optional(backupTaskSchema),
  }),
);
export type BackupRequest = z.infer<typeof backupRequestSchema>;

export const backupKindSchema = pure(() => z.enum(['ebs-snapshot', 'rds-snapshot', 'aws-backup', 'dump']));

// ── plan-backup ─────────────────────────────────────────────────────────────────────────────────
export const planBackupInputSchema = pure(() => z.strictObject({ input: z.unknown(), runId }));
export type PlanBackupInput = z.infer<typeof planBackupInputSchema>;

export const backupRunPlanSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    task: backupTaskSchema,
    dryRun: z.boolean(),
    parallel: z.boolean(),
    /** The Map's concurrency: 0 (all at once) when parallel, else 1. */
    maxConcurrency: z.number().check(z.int(), z.nonnegative()),
    reason: z.optional(z.string()),
    jobs: z.array(z.strictObject({ name: backupName, type: backupKindSchema })).check(z.minLength(1)),
  }),
);
export type BackupRunPlan = z.infer<typeof backupRunPlanSchema>;

// ── start-backup / poll-backup ──────────────────────────────────────────────────────────────────
const resourceSchema = pure(() =>
  z.strictObject({
    id: z.string().check(z.minLength(1)),
    region: z.optional(z.string()),
  }),
);
export const copyRefSchema = pure(() =>
  z.strictObject({
    kind: z.enum(['ebs-snapshot', 'rds-snapshot', 'aws-backup']),
    resources: z.array(resourceSchema),
    cluster: z.optional(z.boolean()),
    vault: z.optional(z.string()),
  }),
);

export const jobInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    job: z.strictObject({ name: backupName, type: backupKindSchema }),
    /**
     * When the run started (`$$.Execution.StartTime`): the time in the names a step gives what it
     * makes (a dump's key, a restore-test instance), so that a retried step names them the same.
     */
    runStartedAt: z.optional(iso),
  }),
);
export type JobInput = z.infer<typeof jobInputSchema>;

/** A started job: enough for another invocation to read its status and record it. */
export const jobHandleSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    backup: backupName,
    kind: backupKindSchema,
    startedAt: iso,
    /** Epoch milliseconds after which a job still running counts as failed. */
    deadline: z.number().check(z.int()),
    copy: z.optional(copyRefSchema),
    command: z.optional(
      z.strictObject({
        commandId: z.string().check(z.minLength(1)),
        hosts: z.array(hostRefSchema).check(z.minLength(1)),
      }),
    ),
    object: z.optional(z.strictObject({ bucket: z.string(), key: z.string(), uri: z.string() })),
    /**
     * A dump uploaded by a second command: the host's spool file; in phase `upload`, what the dump
     * command reported (the upload command must upload exactly that).
     */
    upload: z.optional(
      z.strictObject({
        spool: z.string().check(z.minLength(1)),
        phase: z.enum(['dump', 'upload']),
        sha256: z.optional(z.string()),
        sizeBytes: z.optional(z.number().check(z.int(), z.nonnegative())),
      }),
    ),
  }),
);
export type JobHandle = z.infer<typeof jobHandleSchema>;

export const pollBackupInputSchema = pure(() => z.strictObject({ handle: jobHandleSchema }));
export type PollBackupInput = z.infer<typeof pollBackupInputSchema>;

export const jobStatusSchema = pure(() =>
  z.strictObject({
    status: z.enum(['running', 'completed', 'failed']),
    detail: z.string(),
    resources: z.optional(z.array(resourceSchema)),
    sizeBytes: z.optional(z.number().check(z.nonnegative())),
    sha256: z.optional(z.string()),
    polls: z.number().check(z.int(), z.nonnegative()),
    /** The handle to poll from now on, when the poll moved the job on (a dump's upload command). */
    handle: z.optional(jobHandleSchema),
    /** Seconds the workflow waits before the next read of a job still running (0 or absent: none). */
    waitSeconds: z.optional(z.number().check(z.int(), z.nonnegative())),
  }),
);
export type JobStatus = z.infer<typeof jobStatusSchema>;

// ── record-backup ───────────────────────────────────────────────────────────────────────────────
const caughtErrorSchema = pure(() =>
  z.object({ Error: z.optional(z.string()), Cause: z.optional(z.unknown()) }),
);
export type CaughtError = z.infer<typeof caughtErrorSchema>;

export const recordBackupInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    job: z.strictObject({ name: backupName, type: backupKindSchema }),
    /** The iteration's state: the handle and status when the job got that far, the caught error if any. */
    attempt: z.looseObject({
      handle: z.optional(jobHandleSchema),
      status: z.optional(jobStatusSchema),
      error: z.optional(caughtErrorSchema),
    }),
  }),
);
export type RecordBackupInput = z.infer<typeof recordBackupInputSchema>;

export const recordedSchema = pure(() =>
  z.strictObject({
    backup: backupName,
    outcome: z.enum(['good', 'failed']),
    location: z.string(),
    detail: z.string(),
  }),
);
export type Recorded = z.infer<typeof recordedSchema>;

// ── prune-backups ───────────────────────────────────────────────────────────────────────────────
export const pruneInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    backup: backupName,
    lastOutcome: z.enum(['good', 'failed', 'not-taken']),
    dryRun: z.boolean(),
  }),
);
export type PruneInput = z.infer<typeof pruneInputSchema>;

const verdictSchema = pure(() =>
  z.strictObject({ runId: z.string(), startedAt: z.string(), reason: z.string() }),
);
export const pruneResultSchema = pure(() =>
  z.strictObject({
    backup: backupName,
    dryRun: z.boolean(),
    deleted: z.array(verdictSchema),
    wouldDelete: z.array(verdictSchema),
    kept: z.number().check(z.int(), z.nonnegative()),
    untouchable: z.array(verdictSchema),
    /** Runs found by their tags but missing from the catalogue, now recorded. */
    adopted: z.array(z.string()),
    /** Copies the retention would delete but that are still in use (a snapshot behind an AMI): kept. */
    inUse: z.optional(z.array(z.strictObject({ runId: z.string(), detail: z.string() }))),
  }),
);
export type PruneResult = z.infer<typeof pruneResultSchema>;

// ── restore tests ───────────────────────────────────────────────────────────────────────────────
export const restoreHandleSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    backup: backupName,
    kind: backupKindSchema,
    /** The run whose copy is tested. */
    copyRunId: z.string(),
    /** When the test started (the wait between reads grows with the time it has taken). */
    startedAt: z.optional(iso),
    deadline: z.number().check(z.int()),
    command: z.optional(
      z.strictObject({
        commandId: z.string().check(z.minLength(1)),
        hosts: z.array(hostRefSchema).check(z.minLength(1)),
      }),
    ),
    /** RDS: the temporary instance. */
    instance: z.optional(
      z.strictObject({ id: z.string(), region: z.string(), cluster: z.optional(z.string()) }),
    ),
    /** RDS: whether the temporary instance was found available (then it is deleted). */
    phase: z.optional(z.enum(['restoring', 'deleting'])),
    checked: z.optional(z.string()),
  }),
);
export type RestoreHandle = z.infer<typeof restoreHandleSchema>;

export const restoreStatusSchema = pure(() =>
  z.strictObject({
    status: z.enum(['running', 'passed', 'failed']),
    detail: z.string(),
    handle: restoreHandleSchema,
    polls: z.number().check(z.int(), z.nonnegative()),
    /** Seconds the workflow waits before the next read of a test still running (0 or absent: none). */
    waitSeconds: z.optional(z.number().check(z.int(), z.nonnegative())),
  }),
);
export type RestoreStatus = z.infer<typeof restoreStatusSchema>;

export const pollRestoreInputSchema = pure(() => z.strictObject({ handle: restoreHandleSchema }));
export type PollRestoreInput = z.infer<typeof pollRestoreInputSchema>;

export const recordRestoreInputSchema = pure(() =>
  z.strictObject({
    target: targetName,
    runId,
    job: z.strictObject({ name: backupName, type: backupKindSchema }),
    attempt: z.looseObject({
      handle: z.optional(restoreHandleSchema),
      status: z.optional(restoreStatusSchema),
      error: z.optional(caughtErrorSchema),
    }),
  }),
);
export type RecordRestoreInput = z.infer<typeof recordRestoreInputSchema>;

export const restoreRecordedSchema = pure(() =>
  z.strictObject({
    backup: backupName,
    outcome: z.enum(['passed', 'failed']),
    copyRunId: z.optional(z.string()),
    detail: z.string(),
  }),
);
export type RestoreRecorded = z.infer<typeof restoreRecordedSchema>;

// ── check-freshness ─────────────────────────────────────────────────────────────────────────────
export const freshnessInputSchema = pure(() => z.strictObject({ target: targetName, runId }));
export type FreshnessInput = z.infer<typeof freshnessInputSchema>;
export const freshnessSchema = pure(() =>
  z.strictObject({
    stale: z.array(
      z.strictObject({
        backup: backupName,
        newest: z.optional(z.string()),
        ageHours: z.optional(z.number()),
        rpoHours: z.number(),
      }),
    ),
    checked: z.number().check(z.int(), z.nonnegative()),
  }),
);
export type Freshness = z.infer<typeof freshnessSchema>;

// ── notify-backup ───────────────────────────────────────────────────────────────────────────────
export const notifyBackupInputSchema = pure(() =>
  z.strictObject({
    runId,
    /** The whole run state (`$`): the request, and `plan`, `results`, `freshness`, `failures` as far as it got. */
    run: z.looseObject({
      target: z.optional(z.unknown()),
      plan: z.optional(backupRunPlanSchema),
      results: z.optional(z.array(z.record(z.string(), z.unknown()))),
      freshness: z.optional(freshnessSchema),
      failures: z.optional(z.record(z.string(), caughtErrorSchema)),
    }),
  }),
);
export type NotifyBackupInput = z.infer<typeof notifyBackupInputSchema>;

export const backupOutcomeSchema = pure(() =>
  z.strictObject({
    outcome: z.enum(['succeeded', 'failed']),
    summary: z.string(),
    error: z.optional(z.string()),
    failedState: z.optional(z.string()),
    notified: z.boolean(),
  }),
);
export type BackupOutcome = z.infer<typeof backupOutcomeSchema>;
