/**
 * plan-recovery and preflight-recovery: the run's input checked field by field, the runbook planned
 * and printed, then every AWS resource it will touch looked up (describe calls only) so that a
 * missing snapshot, image, launch template or address fails the run before anything changes.
 */
import { createHash } from 'node:crypto';
import type { RunbookStep, Target } from '../config/schema.ts';
import { UnfilledValuesError, unfilledValues } from '../config/target-values.ts';
import { ASSUMED_BATCHES_FOR_COUNT } from '../deploy/bounds.ts';
import { hostSelector } from '../drivers/options.ts';
import type { InstanceInfo } from '../drivers/ports.ts';
import { InvalidInputError } from '../errors.ts';
import {
  PARAM_VALUE_PATTERN,
  type PlannedStep,
  type PlanRecoveryInput,
  type PreflightInput,
  type RecoveryContext,
  type RecoveryRunPlan,
  recoverRequestSchema,
  type StepKind,
  type StepResource,
} from './contracts.ts';
import type { RecoveryDeps } from './deps.ts';
import { PreflightFailedError } from './errors.ts';
import { planRecovery, type RecoveryPlan, rollingOf } from './plan.ts';

/** Longest lease a recovery takes. */
const MAX_LEASE_SECONDS = 12 * 3600;
const LEASE_MARGIN_SECONDS = 600;
const PLAN_TEXT_LIMIT = 16_000;
/** Who the health workflow says started a recovery: such a run counts as started by a health alert. */
export const HEALTH_REQUESTER = 'stepops health';
/** Seconds between two rounds of the final health probes. */
export const VERIFY_INTERVAL_SECONDS = 5;

const KIND: Record<RunbookStep['type'], StepKind> = {
  script: 'command',
  restart: 'command',
  'restore-dump': 'restore-dump',
  reboot: 'reboot',
  'restore-volume': 'restore-volume',
  'restore-rds': 'restore-rds',
  'replace-instance': 'replace-instance',
};

/** Step types that always need approval: they restore or replace. */
const ALWAYS_DESTRUCTIVE = new Set<RunbookStep['type']>([
  'restore-dump',
  'restore-volume',
  'restore-rds',
  'replace-instance',
]);

/**
 * Whether a step needs approval: restore and replace steps always, others when the target marks them.
 *
 * @example
 * isDestructive({ type: 'reboot', name: 'r', timeout: 600, destructive: false }) // false
 */
export function isDestructive(step: RunbookStep): boolean {
  return ALWAYS_DESTRUCTIVE.has(step.type) || ('destructive' in step && step.destructive === true);
}

function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : 'input'}: ${i.message}`)
    .join('; ');
}

/**
 * The parameters of a run, checked against what the runbook declares, defaults applied.
 *
 * @throws InvalidInputError naming the parameter and what it expects
 * @example
 * resolveParams(target, 'restore-database', { snapshot: 'stepops-datizmo-20260301-020304' })
 */
export function resolveParams(
  target: Target,
  runbookName: string,
  given: Readonly<Record<string, string | number | boolean>> = {},
): Record<string, string | number | boolean> {
  const declared = target.recovery?.[runbookName]?.params ?? {};
  const names = Object.keys(declared);
  const resolved: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(given)) {
    const spec = Object.hasOwn(declared, key) ? declared[key] : undefined;
    if (!spec) {
      throw new InvalidInputError(
        `params.${key}: runbook "${runbookName}" of target "${target.name}" has no parameter "${key}" (parameters: ${names.join(', ') || 'none'})`,
      );
    }
    if (typeof value !== spec.type) {
      throw new InvalidInputError(
        `params.${key}: expected a ${spec.type}, got ${typeof value} ${JSON.stringify(value)}`,
      );
    }
    if (typeof value === 'string' && !PARAM_VALUE_PATTERN.test(value)) {
      throw new InvalidInputError(
        `params.${key}: expected at most 256 plain characters (letters, digits and . _ : / @ + = , -)`,
      );
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new InvalidInputError(`params.${key}: expected a finite number`);
    }
    resolved[key] = value;
  }
  for (const [key, spec] of Object.entries(declared)) {
    if (resolved[key] !== undefined) continue;
    if (spec.default === undefined) {
      throw new InvalidInputError(
        `params.${key}: required by runbook "${runbookName}" (${spec.description})`,
      );
    }
    resolved[key] = spec.default;
  }
  return resolved;
}

/**
 * The plan as a person reads it before anything runs: the runbook, each step with its script or
 * AWS actions, the approval and the final probes.
 *
 * @example
 * console.log(renderPlanText(plan, runPlan));
 */
export function renderPlanText(
  plan: RecoveryPlan,
  meta: Pick<RecoveryRunPlan, 'reason' | 'requestedBy' | 'approval' | 'verify' | 'params' | 'instance'>,
  approvedEach: readonly string[] = [],
): string {
  const lines = [
    `recover ${plan.target} with runbook "${plan.runbook}" (run ${plan.runId})`,
    `  ${plan.description}`,
    // Quoted, escapes and all: a reason or a requester's name can never add a line of its own
    // (a forged "checked:" line in the approval request).
    `  reason: ${JSON.stringify(meta.reason)}; requested by ${JSON.stringify(meta.requestedBy)}`,
  ];
  if (meta.instance) lines.push(`  instance: ${meta.instance}`);
  const params = Object.entries(meta.params);
  if (params.length > 0)
    lines.push(`  parameters: ${params.map(([k, v]) => `${k}=${String(v)}`).join(', ')}`);
  lines.push(
    meta.approval.required
      ? `  approval: required (${meta.approval.why}); expires after ${meta.approval.timeoutSeconds} s`
      : approvedEach.length > 0
        ? '  approval: not required for the run as a whole'
        : '  approval: not required',
  );
  if (approvedEach.length > 0) {
    lines.push(
      `  approval before each destructive step (${approvedEach.join(', ')}), showing what it will change; each expires after ${meta.approval.timeoutSeconds} s`,
    );
  }
  plan.steps.forEach((step, i) => {
    lines.push(
      `  ${i + 1}. ${step.name} [${step.type}]: ${step.description} (timeout ${step.timeoutSeconds} s)`,
    );
    for (const action of step.actions ?? []) lines.push(`       - ${action}`);
    if (step.script) {
      const body = step.script.split('\n').filter((l) => l.trim() !== '');
      lines.push(...body.slice(-12).map((l) => `       | ${l}`));
    }
  });
  lines.push(
    meta.verify.enabled
      ? `  then: health probes ${meta.verify.probes.join(', ')} must pass within ${meta.verify.timeoutSeconds} s`
      : '  then: no health probes declared',
  );
  const text = lines.join('\n');
  return text.length > PLAN_TEXT_LIMIT ? `${text.slice(0, PLAN_TEXT_LIMIT - 20)}\n  … (plan cut)` : text;
}

/**
 * plan-recovery: validates the input (unknown fields, a missing reason, an unknown runbook or
 * parameter, a parameter of the wrong type are refused), plans the runbook and renders it.
 *
 * @throws InvalidInputError (or UnknownTargetError, ConfigError) before anything runs
 * @example
 * planRecoveryStep({ input: { target: 'zmanim', runbook: 'restart-api', reason: 'API down' }, runId: 'r1' }, deps).steps[0]?.kind // 'command'
 */
export function planRecoveryStep(
  input: PlanRecoveryInput,
  deps: Pick<RecoveryDeps, 'findTarget'>,
): RecoveryRunPlan {
  const parsed = recoverRequestSchema.safeParse(input.input);
  if (!parsed.success) {
    throw new InvalidInputError(`invalid recovery input: ${issuesText(parsed.error.issues)}`);
  }
  const request = parsed.data;
  const target = deps.findTarget(request.target);
  const runbooks = target.recovery ?? {};
  const runbook = Object.hasOwn(runbooks, request.runbook) ? runbooks[request.runbook] : undefined;
  if (!runbook) {
    throw new InvalidInputError(
      `runbook: target "${target.name}" has no runbook "${request.runbook}" (runbooks: ${Object.keys(runbooks).join(', ') || 'none'})`,
    );
  }
  // A marker never reaches a host or AWS (a restore of the DB "<unfilled: …>"): refused here.
  const dumpJobs = new Set(runbook.steps.flatMap((s) => (s.type === 'restore-dump' ? [s.backup] : [])));
  const jobIndexes = (target.backup ?? []).flatMap((job, i) =>
    dumpJobs.has(job.name) ? [`backup[${i}].`] : [],
  );
  const used = unfilledValues(target).filter(
    (v) =>
      v.path.startsWith('hosts') ||
      v.path.startsWith(`recovery.${request.runbook}.`) ||
      jobIndexes.some((prefix) => v.path.startsWith(prefix)),
  );
  if (used.length > 0) throw new UnfilledValuesError(target.name, used, `runs runbook "${request.runbook}"`);
  const params = resolveParams(target, request.runbook, request.params);
  const plan = planRecovery(target, request.runbook, { runId: input.runId, params });
  const trigger = request.trigger ?? (request.requestedBy === HEALTH_REQUESTER ? 'health-alert' : 'manual');
  const destructiveSteps = runbook.steps.filter(isDestructive).map((s) => s.name);
  // `each-step`: every destructive step is approved on its own, right before it acts.
  const approvedEach = runbook.approve === 'each-step' ? destructiveSteps : [];
  const reasons: string[] = [];
  if (runbook.destructive) reasons.push('the runbook is marked destructive');
  if (destructiveSteps.length > 0 && approvedEach.length === 0) {
    reasons.push(`destructive steps: ${destructiveSteps.join(', ')}`);
  }
  if (trigger === 'health-alert' && !runbook.unattended) {
    reasons.push('started by a health alert and not declared safe to run unattended');
  }
  const steps: PlannedStep[] = runbook.steps.map((step, index) => ({
    index,
    name: step.name,
    type: step.type,
    kind: KIND[step.type],
    description: plan.steps[index]?.description ?? step.type,
    destructive: isDestructive(step),
    approve: approvedEach.includes(step.name),
    timeoutSeconds: hostStepSeconds(
      target,
      request.runbook,
      step,
      plan.steps[index]?.timeoutSeconds ?? step.timeout,
    ),
  }));
  const approval = {
    required: reasons.length > 0,
    why: reasons.join('; ') || 'no destructive step',
    timeoutSeconds: runbook.approvalTimeout,
  };
  const verify = {
    enabled: plan.verify.length > 0,
    probes: plan.verify,
    timeoutSeconds: runbook.verifyTimeout,
    intervalSeconds: VERIFY_INTERVAL_SECONDS,
  };
  const work = steps.reduce((sum, s) => sum + s.timeoutSeconds, 0);
  const meta = {
    ...(request.instance ? { instance: request.instance } : {}),
    reason: request.reason,
    requestedBy: request.requestedBy ?? 'unknown',
    approval,
    verify,
    params,
  };
  if (request.instance && target.hosts.type !== 'ec2') {
    throw new InvalidInputError(
      `instance: target "${target.name}" runs on local hosts; "instance" names one of an ec2 target's instances`,
    );
  }
  const replaceSteps = runbook.steps.flatMap((s) => (s.type === 'replace-instance' ? [s] : []));
  return {
    target: target.name,
    runbook: request.runbook,
    runId: input.runId,
    ...(request.instance ? { instance: request.instance } : {}),
    ...(replaceSteps.length > 0
      ? { retire: { afterSeconds: Math.max(...replaceSteps.map((s) => s.retainOldFor)) } }
      : {}),
    trigger,
    steps,
    lockTtlSeconds: Math.min(
      MAX_LEASE_SECONDS,
      work +
        (approval.required || approvedEach.length > 0 ? approval.timeoutSeconds : 0) +
        verify.timeoutSeconds +
        LEASE_MARGIN_SECONDS,
    ),
    planText: renderPlanText(plan, meta, approvedEach),
    ...meta,
  };
}

/** Seconds an agreement check of a step may take on the hosts. */
const AGREE_SECONDS = 90;

/**
 * How long a step that runs on the hosts may take in all: one command's time when every host runs
 * at once; per batch, the command, the drain, the registration and the health gate when it rolls
 * (batches assumed as a deploy assumes them when the host count is not known yet), plus its
 * agreement checks.
 */
function hostStepSeconds(
  target: Target,
  runbookName: string,
  step: RunbookStep,
  commandSeconds: number,
): number {
  if (KIND[step.type] !== 'command' && KIND[step.type] !== 'restore-dump') return commandSeconds;
  const agree =
    step.type === 'script' && step.agree
      ? (step.agree.before ? AGREE_SECONDS : 0) + (step.agree.after ? AGREE_SECONDS : 0)
      : 0;
  const { batchSize } = rollingOf(target, runbookName);
  const known =
    target.hosts.type === 'ec2' && 'instanceIds' in target.hosts
      ? target.hosts.instanceIds.length
      : target.hosts.type === 'local'
        ? Array.isArray(target.hosts.directory)
          ? target.hosts.directory.length
          : 1
        : undefined;
  const batches =
    typeof batchSize === 'string'
      ? Math.ceil(100 / Number.parseInt(batchSize, 10))
      : known !== undefined
        ? Math.ceil(known / batchSize)
        : ASSUMED_BATCHES_FOR_COUNT;
  const lb = target.deploy?.loadBalancer;
  const gate = target.deploy?.healthGate?.timeout ?? 120;
  const perBatch =
    commandSeconds + (lb ? lb.drainTimeout + lb.healthyTimeout : 0) + (batches > 1 || lb ? gate : 0);
  return (batches > 1 || lb ? perBatch * batches : commandSeconds) + agree;
}

/**
 * The identifier of the RDS instance a run restores to: the instance's name, `-r` and eight hex
 * characters of the run id (at most 63 characters, as RDS allows).
 *
 * @example
 * restoredDbIdentifier('datizmo-db', 'run-1') // 'datizmo-db-r1b4f0e98'
 */
export function restoredDbIdentifier(dbInstance: string, runId: string, suffix = 'r'): string {
  const hash = createHash('sha256').update(runId).digest('hex').slice(0, 8);
  return `${dbInstance.slice(0, 52).replace(/-+$/, '')}-${suffix}${hash}`;
}

function regionOf(target: Target, step?: RunbookStep): string {
  if (step?.type === 'restore-rds' && step.region) return step.region;
  if (target.hosts.type !== 'ec2') throw new PreflightFailedError('AWS recovery steps need ec2 hosts');
  return target.hosts.region;
}

/**
 * The instance a one-instance step acts on: the one the input named (refused when it is not one of
 * the target's), or the target's only instance.
 */
function oneInstance(
  instances: InstanceInfo[],
  step: RunbookStep,
  target: Target,
  named: string | undefined,
): InstanceInfo {
  const ids = instances.map((i) => i.id).join(', ');
  if (named) {
    const found = instances.find((i) => i.id === named);
    if (!found) {
      throw new InvalidInputError(
        `instance: ${named} is not an instance of target "${target.name}" (instances: ${ids || 'none'})`,
      );
    }
    return found;
  }
  const [only] = instances;
  if (!only) {
    throw new PreflightFailedError(
      `step "${step.name}": no instance of target "${target.name}" was found (pending, running, stopping or stopped)`,
    );
  }
  if (instances.length > 1) {
    throw new InvalidInputError(
      `instance: step "${step.name}" (${step.type}) acts on one instance and target "${target.name}" has ${instances.length}: name one with "instance" (--instance): ${ids}`,
    );
  }
  return only;
}

/**
 * preflight-recovery: looks up everything the AWS steps will act on (instances, volumes, snapshots,
 * images, launch templates, Elastic IPs, DB instances and snapshots) with describe calls, and the
 * newest dump of each restore-dump step.
 *
 * @throws PreflightFailedError naming the step and what is missing; nothing has been changed
 * @example
 * const context = await preflightStep({ plan }, deps); // { instanceIds: ['i-0abc'], steps: { 'replace-instance': { imageId: 'ami-…' } }, … }
 */
export async function preflightStep(input: PreflightInput, deps: RecoveryDeps): Promise<RecoveryContext> {
  const { plan } = input;
  const target = deps.findTarget(plan.target);
  const runbook = target.recovery?.[plan.runbook];
  if (!runbook) throw new PreflightFailedError(`target "${target.name}" has no runbook "${plan.runbook}"`);
  const needsEc2 =
    plan.instance !== undefined ||
    runbook.steps.some(
      (s) =>
        ['reboot', 'restore-volume', 'replace-instance'].includes(s.type) ||
        (HOST_STEP_TYPES.has(s.type) && isDestructive(s)),
    );
  const context: RecoveryContext = { instanceIds: [], steps: {}, checks: [], resources: {} };
  /** Instances that an earlier step replaces: a later step runs on their replacement. */
  const replacedBefore: { old: string; step: string }[] = [];
  let instances: InstanceInfo[] = [];
  if (target.hosts.type === 'ec2') {
    context.region = target.hosts.region;
    if (needsEc2) {
      instances = await deps.instances(target).find(hostSelector(target));
      if (instances.length === 0) {
        throw new PreflightFailedError(
          `no instance of target "${target.name}" was found in ${target.hosts.region} (pending, running, stopping or stopped)`,
        );
      }
      context.instanceIds = instances.map((i) => i.id);
      if (plan.instance) {
        const named = oneInstance(instances, runbook.steps[0] as RunbookStep, target, plan.instance);
        context.instanceIds = [named.id];
      }
      context.checks.push(`instances: ${context.instanceIds.join(', ')}`);
    }
  }
  for (const step of runbook.steps) {
    const resolved: Record<string, string> = {};
    switch (step.type) {
      case 'reboot':
        context.checks.push(`${step.name}: reboots ${context.instanceIds.join(', ')}`);
        break;
      case 'restore-volume': {
        const region = regionOf(target, step);
        const instance = oneInstance(instances, step, target, plan.instance);
        const volume = instance.volumes.find((v) => v.device === step.device);
        if (!volume) {
          throw new PreflightFailedError(
            `step "${step.name}": instance ${instance.id} has no volume at ${step.device} (devices: ${instance.volumes.map((v) => v.device).join(', ') || 'none'})`,
          );
        }
        const snapshot = await deps
          .instances(target)
          .findSnapshot(
            region,
            step.snapshot === 'latest'
              ? { volumeId: volume.volumeId, target: target.name }
              : { snapshotId: step.snapshot },
          );
        if (!snapshot) {
          throw new PreflightFailedError(
            step.snapshot === 'latest'
              ? `step "${step.name}": no completed stepops snapshot of ${volume.volumeId} (${step.device}) exists in ${region}`
              : `step "${step.name}": snapshot ${step.snapshot} does not exist in ${region}`,
          );
        }
        if (snapshot.state !== 'completed') {
          throw new PreflightFailedError(
            `step "${step.name}": snapshot ${snapshot.snapshotId} is ${snapshot.state}, not completed`,
          );
        }
        if (!instance.availabilityZone) {
          throw new PreflightFailedError(
            `step "${step.name}": instance ${instance.id} has no availability zone`,
          );
        }
        Object.assign(resolved, {
          instanceId: instance.id,
          oldVolumeId: volume.volumeId,
          snapshotId: snapshot.snapshotId,
          availabilityZone: instance.availabilityZone,
          device: step.device,
        });
        context.checks.push(`${step.name}: ${volume.volumeId} at ${step.device} from ${snapshot.snapshotId}`);
        break;
      }
      case 'replace-instance': {
        const region = regionOf(target, step);
        const ops = deps.instances(target);
        const old = oneInstance(instances, step, target, plan.instance);
        resolved.oldInstanceId = old.id;
        const fail = (what: string) => new PreflightFailedError(`step "${step.name}": ${what}`);
        // Where the data volume is: the new instance must be launched in its availability zone.
        let volumeZone: string | undefined;
        if (step.dataVolumeDevice) {
          const attached = old.volumes.find((v) => v.device === step.dataVolumeDevice);
          if (!attached) throw fail(`instance ${old.id} has no data volume at ${step.dataVolumeDevice}`);
          const volume = await ops.volume(region, attached.volumeId);
          volumeZone = volume?.availabilityZone ?? old.availabilityZone;
          if (!volumeZone) throw fail(`the availability zone of data volume ${attached.volumeId} is unknown`);
          resolved.dataVolumeId = attached.volumeId;
          resolved.device = step.dataVolumeDevice;
        }
        let imageId: string | undefined;
        let launchSubnet: string | undefined = old.subnetId;
        if (step.launchTemplate) {
          const { id, version } = step.launchTemplate;
          const template = await ops.findLaunchTemplate(region, id);
          if (!template) throw fail(`launch template ${id} does not exist in ${region}`);
          const data = await ops.launchTemplateData(region, template.id, version);
          if (!data) throw fail(`launch template ${id} has no version ${version} in ${region}`);
          resolved.launchTemplateId = template.id;
          resolved.launchTemplateVersion = version;
          imageId = data.imageId;
          if (!imageId) throw fail(`launch template ${id} version ${version} names no AMI (ImageId)`);
          if (step.dataVolumeDevice && data.devices.includes(step.dataVolumeDevice)) {
            throw fail(
              `launch template ${id} version ${version} maps ${step.dataVolumeDevice} itself: the data volume could not be attached there`,
            );
          }
          if (data.networkInterfaces) {
            // RunInstances takes no subnet beside the template's network interfaces: theirs must do.
            launchSubnet = undefined;
            for (const subnet of data.subnetIds) {
              const zone = await ops.subnetZone(region, subnet);
              if (!zone) throw fail(`subnet ${subnet} of launch template ${id} does not exist in ${region}`);
              if (volumeZone && zone !== volumeZone) {
                throw fail(
                  `launch template ${id} launches in subnet ${subnet} (${zone}), the data volume ${resolved.dataVolumeId} is in ${volumeZone}: it could not be attached`,
                );
              }
            }
          } else if (data.availabilityZone && volumeZone && data.availabilityZone !== volumeZone) {
            throw fail(
              `launch template ${id} places instances in ${data.availabilityZone}, the data volume ${resolved.dataVolumeId} is in ${volumeZone}: it could not be attached`,
            );
          }
        }
        const image = await ops.findImage(
          region,
          imageId ? { imageId } : step.amiId ? { imageId: step.amiId } : { target: target.name },
        );
        if (!image) {
          throw fail(
            imageId
              ? `AMI ${imageId} of launch template ${step.launchTemplate?.id} does not exist in ${region}`
              : step.amiId
                ? `AMI ${step.amiId} does not exist in ${region}`
                : `no available AMI tagged stepops:target=${target.name} exists in ${region}`,
          );
        }
        if (!step.launchTemplate) resolved.imageId = image.imageId;
        if (step.dataVolumeDevice && image.devices.includes(step.dataVolumeDevice)) {
          throw fail(
            `AMI ${image.imageId} maps ${step.dataVolumeDevice} in its block devices: the data volume could not be attached there`,
          );
        }
        if (launchSubnet) {
          const zone = await ops.subnetZone(region, launchSubnet);
          if (!zone) throw fail(`subnet ${launchSubnet} of instance ${old.id} does not exist in ${region}`);
          if (volumeZone && zone !== volumeZone) {
            throw fail(
              `subnet ${launchSubnet} is in ${zone}, the data volume ${resolved.dataVolumeId} is in ${volumeZone}: it could not be attached`,
            );
          }
          resolved.subnetId = launchSubnet;
        }
        const address = await ops.findAddress(region, step.elasticIpAllocationId);
        if (!address) {
          throw fail(`Elastic IP ${step.elasticIpAllocationId} is not owned by this account in ${region}`);
        }
        resolved.allocationId = address.allocationId;
        resolved.publicIp = address.publicIp;
        const groups = target.deploy?.loadBalancer?.targetGroups ?? [];
        context.checks.push(
          `${step.name}: replaces ${old.id} from ${resolved.imageId ?? `launch template ${resolved.launchTemplateId} (${image.imageId})`}${resolved.subnetId ? ` in ${resolved.subnetId}` : ''}, Elastic IP ${address.publicIp}${resolved.dataVolumeId ? `, data volume ${resolved.dataVolumeId} (${volumeZone})` : ''}${groups.length ? `, ${groups.length} target group(s)` : ''}`,
        );
        break;
      }
      case 'restore-rds': {
        const region = regionOf(target, step);
        const rds = deps.databases(target);
        const db = await rds.describe(region, step.dbInstance);
        if (!db) {
          throw new PreflightFailedError(
            `step "${step.name}": DB instance ${step.dbInstance} does not exist in ${region}`,
          );
        }
        const named = step.snapshotParam ? plan.params[step.snapshotParam] : undefined;
        const wanted = typeof named === 'string' && named !== '' ? named : step.snapshot;
        const snapshot = await rds.findSnapshot(
          region,
          wanted === 'latest' ? { dbInstance: step.dbInstance, target: target.name } : { snapshotId: wanted },
        );
        if (!snapshot) {
          throw new PreflightFailedError(
            wanted === 'latest'
              ? `step "${step.name}": no available stepops snapshot of ${step.dbInstance} exists in ${region}`
              : `step "${step.name}": DB snapshot ${wanted} does not exist in ${region}`,
          );
        }
        if (!snapshot.stepops) {
          throw new PreflightFailedError(
            `step "${step.name}": DB snapshot ${snapshot.snapshotId} is not tagged stepops:target; stepops restores only snapshots it tagged`,
          );
        }
        if (snapshot.status === 'creating') {
          // The newest snapshot (a pre-deploy one) is still being taken: never restore an older one
          // in its place without asking.
          throw new PreflightFailedError(
            `step "${step.name}": the newest DB snapshot of ${step.dbInstance}, ${snapshot.snapshotId}, is still being created; run the recovery again once it is available${step.snapshotParam ? `, or name an older snapshot with the "${step.snapshotParam}" parameter` : ''}`,
          );
        }
        if (snapshot.status !== 'available') {
          throw new PreflightFailedError(
            `step "${step.name}": DB snapshot ${snapshot.snapshotId} is ${snapshot.status}, not available`,
          );
        }
        const newId = restoredDbIdentifier(step.dbInstance, plan.runId);
        Object.assign(resolved, {
          region,
          dbInstance: step.dbInstance,
          snapshotId: snapshot.snapshotId,
          newId,
          ...(step.swapNames ? { oldId: restoredDbIdentifier(step.dbInstance, plan.runId, 'old') } : {}),
        });
        context.checks.push(`${step.name}: ${step.dbInstance} from ${snapshot.snapshotId} to ${newId}`);
        break;
      }
      case 'restore-dump': {
        const dump = await deps.dumps(target).newestDump(target, step.backup);
        if (!dump) {
          throw new PreflightFailedError(
            `step "${step.name}": the backup catalogue has no dump of "${step.backup}" for target "${target.name}"`,
          );
        }
        resolved.dumpUri = dump.uri;
        context.checks.push(`${step.name}: restores ${dump.uri}${dump.at ? ` (${dump.at})` : ''}`);
        break;
      }
      default:
        break;
    }
    let hosts: { kind: string; id: string }[] = [];
    if (HOST_STEP_TYPES.has(step.type) && isDestructive(step)) {
      const ids = hostIdsOf(target, instances);
      hosts = ids.map((id) => {
        const replaced = replacedBefore.find((r) => r.old === id);
        return replaced
          ? { kind: 'instance', id: `the instance that replaces ${id} in step "${replaced.step}"` }
          : { kind: id.startsWith('local:') ? 'host' : 'instance', id };
      });
      // A destructive step on the hosts acts on the hosts the approval showed, and on no other
      // (unless an earlier step replaces one: its replacement is not known yet).
      if (replacedBefore.length === 0) resolved.hosts = ids.join(',');
    }
    if (step.type === 'replace-instance' && resolved.oldInstanceId) {
      replacedBefore.push({ old: resolved.oldInstanceId, step: step.name });
    }
    if (Object.keys(resolved).length > 0) context.steps[step.name] = resolved;
    const resources = stepResources(target, step, resolved, context.instanceIds, hosts);
    if (resources.length > 0 && context.resources) context.resources[step.name] = resources;
  }
  return context;
}

/** Step types that run a command on the target's hosts. */
const HOST_STEP_TYPES = new Set<RunbookStep['type']>(['script', 'restart', 'restore-dump']);

/** The hosts a host step runs on: the local hosts the target declares, or the instances found. */
function hostIdsOf(target: Target, instances: readonly InstanceInfo[]): string[] {
  if (target.hosts.type === 'local') {
    const declared = target.hosts.directory;
    return (Array.isArray(declared) ? declared : [declared]).map((entry) => `local:${entry}`);
  }
  return instances.map((i) => i.id);
}

/**
 * The exact resources a step will act on, from what the pre-flight resolved, each with what the
 * step does to it: what the approval request shows. A host step that is not destructive lists none
 * (it runs on whichever hosts are online then).
 *
 * @example
 * stepResources(target, rebootStep, {}, ['i-0abc'], []) // [{ kind: 'instance', id: 'i-0abc', change: 'rebooted' }]
 */
export function stepResources(
  target: Target,
  step: RunbookStep,
  resolved: Readonly<Record<string, string>>,
  instanceIds: readonly string[],
  hostsOfStep: readonly { kind: string; id: string }[],
): StepResource[] {
  const r = (kind: string, id: string | undefined, change: string): StepResource[] =>
    id ? [{ kind, id, change }] : [];
  const hosts = (change: string) => hostsOfStep.flatMap((h) => r(h.kind, h.id, change));
  switch (step.type) {
    case 'script':
      return hosts(`runs the script of step "${step.name}"`);
    case 'restart':
      return hosts(`restarts ${step.services.join(', ')} (${step.manager})`);
    case 'restore-dump':
      return [
        ...hosts(`the dump of "${step.backup}" is restored on it`),
        ...r('dump', resolved.dumpUri, 'read: downloaded and restored'),
      ];
    case 'reboot':
      return instanceIds.flatMap((id) => r('instance', id, 'rebooted'));
    case 'restore-volume':
      return [
        ...r('instance', resolved.instanceId, `stopped, its volume at ${resolved.device} swapped, started`),
        ...r(
          'volume',
          resolved.oldVolumeId,
          `detached from ${resolved.instanceId}, kept (tagged stepops:replaced-by-run)`,
        ),
        ...r(
          'snapshot',
          resolved.snapshotId,
          `read: a new volume is made from it in ${resolved.availabilityZone} and attached at ${resolved.device}`,
        ),
      ];
    case 'replace-instance': {
      const groups = target.deploy?.loadBalancer?.targetGroups ?? [];
      return [
        ...r(
          'instance',
          resolved.oldInstanceId,
          `replaced by a new instance; stopped, its selecting tags and stepops:target removed, terminated after ${step.retainOldFor} s`,
        ),
        ...r('image', resolved.imageId, 'read: the new instance is launched from it'),
        ...r(
          'launch-template',
          resolved.launchTemplateId,
          `read: the new instance is launched from version ${resolved.launchTemplateVersion}`,
        ),
        ...r('subnet', resolved.subnetId, 'the new instance is launched in it'),
        ...r(
          'elastic-ip',
          resolved.allocationId,
          `${resolved.publicIp ? `${resolved.publicIp} ` : ''}moved to the new instance`,
        ),
        ...r(
          'volume',
          resolved.dataVolumeId,
          `detached from ${resolved.oldInstanceId}, attached to the new instance at ${resolved.device}`,
        ),
        ...groups.flatMap((g) =>
          r('target-group', g, `the new instance registered, ${resolved.oldInstanceId} deregistered`),
        ),
      ];
    }
    case 'restore-rds':
      return [
        ...r('db-snapshot', resolved.snapshotId, `read: restored to the new DB instance ${resolved.newId}`),
        ...r('db-instance', resolved.newId, `created from ${resolved.snapshotId}`),
        ...(resolved.oldId
          ? r(
              'db-instance',
              resolved.dbInstance,
              `renamed to ${resolved.oldId} (kept); ${resolved.newId} takes its name`,
            )
          : []),
      ];
    default:
      return [];
  }
}
