/** restore-volume: swaps an instance's volume for one made from a snapshot. */
import type { RemainingTime } from '../../deploy/steps.ts';
import { CLIENT_TOKEN_TAG } from '../../drivers/aws/ec2-instance-operations.ts';
import { SNAPSHOT_TAGS } from '../../drivers/aws/snapshot-service.ts';
import type { StepInput, StepProgress } from '../contracts.ts';
import type { RecoveryDeps } from '../deps.ts';
import {
  act,
  context,
  need,
  phases,
  REPLACED_BY_TAG,
  wait,
  waitReady,
  waitState,
  waitVolume,
} from './common.ts';

/**
 * restore-volume: stops the instance, creates a volume from the snapshot the pre-flight chose, swaps
 * it in at the declared device (the old volume is kept, tagged), starts the instance and waits for it.
 *
 * @example
 * await restoreVolumeStep({ ...input, progress: INITIAL_PROGRESS }, deps, remaining)
 */
export async function restoreVolumeStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  const ops = deps.instances(ctx.target);
  const instanceId = need(ctx, 'instanceId');
  const oldVolumeId = need(ctx, 'oldVolumeId');
  const device = need(ctx, 'device');
  const tags = { [SNAPSHOT_TAGS.target]: ctx.target.name, [SNAPSHOT_TAGS.run]: input.runId };
  return phases(
    ctx,
    input.progress,
    [
      act('stop', () => ops.stop(ctx.region, [instanceId])),
      wait('wait-stopped', () => waitState(ctx, ops, [instanceId], 'stopped')),
      [
        'create-volume',
        async (p) => {
          // CreateVolume has no client token: the tag lets a retried call find the volume it made.
          const clientToken = `${input.runId}/${ctx.step.name}`.slice(0, 256);
          const made = await ops.findCreatedVolume(ctx.region, clientToken);
          if (made) return { ...p, newVolumeId: made };
          const old = await ops.volume(ctx.region, oldVolumeId);
          const volumeId = await ops.createVolume(ctx.region, {
            snapshotId: need(ctx, 'snapshotId'),
            availabilityZone: need(ctx, 'availabilityZone'),
            ...(old?.type ? { volumeType: old.type } : {}),
            ...(old?.iops !== undefined ? { iops: old.iops } : {}),
            ...(old?.throughput !== undefined ? { throughput: old.throughput } : {}),
            ...(old?.kmsKeyId ? { kmsKeyId: old.kmsKeyId } : {}),
            tags: { ...tags, [CLIENT_TOKEN_TAG]: clientToken },
          });
          return { ...p, newVolumeId: volumeId };
        },
      ],
      wait('wait-volume', (p) =>
        waitVolume(ctx, ops, String(p.newVolumeId), (v) => v.state === 'available', 'available'),
      ),
      act('detach-old', async () => {
        await ops.tag(ctx.region, [oldVolumeId], { [REPLACED_BY_TAG]: input.runId });
        await ops.detachVolume(ctx.region, oldVolumeId, instanceId);
      }),
      wait('wait-detached', () =>
        waitVolume(ctx, ops, oldVolumeId, (v) => v.state === 'available', 'detached'),
      ),
      act('attach-new', (p) => ops.attachVolume(ctx.region, String(p.newVolumeId), instanceId, device)),
      wait('wait-attached', (p) =>
        waitVolume(
          ctx,
          ops,
          String(p.newVolumeId),
          (v) => v.state === 'in-use' && v.attachment === 'attached',
          'attached',
        ),
      ),
      act('start', () => ops.start(ctx.region, [instanceId])),
      wait('wait-ready', () => waitReady(ctx, ops, [instanceId])),
    ],
    (p) => ({
      ...p,
      status: 'done',
      phase: 'done',
      summary: `${instanceId} runs on ${String(p.newVolumeId)} at ${device} (from ${need(ctx, 'snapshotId')}); the old volume ${oldVolumeId} is kept, tagged ${REPLACED_BY_TAG}`,
    }),
  );
}
