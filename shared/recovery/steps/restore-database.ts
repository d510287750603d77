/** restore-database: restores an RDS snapshot to a new instance, optionally taking over the production name. */
import type { RemainingTime } from '../../deploy/steps.ts';
import { SNAPSHOT_TAGS } from '../../drivers/aws/snapshot-service.ts';
import type { StepInput, StepProgress } from '../contracts.ts';
import type { RecoveryDeps } from '../deps.ts';
import { RecoveryStepFailedError } from '../errors.ts';
import { act, context, need, phases, poll, wait } from './common.ts';

/**
 * restore-database: restores the DB snapshot the pre-flight chose to a NEW instance with the old
 * one's settings, waits until it is available, then stops there (the summary gives the endpoint) or,
 * when the step declares `swapNames`, renames the old instance away and the new one to its name.
 *
 * @example
 * await restoreDatabaseStep({ ...input, progress: INITIAL_PROGRESS }, deps, remaining)
 */
export async function restoreDatabaseStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  if (ctx.step.type !== 'restore-rds')
    throw new RecoveryStepFailedError(`step "${ctx.step.name}" is not restore-rds`);
  const rds = deps.databases(ctx.target);
  const region = need(ctx, 'region');
  const dbInstance = need(ctx, 'dbInstance');
  const newId = need(ctx, 'newId');
  const swap = ctx.step.swapNames;
  const available = async (id: string): Promise<boolean> => {
    const seen = await poll(ctx, `DB instance ${id} to be available`, async () => {
      const db = await rds.describe(region, id);
      return db?.status === 'available' ? true : undefined;
    });
    return seen === true;
  };
  const snapshotId = need(ctx, 'snapshotId');
  const oldId = swap ? need(ctx, 'oldId') : '';
  /** The names were swapped already: the old instance is kept as oldId and the restored one is gone under newId. */
  const swapped = async () =>
    swap && !(await rds.describe(region, newId)) && (await rds.describe(region, oldId)) !== undefined;
  /** Where the restored instance is now: its new name, or the production name once swapped. */
  const restoredId = async () =>
    (await swapped()) && (await rds.describe(region, dbInstance)) ? dbInstance : newId;
  /** The instance the restore replaces, whose settings it takes: production, or its kept copy once renamed. */
  const production = async () => {
    const like =
      (swap ? await rds.describe(region, oldId) : undefined) ?? (await rds.describe(region, dbInstance));
    if (!like)
      throw new RecoveryStepFailedError(`step "${ctx.step.name}": DB instance ${dbInstance} is gone`);
    return like;
  };
  return phases(
    ctx,
    input.progress,
    [
      act('restore', async () => {
        // A retried call finds the instance it restored already (under its new name, or swapped in).
        if (await rds.describe(region, newId)) return;
        if (await swapped()) return;
        const like = await production();
        await rds.restore(region, {
          snapshotId,
          newId,
          like,
          tags: { [SNAPSHOT_TAGS.target]: ctx.target.name, [SNAPSHOT_TAGS.run]: input.runId },
        });
      }),
      wait('wait-restored', async () => available(await restoredId())),
      act('apply-settings', async () => {
        // What the restore call cannot take (monitoring, storage autoscaling, …), from the instance
        // it replaces; a retried call finds them set and changes nothing.
        await rds.applySettings(region, await restoredId(), await production());
      }),
      wait('wait-settings', async () => available(await restoredId())),
      ...(swap
        ? [
            act('rename-old', async () => {
              // A retry after the rename finds the old instance under its new name already.
              if (await rds.describe(region, oldId)) return;
              if ((await rds.describe(region, dbInstance))?.status === 'renaming') return;
              await rds.rename(region, dbInstance, oldId);
            }),
            wait('wait-old-renamed', () => available(oldId)),
            act('rename-new', async () => {
              if (await swapped()) return;
              if ((await rds.describe(region, newId))?.status === 'renaming') return;
              await rds.rename(region, newId, dbInstance);
            }),
            wait('wait-new-renamed', () => available(dbInstance)),
          ]
        : []),
      [
        'describe',
        async (p) => {
          const final = await rds.describe(region, swap ? dbInstance : newId);
          const endpoint = final?.endpoint ?? '';
          return {
            ...p,
            endpoint,
            summary: swap
              ? `${dbInstance} now runs restored from ${snapshotId} at ${endpoint || 'its endpoint'}; the old instance is kept as ${need(ctx, 'oldId')}`
              : `restored ${snapshotId} to the new instance ${newId} at ${endpoint || '(no endpoint yet)'}; ${dbInstance} is unchanged`,
          };
        },
      ],
    ],
    (p) => ({ ...p, status: 'done', phase: 'done' }),
  );
}
