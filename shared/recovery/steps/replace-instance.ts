/** replace-instance: replaces one instance of the target and retires the old one. */
import type { Target } from '../../config/schema.ts';
import { TARGETS_POLL_MS } from '../../deploy/load-balancer.ts';
import type { RemainingTime } from '../../deploy/steps.ts';
import { SNAPSHOT_TAGS } from '../../drivers/aws/snapshot-service.ts';
import type { HostRef } from '../../drivers/ports.ts';
import type { StepInput, StepProgress } from '../contracts.ts';
import type { RecoveryDeps } from '../deps.ts';
import { RecoveryStepFailedError, ReplaceInstanceFailedError } from '../errors.ts';
import {
  act,
  type Ctx,
  context,
  need,
  type Phase,
  phases,
  poll,
  REPLACED_BY_TAG,
  wait,
  waitReady,
  waitState,
  waitVolume,
} from './common.ts';

/** Tag on a replaced instance: the time after which the run terminates it. */
export const TERMINATE_AFTER_TAG = 'stepops:terminate-after';

/** Tags copied from the old instance to its replacement (never AWS-reserved ones nor the retirement's). */
function copiedTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tags).filter(
      ([k]) => !k.startsWith('aws:') && k !== REPLACED_BY_TAG && k !== TERMINATE_AFTER_TAG,
    ),
  );
}

/** The tag keys that make an instance one of the target's: its selector's and `stepops:target`. */
export function selectingTagKeys(target: Target): string[] {
  const keys = target.hosts.type === 'ec2' && 'tags' in target.hosts ? Object.keys(target.hosts.tags) : [];
  return [...new Set([...keys, SNAPSHOT_TAGS.target])];
}

type Membership = 'drain' | 'register';

/** The target groups of the target and the one instance as a host of them. */
function groupsOf(ctx: Ctx, instanceId: string) {
  const groups = ctx.target.deploy?.loadBalancer?.targetGroups ?? [];
  return { groups, host: { kind: 'ec2', id: instanceId, region: ctx.region } satisfies HostRef };
}

/** Puts one instance in (`RegisterTargets`) or takes it out of (`DeregisterTargets`) every target group. */
async function changeGroups(ctx: Ctx, mode: Membership, instanceId: string): Promise<void> {
  const { groups, host } = groupsOf(ctx, instanceId);
  const lb = ctx.deps.loadBalancer(ctx.target);
  for (const group of groups) {
    if (mode === 'register') await lb.register(group, [host]);
    else await lb.deregister(group, [host]);
  }
}

/** Waits until the load balancer finds the instance `healthy` (registered) or `unused` (drained) in every group. */
async function waitGroups(ctx: Ctx, mode: Membership, instanceId: string): Promise<boolean> {
  const { groups, host } = groupsOf(ctx, instanceId);
  const lb = ctx.deps.loadBalancer(ctx.target);
  const wanted = mode === 'register' ? 'healthy' : 'unused';
  const seen = await poll(
    ctx,
    `${instanceId} to be ${mode === 'register' ? 'healthy in' : 'drained from'} ${groups.join(', ')}`,
    async () => {
      const health = (await Promise.all(groups.map((g) => lb.health(g, [host])))).flat();
      return health.every((h) => h.state === wanted) ? true : undefined;
    },
    TARGETS_POLL_MS,
  );
  return seen === true;
}

/**
 * replace-instance: launches a replacement (from the launch template with the old instance's subnet,
 * or from the AMI with the old instance's settings and tags), waits until it passes its status checks
 * with the SSM agent online, then:
 *
 * - without a data volume: registers it in the target's load-balancer target groups and waits until
 *   it is healthy there, moves the Elastic IP, and only then drains the old instance;
 * - with a data volume: drains the old instance, stops it, moves the volume, moves the Elastic IP,
 *   then registers the new one and waits until it is healthy.
 *
 * The old instance is then retired: stopped, tagged `stepops:replaced-by-run` and
 * `stepops:terminate-after`, and its selecting tags and `stepops:target` removed, so that no deploy,
 * probe or runbook selects it again; the run terminates it after the declared retention. Any failure
 * after the launch raises ReplaceInstanceFailedError naming the new instance and what became of the
 * old one.
 *
 * @example
 * await replaceInstanceStep({ ...input, progress: INITIAL_PROGRESS }, deps, remaining)
 */
export async function replaceInstanceStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  if (ctx.step.type !== 'replace-instance')
    throw new RecoveryStepFailedError(`step "${ctx.step.name}" is not replace-instance`);
  const retainFor = ctx.step.retainOldFor;
  const ops = deps.instances(ctx.target);
  const oldId = need(ctx, 'oldInstanceId');
  const dataVolumeId = ctx.resolved.dataVolumeId;
  const device = ctx.resolved.device;
  const balanced = (ctx.target.deploy?.loadBalancer?.targetGroups ?? []).length > 0;
  let latest: StepProgress = input.progress;
  const newIdOf = (p: StepProgress) => String(p.newInstanceId);
  const launch: Phase = [
    'launch',
    async (p) => {
      const old = await ops.describe(ctx.region, oldId);
      const tags = {
        ...copiedTags(old?.tags ?? {}),
        [SNAPSHOT_TAGS.target]: ctx.target.name,
        [SNAPSHOT_TAGS.run]: input.runId,
      };
      const launchTemplateId = ctx.resolved.launchTemplateId;
      const subnetId = ctx.resolved.subnetId;
      const id = await ops.launch(ctx.region, {
        clientToken: `stepops-${input.runId}-${ctx.step.name}`.slice(0, 64),
        tags,
        ...(launchTemplateId
          ? {
              launchTemplate: {
                id: launchTemplateId,
                version: ctx.resolved.launchTemplateVersion ?? '$Default',
              },
              // In the data volume's availability zone (the pre-flight checked it).
              ...(subnetId ? { subnetId } : {}),
            }
          : {
              imageId: need(ctx, 'imageId'),
              ...(old?.instanceType ? { instanceType: old.instanceType } : {}),
              ...(subnetId ? { subnetId } : {}),
              ...(old?.securityGroupIds.length ? { securityGroupIds: old.securityGroupIds } : {}),
              ...(old?.iamInstanceProfileArn ? { iamInstanceProfileArn: old.iamInstanceProfileArn } : {}),
              ...(old?.keyName ? { keyName: old.keyName } : {}),
            }),
      });
      return { ...p, newInstanceId: id };
    },
  ];
  const registerNew: Phase[] = [
    act('register-new', (p) => changeGroups(ctx, 'register', newIdOf(p))),
    wait('wait-new-healthy', (p) => waitGroups(ctx, 'register', newIdOf(p))),
  ];
  const drainOld: Phase[] = [
    act('drain-old', () => changeGroups(ctx, 'drain', oldId)),
    wait('wait-old-drained', () => waitGroups(ctx, 'drain', oldId)),
  ];
  const stopOld: Phase[] = [
    act('stop-old', () => ops.stop(ctx.region, [oldId])),
    wait('wait-old-stopped', () => waitState(ctx, ops, [oldId], 'stopped')),
  ];
  const moveAddress = act('move-address', (p) =>
    ops.associateAddress(ctx.region, need(ctx, 'allocationId'), newIdOf(p)),
  );
  const retire: Phase = [
    'retire',
    async (p) => {
      const terminateAfter = new Date(deps.now() + retainFor * 1000).toISOString();
      // Tagged first, untagged last: the stepops:target tag is what lets the run act on it.
      await ops.tag(ctx.region, [oldId], {
        [REPLACED_BY_TAG]: input.runId,
        [TERMINATE_AFTER_TAG]: terminateAfter,
      });
      await ops.untag(ctx.region, [oldId], selectingTagKeys(ctx.target));
      return { ...p, retiredInstanceId: oldId, terminateAfter };
    },
  ];
  const sequence: Phase[] =
    dataVolumeId && device
      ? [
          launch,
          wait('wait-new-ready', (p) => waitReady(ctx, ops, [newIdOf(p)])),
          ...(balanced ? drainOld : []),
          ...stopOld,
          act('detach-data', () => ops.detachVolume(ctx.region, dataVolumeId, oldId)),
          wait('wait-data-detached', () =>
            waitVolume(ctx, ops, dataVolumeId, (v) => v.state === 'available', 'detached'),
          ),
          act('attach-data', (p) => ops.attachVolume(ctx.region, dataVolumeId, newIdOf(p), device)),
          wait('wait-data-attached', (p) =>
            waitVolume(
              ctx,
              ops,
              dataVolumeId,
              (v) => v.state === 'in-use' && v.attachment === 'attached' && v.instanceId === newIdOf(p),
              `attached to ${newIdOf(p)}`,
            ),
          ),
          moveAddress,
          ...(balanced ? registerNew : []),
          retire,
        ]
      : [
          launch,
          wait('wait-new-ready', (p) => waitReady(ctx, ops, [newIdOf(p)])),
          ...(balanced ? registerNew : []),
          moveAddress,
          ...(balanced ? drainOld : []),
          ...stopOld,
          retire,
        ];
  const run = () =>
    phases(
      ctx,
      input.progress,
      sequence,
      (p) => ({
        ...p,
        status: 'done',
        phase: 'done',
        newInstanceId: newIdOf(p),
        summary: `${newIdOf(p)} replaces ${oldId}${balanced ? ', healthy in the target groups' : ''}; Elastic IP ${ctx.resolved.publicIp ?? need(ctx, 'allocationId')} moved${dataVolumeId ? `, data volume ${dataVolumeId} at ${device}` : ''}; ${oldId} is stopped, out of the target (tagged ${REPLACED_BY_TAG}) and terminated after ${String(p.terminateAfter)}`,
      }),
      (p) => {
        latest = p;
      },
    );
  try {
    return await run();
  } catch (error) {
    const launched = latest.newInstanceId;
    if (typeof launched !== 'string' || error instanceof ReplaceInstanceFailedError) throw error;
    const done = sequence.map(([name]) => name);
    const at = done.indexOf(latest.phase);
    const past = (phase: string) => done.indexOf(phase) >= 0 && at >= done.indexOf(phase);
    const old = past('detach-data')
      ? 'stopped, with its data volume possibly moved'
      : past('stop-old')
        ? 'stopping or stopped, with its data volume still attached'
        : past('drain-old')
          ? 'running, out of the load balancer (register it again to serve)'
          : 'untouched';
    throw new ReplaceInstanceFailedError(
      `step "${ctx.step.name}" failed after launching the new instance ${launched} (left running for inspection${past('register-new') ? ', registered in the target groups' : ''}): ${(error as Error).message}; the old instance ${oldId} is ${old}`,
      launched,
    );
  }
}
