import type { BackupJob, Target } from '../../config/schema.ts';
import type { CatalogueEntry, CopyResource, CopyScope, TaggedCopy } from '../../drivers/ports.ts';
import type { JobHandle, PruneInput, PruneResult } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { CopyInUseError, LastGoodCopyError, NotStepopsCopyError, SuspectCopyError } from '../errors.ts';
import { keepBackupLease, LEASE_MARGIN_SECONDS } from '../lease.ts';
import { decidePrune, newestGoodEntry, type RetentionCopy, suspectDate } from '../retention.ts';
import { dumpPrefixKey, jobOf, locationOf, TAG } from './common.ts';

function scopeOf(target: Target, job: BackupJob): CopyScope {
  const region =
    job.type === 'rds-snapshot' ? job.region : target.hosts.type === 'ec2' ? target.hosts.region : undefined;
  return {
    kind: job.type === 'dump' ? 'ebs-snapshot' : job.type,
    target: target.name,
    backup: job.name,
    ...(region ? { region } : {}),
    ...(job.type === 'aws-backup' ? { vault: job.vault } : {}),
    ...(job.type === 'rds-snapshot' && job.dbCluster ? { cluster: true } : {}),
    ...(job.type === 'rds-snapshot' ? { database: job.dbCluster ?? job.dbInstance } : {}),
  };
}

/** The name both copy services give the copy of a resource carrying no `stepops:run` tag. */
const UNTAGGED_RUN = 'untagged-run:';

async function taggedCopies(
  target: Target,
  job: BackupJob,
  deps: BackupDeps,
  scope: CopyScope,
): Promise<TaggedCopy[]> {
  const drivers = deps.drivers(target);
  if (job.type !== 'dump') return drivers.copies.listTagged(scope);
  const objects = await drivers.objects.list(job.bucket, dumpPrefixKey(target.name, job));
  return objects
    .filter((o) => o.tags[TAG.target] === target.name && o.tags[TAG.backup] === job.name)
    .map((o) => ({
      runId: o.tags[TAG.run] || `${UNTAGGED_RUN}${o.key}`,
      resources: [{ id: o.key }],
      state: 'completed' as const,
      createdAt: o.lastModified,
      sizeBytes: o.sizeBytes,
    }));
}

/** What the listing says of one catalogue row's resources. */
interface RowResources {
  /** Found carrying the job's tags and the row's own run tag. */
  own: CopyResource[];
  /** Found, but carrying another run's tag (or none): never the row's to delete. */
  foreign: { id: string; run: string }[];
}

function rowResources(entry: CatalogueEntry, owner: ReadonlyMap<string, string>): RowResources {
  const own: CopyResource[] = [];
  const foreign: RowResources['foreign'] = [];
  for (const r of entry.resources) {
    const run = owner.get(r.id);
    if (run === entry.runId) own.push(r);
    else if (run !== undefined) foreign.push({ id: r.id, run });
  }
  return { own, foreign };
}

/**
 * Deletes the resources of one catalogue row that carry its own run tag, re-checking the tags of
 * each dump object just before it goes.
 */
async function deleteOwn(
  target: Target,
  job: BackupJob,
  entry: CatalogueEntry,
  resources: CopyResource[],
  deps: BackupDeps,
  scope: CopyScope,
): Promise<void> {
  if (resources.length === 0) return;
  const drivers = deps.drivers(target);
  if (job.type === 'dump') {
    for (const resource of resources) {
      const found = await drivers.objects.head(job.bucket, resource.id);
      if (!found) continue;
      if (
        found.tags[TAG.target] !== target.name ||
        found.tags[TAG.backup] !== job.name ||
        found.tags[TAG.run] !== entry.runId
      ) {
        throw new NotStepopsCopyError(
          `${resource.id} does not carry the stepops tags of ${target.name}/${job.name} run ${entry.runId}: not deleted`,
        );
      }
      await drivers.objects.remove(job.bucket, resource.id);
    }
    return;
  }
  await drivers.copies.remove(
    {
      kind: job.type,
      resources,
      ...(scope.cluster ? { cluster: true } : {}),
      ...(scope.vault ? { vault: scope.vault } : {}),
    },
    scope,
    entry.runId,
  );
}

function withoutDeleting(entry: CatalogueEntry): CatalogueEntry {
  const { deletingFrom: _from, ...rest } = entry;
  return rest;
}

/**
 * Finishes or undoes what a prune that died left `deleting`: a copy whose resources are all gone
 * is recorded deleted; one found whole gets its outcome back (this run's retention decides it
 * again); one half deleted (several resources) is deleted to the end, unless the backup just
 * taken failed (then nothing is deleted). Returns the runs it changed.
 */
async function reconcileDeleting(
  target: Target,
  job: BackupJob,
  entries: CatalogueEntry[],
  owner: ReadonlyMap<string, string>,
  currentRun: string,
  mayDelete: boolean,
  deps: BackupDeps,
  scope: CopyScope,
): Promise<string[]> {
  const drivers = deps.drivers(target);
  const changed: string[] = [];
  const named = new Map<string, number>();
  for (const e of entries.filter((x) => x.outcome !== 'deleted'))
    for (const r of e.resources) named.set(r.id, (named.get(r.id) ?? 0) + 1);
  for (const entry of entries.filter((e) => e.outcome === 'deleting')) {
    const { own, foreign } = rowResources(entry, owner);
    // A row naming another run's copy, or a resource another row names too, or dated in the
    // future, is left as it is and reported as suspect: nothing is deleted or recorded from it.
    if (
      foreign.length > 0 ||
      own.some((r) => (named.get(r.id) ?? 0) > 1) ||
      suspectDate(entry.startedAt, new Date(deps.now()))
    )
      continue;
    const at = new Date(deps.now()).toISOString();
    if (own.length > 0 && own.length === entry.resources.length) {
      await drivers.catalogue.put({ ...withoutDeleting(entry), outcome: entry.deletingFrom ?? 'failed' });
    } else if (own.length === 0 || mayDelete) {
      await deleteOwn(target, job, entry, own, deps, scope);
      await drivers.catalogue.put({
        ...withoutDeleting(entry),
        outcome: 'deleted',
        deletedAt: at,
        error: `pruned: finished by run ${currentRun} after a prune that stopped midway`,
      });
    } else continue;
    changed.push(entry.runId);
  }
  return changed;
}

/** Why each row cannot be trusted: it names another run's copy, shares a resource with another row, or its copy is gone. */
function rowConflicts(
  entries: readonly CatalogueEntry[],
  owner: ReadonlyMap<string, string>,
  currentRun: string,
): Map<string, string> {
  const live = entries.filter((e) => e.outcome !== 'deleted');
  const rowsOf = new Map<string, string[]>();
  for (const e of live) {
    for (const r of e.resources) rowsOf.set(r.id, [...(rowsOf.get(r.id) ?? []), e.runId]);
  }
  const conflicts = new Map<string, string>();
  for (const e of live) {
    const problems: string[] = [];
    const shared = e.resources.filter((r) => (rowsOf.get(r.id)?.length ?? 0) > 1);
    if (shared.length > 0) {
      const others = [...new Set(shared.flatMap((r) => rowsOf.get(r.id) ?? []))].filter((x) => x !== e.runId);
      problems.push(`its resources also appear in the row of ${others.join(', ')}`);
    }
    const { own, foreign } = rowResources(e, owner);
    if (foreign.length > 0) {
      const runs = [...new Set(foreign.map((f) => (f.run.startsWith(UNTAGGED_RUN) ? 'no run tag' : f.run)))];
      problems.push(`it names ${foreign.length} resource(s) of another run (${runs.join(', ')})`);
    }
    if (e.outcome === 'good' && own.length === 0 && foreign.length === 0 && e.runId !== currentRun) {
      problems.push('it is recorded good, but its copy is not found carrying its stepops tags');
    }
    if (problems.length > 0) conflicts.set(e.runId, problems.join('; '));
  }
  return conflicts;
}

/**
 * Prunes one job by its retention:
 *
 * 1. lists the job's copies by their tags, and finishes or undoes the deletions a prune that died
 *    left `deleting`;
 * 2. adopts copies that carry a run tag but that the catalogue lacks (a run that crashed between
 *    taking and recording): a complete snapshot as good but adopted (unverified, never the newest
 *    good copy), an unverified dump or a failed snapshot as failed; a copy without a run tag is not
 *    stepops' and is never adopted;
 * 3. deletes what {@link decidePrune} allows, each copy marked `deleting` before its first delete
 *    and `deleted` after, and only the resources that carry the row's own run tag;
 * 4. fails with {@link SuspectCopyError} when it found copies or rows it cannot trust (kept).
 *
 * Deletes nothing on a dry run or when the backup just taken failed.
 *
 * @example
 * await pruneBackupsStep({ target: 'shop', runId, backup: 'volumes', lastOutcome: 'good', dryRun: false }, deps)
 * @throws SuspectCopyError naming each suspect copy, after the safe deletions
 * @throws LastGoodCopyError if a deletion would remove the newest good or verified copy (never expected)
 */
export async function pruneBackupsStep(input: PruneInput, deps: BackupDeps): Promise<PruneResult> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.backup);
  const drivers = deps.drivers(target);
  const now = new Date(deps.now());
  // Adopting and deleting only while this run holds the job's lease.
  if (!input.dryRun) {
    await keepBackupLease(drivers.leases, target, job.name, input.runId, LEASE_MARGIN_SECONDS);
  }
  let entries = await drivers.catalogue.list(target.name, job.name);
  // AWS Backup's EC2 and EBS points carry no tags it can list: they are known by the catalogue.
  const scope: CopyScope = {
    ...scopeOf(target, job),
    ...(job.type === 'aws-backup' ? { catalogued: entries } : {}),
  };
  const tagged = await taggedCopies(target, job, deps, scope);
  const owner = new Map<string, string>();
  for (const copy of tagged) for (const r of copy.resources) owner.set(r.id, copy.runId);

  if (
    !input.dryRun &&
    (
      await reconcileDeleting(
        target,
        job,
        entries,
        owner,
        input.runId,
        input.lastOutcome !== 'failed',
        deps,
        scope,
      )
    ).length > 0
  ) {
    entries = await drivers.catalogue.list(target.name, job.name);
  }

  const known = new Set(entries.map((e) => e.runId));
  const named = new Set(entries.flatMap((e) => e.resources.map((r) => r.id)));
  const adopted: string[] = [];
  let adopting = false;
  for (const copy of tagged) {
    if (
      known.has(copy.runId) ||
      copy.state === 'pending' ||
      copy.runId === input.runId ||
      copy.runId.startsWith(UNTAGGED_RUN) ||
      copy.resources.some((r) => named.has(r.id))
    )
      continue;
    if (input.dryRun) {
      adopted.push(copy.runId);
      continue;
    }
    adopting = true;
    const complete = job.type !== 'dump' && copy.state === 'completed';
    const entry: CatalogueEntry = {
      target: target.name,
      backup: job.name,
      runId: copy.runId,
      kind: job.type,
      location:
        job.type === 'dump'
          ? drivers.objects.uri(job.bucket, copy.resources[0]?.id ?? '')
          : locationOf({ kind: job.type } as JobHandle, copy.resources),
      resources: copy.resources,
      ...(copy.sizeBytes !== undefined ? { sizeBytes: copy.sizeBytes } : {}),
      startedAt: copy.createdAt,
      finishedAt: now.toISOString(),
      outcome: complete ? 'good' : 'failed',
      adopted: true,
      ...(complete
        ? {}
        : {
            error:
              job.type === 'dump'
                ? 'found by its tags after a run that did not record it: its checksum was never verified'
                : 'found by its tags in a failed state after a run that did not record it',
          }),
    };
    // Only if still unrecorded: the run that made the copy may have recorded it since the list.
    if (await drivers.catalogue.create(entry)) adopted.push(copy.runId);
  }
  if (adopting) entries = await drivers.catalogue.list(target.name, job.name);

  const conflicts = rowConflicts(entries, owner, input.runId);
  const copies: RetentionCopy[] = entries
    .filter((e) => e.resources.length > 0 || e.outcome === 'good')
    .map((e) => {
      const { own } = rowResources(e, owner);
      const conflict = conflicts.get(e.runId);
      return {
        runId: e.runId,
        startedAt: e.startedAt,
        outcome: e.outcome,
        catalogued: true,
        tagged: own.length > 0 && own.length === e.resources.length,
        verified: e.restoreTest?.ok === true,
        ...(e.adopted ? { adopted: true } : {}),
        ...(conflict ? { conflict } : {}),
      };
    });
  // Copies a dry run would adopt count as adopted; a copy without a run tag is not stepops' and
  // counts for nothing.
  for (const copy of tagged) {
    if (
      !entries.some((e) => e.runId === copy.runId) &&
      copy.state !== 'pending' &&
      !copy.runId.startsWith(UNTAGGED_RUN)
    ) {
      copies.push({
        runId: copy.runId,
        startedAt: copy.createdAt,
        outcome: copy.state === 'completed' ? 'good' : 'failed',
        catalogued: false,
        tagged: true,
        adopted: true,
      });
    }
  }
  const decision = decidePrune(copies, job.retention, {
    now,
    lastRunFailed: input.lastOutcome === 'failed',
  });

  // An independent guard: whatever the decision, the newest good and the newest restore-verified
  // copies that are really there are never deleted.
  const present = (e: CatalogueEntry) =>
    e.resources.length > 0 && rowResources(e, owner).own.length === e.resources.length;
  const protectedRuns = [
    newestGoodEntry(entries, now, present),
    newestGoodEntry(entries, now, (e) => present(e) && e.restoreTest?.ok === true),
  ].flatMap((e) => (e ? [e.runId] : []));
  const deleted: PruneResult['deleted'] = [];
  const inUse: NonNullable<PruneResult['inUse']> = [];
  if (!input.dryRun) {
    for (const verdict of decision.delete) {
      if (protectedRuns.includes(verdict.runId)) {
        throw new LastGoodCopyError(
          `refusing to delete ${verdict.runId} of ${target.name}/${job.name}: it is the newest good (or restore-verified) copy`,
        );
      }
      const entry = entries.find((e) => e.runId === verdict.runId);
      if (!entry || (entry.outcome !== 'good' && entry.outcome !== 'failed')) continue;
      await drivers.catalogue.put({
        ...entry,
        outcome: 'deleting',
        deletingFrom: entry.outcome,
      });
      try {
        await deleteOwn(target, job, entry, rowResources(entry, owner).own, deps, scope);
      } catch (error) {
        // A snapshot behind a registered AMI: kept, its row as it was, and reported; the others are still pruned.
        if (!(error instanceof CopyInUseError)) throw error;
        await drivers.catalogue.put(entry);
        inUse.push({ runId: verdict.runId, detail: error.message });
        continue;
      }
      await drivers.catalogue.put({
        ...withoutDeleting(entry),
        outcome: 'deleted',
        deletedAt: new Date(deps.now()).toISOString(),
        error: `pruned: ${verdict.reason}`,
      });
      deleted.push(verdict);
    }
  }
  if (decision.suspect.length > 0) {
    const done = input.dryRun
      ? `would delete ${decision.delete.map((v) => v.runId).join(', ') || 'nothing'}`
      : `deleted ${deleted.map((v) => v.runId).join(', ') || 'nothing'}`;
    throw new SuspectCopyError(
      `${target.name}/${job.name}: ${done}; kept as suspect, counted for no rule: ${decision.suspect
        .map((v) => `${v.runId} (${v.reason.replace(/: kept, and counted for no rule$/, '')})`)
        .join(' | ')}`,
    );
  }
  return {
    backup: job.name,
    dryRun: input.dryRun,
    deleted,
    wouldDelete: input.dryRun ? decision.delete : [],
    kept: decision.keep.length,
    untouchable: decision.untouchable,
    adopted,
    ...(inUse.length > 0 ? { inUse } : {}),
  };
}
