/**
 * The step Lambdas of the recovery workflow. Each advances its step by one bounded long-poll and
 * returns its progress: `running` (the workflow's Choice loop calls again with it) or `done`.
 * Errors are named (RecoveryStepFailedError, RecoveryStepTimedOutError, ReplaceInstanceFailedError)
 * and say which step failed and what happened.
 */
import type { RunbookStep, Target } from '../config/schema.ts';
import { STATE_OUTPUT_TAIL } from '../deploy/contracts.ts';
import { LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS, type RemainingTime } from '../deploy/steps.ts';
import { SNAPSHOT_TAGS } from '../drivers/aws/snapshot-service.ts';
import { hostSelector } from '../drivers/options.ts';
import { tail } from '../drivers/output.ts';
import type { HostRef, InstanceOperations, InstanceReadiness } from '../drivers/ports.ts';
import { NoHostsError } from '../errors.ts';
import type { StepInput, StepProgress } from './contracts.ts';
import type { DumpLocator, RecoveryDeps } from './deps.ts';
import { RecoveryStepFailedError, RecoveryStepTimedOutError, ReplaceInstanceFailedError } from './errors.ts';
import { planRecovery } from './plan.ts';

/** Pause between two reads of a command's status, and of EC2/RDS states. */
export const COMMAND_POLL_MS = 500;
export const AWS_POLL_MS = 5_000;
/** After a reboot, instances count as back only once seen down, or after this long. */
export const REBOOT_SETTLE_MS = 60_000;
/** Tag on resources a run replaced (kept for inspection). */
export const REPLACED_BY_TAG = 'stepops:replaced-by-run';

const FINAL = new Set(['succeeded', 'failed', 'timed-out', 'cancelled']);

interface Ctx {
  input: StepInput;
  deps: RecoveryDeps;
  target: Target;
  step: RunbookStep;
  resolved: Record<string, string>;
  region: string;
  budgetEnd: number;
  deadline: number;
}

function context(input: StepInput, deps: RecoveryDeps, remaining: RemainingTime): Ctx {
  const target = deps.findTarget(input.target);
  const step = target.recovery?.[input.runbook]?.steps[input.step.index];
  if (!step || step.name !== input.step.name) {
    throw new RecoveryStepFailedError(
      `step "${input.step.name}" is no longer step ${input.step.index + 1} of runbook "${input.runbook}" in the target file`,
    );
  }
  const now = deps.now();
  const deadline = input.progress.deadline
    ? Date.parse(input.progress.deadline)
    : now + input.step.timeoutSeconds * 1000;
  return {
    input,
    deps,
    target,
    step,
    resolved: input.context.steps[step.name] ?? {},
    region: input.context.region ?? (target.hosts.type === 'ec2' ? target.hosts.region : ''),
    budgetEnd: now + Math.max(0, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS)),
    deadline,
  };
}

function progress(ctx: Ctx, fields: StepProgress): StepProgress {
  return { ...fields, deadline: new Date(ctx.deadline).toISOString() };
}

function need(ctx: Ctx, key: string): string {
  const value = ctx.resolved[key];
  if (!value) {
    throw new RecoveryStepFailedError(`step "${ctx.step.name}": the pre-flight did not resolve ${key}`);
  }
  return value;
}

function timedOut(ctx: Ctx, waitingFor: string): RecoveryStepTimedOutError {
  return new RecoveryStepTimedOutError(
    `step "${ctx.step.name}" timed out after ${ctx.input.step.timeoutSeconds} s waiting for ${waitingFor}`,
  );
}

/**
 * Polls `check` until it returns a value, the step's deadline (throws RecoveryStepTimedOutError) or
 * the end of this invocation's budget (returns undefined: the step is still running).
 */
async function poll<T>(
  ctx: Ctx,
  waitingFor: string,
  check: () => Promise<T | undefined>,
  pauseMs = AWS_POLL_MS,
): Promise<T | undefined> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    const next = ctx.deps.now() + pauseMs;
    if (next > ctx.deadline) throw timedOut(ctx, waitingFor);
    if (next > ctx.budgetEnd) return undefined;
    await ctx.deps.sleep(pauseMs);
  }
}

// ── command steps (script, restart, restore-dump) ───────────────────────────────────────────────

/** Where the host downloads a dump: the locator's presigned URL, or a local dump's own `file://` URL. */
async function dumpDownloadUrl(
  locator: DumpLocator,
  target: Target,
  uri: string,
  expiresInSeconds: number,
): Promise<string> {
  if (locator.downloadUrl) return locator.downloadUrl(target, uri, expiresInSeconds);
  if (uri.startsWith('file:///')) return uri;
  throw new RecoveryStepFailedError(
    `no way to download ${uri} on the host (the dump locator cannot presign it)`,
  );
}

/**
 * run-recovery-command: sends the step's script (rendered from the target file, the run's
 * parameters and, for a restore-dump, the dump the pre-flight found) to the target's hosts, then
 * long-polls it; done with the output tail, or RecoveryStepFailedError naming the host.
 *
 * @example
 * let progress = INITIAL_PROGRESS;
 * do progress = await commandStep({ ...input, progress }, deps, remaining); while (progress.status === 'running');
 */
export async function commandStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  const commands = deps.commands(ctx.target);
  let current = input.progress;
  if (current.phase === 'start') {
    const hosts = await deps.hosts(ctx.target).resolve(hostSelector(ctx.target));
    if (hosts.length === 0) {
      throw new NoHostsError(
        `step "${ctx.step.name}": no host of target "${ctx.target.name}" can take commands (none found, or no SSM agent online)`,
      );
    }
    const dumpUri = ctx.resolved.dumpUri;
    const restoring =
      ctx.step.type === 'restore-dump' && dumpUri ? { job: ctx.step.backup, uri: dumpUri } : undefined;
    const download = restoring
      ? await dumpDownloadUrl(
          deps.dumps(ctx.target),
          ctx.target,
          restoring.uri,
          input.step.timeoutSeconds + 600,
        )
      : undefined;
    const plan = planRecovery(ctx.target, input.runbook, {
      runId: input.runId,
      params: input.params,
      ...(restoring && download
        ? { dumpUris: { [restoring.job]: restoring.uri }, dumpDownloads: { [restoring.job]: download } }
        : {}),
    });
    const script = plan.steps[input.step.index]?.script;
    if (!script) throw new RecoveryStepFailedError(`step "${ctx.step.name}" has no script to run`);
    const handle = await commands.send({
      hosts,
      script,
      timeoutSeconds: input.step.timeoutSeconds,
      ...(ctx.target.hosts.type === 'ec2' ? { workingDirectory: ctx.target.hosts.workingDirectory } : {}),
      comment:
        `stepops recover ${ctx.target.name} ${input.runbook} ${ctx.step.name} run ${input.runId}`.slice(
          0,
          100,
        ),
      maxConcurrency: String(hosts.length),
      maxErrors: '0',
    });
    current = progress(ctx, {
      status: 'running',
      phase: 'wait',
      commandId: handle.commandId,
      hosts,
      polls: 0,
    });
  }
  const hosts = (current.hosts ?? []) as HostRef[];
  const commandId = String(current.commandId);
  let polls = typeof current.polls === 'number' ? current.polls : 0;
  const results = await poll(
    ctx,
    `the command on ${hosts.map((h) => h.id).join(', ')}`,
    async () => {
      polls += 1;
      const status = await commands.status({ commandId, hosts });
      return status.length >= hosts.length && status.every((r) => FINAL.has(r.state)) ? status : undefined;
    },
    COMMAND_POLL_MS,
  );
  if (!results) return progress(ctx, { ...current, status: 'running', polls });
  const failed = results.find((r) => r.state !== 'succeeded');
  // `timeout` in the rendered script exits 124 when the step's own timeout kills it.
  if (failed && (failed.state === 'timed-out' || failed.exitCode === 124)) {
    throw new RecoveryStepTimedOutError(
      `step "${ctx.step.name}" timed out on host ${failed.hostId} after its ${ctx.step.timeout} s: ${tail(failed.outputTail, STATE_OUTPUT_TAIL)}`,
    );
  }
  if (failed) {
    throw new RecoveryStepFailedError(
      `step "${ctx.step.name}" failed on host ${failed.hostId} (${failed.state}${failed.exitCode !== undefined ? `, exit ${failed.exitCode}` : ''}): ${tail(failed.outputTail, STATE_OUTPUT_TAIL)}`,
    );
  }
  const last = results.at(-1);
  return progress(ctx, {
    status: 'done',
    phase: 'done',
    commandId,
    polls,
    summary: `ran on ${results.map((r) => r.hostId).join(', ')}`,
    outputTail: tail(last?.outputTail ?? '', STATE_OUTPUT_TAIL),
  });
}

// ── EC2 helpers ─────────────────────────────────────────────────────────────────────────────────

function ready(r: InstanceReadiness): boolean {
  return r.state === 'running' && r.statusOk && r.agentOnline;
}

async function waitReady(ctx: Ctx, ops: InstanceOperations, ids: string[]): Promise<boolean> {
  const seen = await poll(
    ctx,
    `${ids.join(', ')} to pass the status checks with the SSM agent online`,
    async () => {
      const readiness = await ops.readiness(ctx.region, ids);
      return readiness.length === ids.length && readiness.every(ready) ? true : undefined;
    },
  );
  return seen === true;
}

async function waitState(ctx: Ctx, ops: InstanceOperations, ids: string[], state: string): Promise<boolean> {
  const seen = await poll(ctx, `${ids.join(', ')} to be ${state}`, async () => {
    const readiness = await ops.readiness(ctx.region, ids);
    return readiness.length === ids.length && readiness.every((r) => r.state === state) ? true : undefined;
  });
  return seen === true;
}

async function waitVolume(
  ctx: Ctx,
  ops: InstanceOperations,
  volumeId: string,
  wanted: (v: { state: string; instanceId?: string; attachment?: string }) => boolean,
  what: string,
): Promise<boolean> {
  const seen = await poll(ctx, `volume ${volumeId} to be ${what}`, async () => {
    const volume = await ops.volume(ctx.region, volumeId);
    return volume && wanted(volume) ? true : undefined;
  });
  return seen === true;
}

type Phase = readonly [string, (p: StepProgress) => Promise<StepProgress | 'waiting'>];

/** A phase that acts once and moves on. */
function act(name: string, fn: (p: StepProgress) => Promise<unknown>): Phase {
  return [
    name,
    async (p) => {
      await fn(p);
      return p;
    },
  ];
}

/** A phase that waits until `until` says so. */
function wait(name: string, until: (p: StepProgress) => Promise<boolean>): Phase {
  return [name, async (p) => ((await until(p)) ? p : 'waiting')];
}

/**
 * Runs the phases of a step in order until one is still waiting (returns its progress) or all are
 * done; `track` sees the state after each phase (to report what was done when a later one fails).
 */
async function phases(
  ctx: Ctx,
  current: StepProgress,
  steps: readonly Phase[],
  done: (p: StepProgress) => StepProgress,
  track: (p: StepProgress) => void = () => {},
): Promise<StepProgress> {
  let state = current;
  let index = state.phase === 'start' ? 0 : steps.findIndex(([phase]) => phase === state.phase);
  if (index < 0) throw new RecoveryStepFailedError(`step "${ctx.step.name}": unknown phase "${state.phase}"`);
  for (; index < steps.length; index += 1) {
    const [phase, run] = steps[index] as (typeof steps)[number];
    state = { ...state, phase };
    track(state);
    const next = await run(state);
    if (next === 'waiting') return progress(ctx, { ...state, status: 'running' });
    state = next;
    track(state);
  }
  return progress(ctx, done(state));
}

// ── reboot ──────────────────────────────────────────────────────────────────────────────────────

/**
 * reboot-instances: `RebootInstances`, then waits until every instance has gone down (or
 * {@link REBOOT_SETTLE_MS} passed) and is back: running, both status checks ok, SSM agent online.
 *
 * @example
 * await rebootStep({ ...input, progress: INITIAL_PROGRESS }, deps, remaining) // { status: 'running', phase: 'wait-down', … }
 */
export async function rebootStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  const ops = deps.instances(ctx.target);
  const ids = input.context.instanceIds;
  if (ids.length === 0) throw new RecoveryStepFailedError(`step "${ctx.step.name}": no instance to reboot`);
  return phases(
    ctx,
    input.progress,
    [
      [
        'reboot',
        async (p) => {
          await ops.reboot(ctx.region, ids);
          return { ...p, rebootedAt: new Date(deps.now()).toISOString() };
        },
      ],
      [
        'wait-down',
        async (p) => {
          const since = Date.parse(String(p.rebootedAt));
          const seen = await poll(ctx, `${ids.join(', ')} to go down`, async () => {
            if (deps.now() - since >= REBOOT_SETTLE_MS) return true;
            const readiness = await ops.readiness(ctx.region, ids);
            return readiness.some((r) => !ready(r)) ? true : undefined;
          });
          return seen ? p : 'waiting';
        },
      ],
      wait('wait-ready', () => waitReady(ctx, ops, ids)),
    ],
    (p) => ({
      ...p,
      status: 'done',
      phase: 'done',
      summary: `rebooted ${ids.join(', ')}; status checks ok, SSM agent online`,
    }),
  );
}

// ── restore-volume ──────────────────────────────────────────────────────────────────────────────

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
          const volumeType = await ops.volumeType(ctx.region, oldVolumeId);
          const volumeId = await ops.createVolume(ctx.region, {
            snapshotId: need(ctx, 'snapshotId'),
            availabilityZone: need(ctx, 'availabilityZone'),
            ...(volumeType ? { volumeType } : {}),
            tags,
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

// ── restore-rds ─────────────────────────────────────────────────────────────────────────────────

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
  return phases(
    ctx,
    input.progress,
    [
      act('restore', async () => {
        const like = await rds.describe(region, dbInstance);
        if (!like)
          throw new RecoveryStepFailedError(`step "${ctx.step.name}": DB instance ${dbInstance} is gone`);
        // A retried call finds the instance it started already.
        if (await rds.describe(region, newId)) return;
        await rds.restore(region, {
          snapshotId,
          newId,
          like,
          tags: { [SNAPSHOT_TAGS.target]: ctx.target.name, [SNAPSHOT_TAGS.run]: input.runId },
        });
      }),
      wait('wait-restored', () => available(newId)),
      ...(swap
        ? [
            act('rename-old', () => rds.rename(region, dbInstance, need(ctx, 'oldId'))),
            wait('wait-old-renamed', () => available(need(ctx, 'oldId'))),
            act('rename-new', () => rds.rename(region, newId, dbInstance)),
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

// ── replace-instance ────────────────────────────────────────────────────────────────────────────

/** Tags copied from the old instance to its replacement (never AWS-reserved ones). */
function copiedTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).filter(([k]) => !k.startsWith('aws:')));
}

/**
 * replace-instance: launches a replacement (from the launch template, or the AMI with the old
 * instance's settings and tags), waits until it passes its status checks with the SSM agent online,
 * moves the data volume (stops the old instance, detaches, attaches at the declared device) and the
 * Elastic IP. The old instance is never terminated. Any failure after the launch raises
 * ReplaceInstanceFailedError naming the new instance; before the data volume moves, the old
 * instance is untouched.
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
  const ops = deps.instances(ctx.target);
  const oldId = need(ctx, 'oldInstanceId');
  const dataVolumeId = ctx.resolved.dataVolumeId;
  const device = ctx.resolved.device;
  let latest: StepProgress = input.progress;
  const newIdOf = (p: StepProgress) => String(p.newInstanceId);
  const run = () =>
    phases(
      ctx,
      input.progress,
      [
        [
          'launch',
          async (p) => {
            const old = await ops.describe(ctx.region, oldId);
            const tags = {
              ...copiedTags(old?.tags ?? {}),
              [SNAPSHOT_TAGS.target]: ctx.target.name,
              [SNAPSHOT_TAGS.run]: input.runId,
            };
            const launchTemplateId = ctx.resolved.launchTemplateId;
            const id = await ops.launch(ctx.region, {
              clientToken: `stepops-${input.runId}-${ctx.step.name}`.slice(0, 64),
              tags,
              ...(launchTemplateId
                ? {
                    launchTemplate: {
                      id: launchTemplateId,
                      version: ctx.resolved.launchTemplateVersion ?? '$Default',
                    },
                  }
                : {
                    imageId: need(ctx, 'imageId'),
                    ...(old?.instanceType ? { instanceType: old.instanceType } : {}),
                    ...(old?.subnetId ? { subnetId: old.subnetId } : {}),
                    ...(old?.securityGroupIds.length ? { securityGroupIds: old.securityGroupIds } : {}),
                    ...(old?.iamInstanceProfileArn
                      ? { iamInstanceProfileArn: old.iamInstanceProfileArn }
                      : {}),
                    ...(old?.keyName ? { keyName: old.keyName } : {}),
                  }),
            });
            return { ...p, newInstanceId: id };
          },
        ],
        wait('wait-new-ready', (p) => waitReady(ctx, ops, [newIdOf(p)])),
        ...(dataVolumeId && device
          ? [
              act('stop-old', () => ops.stop(ctx.region, [oldId])),
              wait('wait-old-stopped', () => waitState(ctx, ops, [oldId], 'stopped')),
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
            ]
          : []),
        act('move-address', async (p) => {
          await ops.associateAddress(ctx.region, need(ctx, 'allocationId'), newIdOf(p));
          await ops.tag(ctx.region, [oldId], { [REPLACED_BY_TAG]: input.runId });
        }),
      ],
      (p) => ({
        ...p,
        status: 'done',
        phase: 'done',
        newInstanceId: newIdOf(p),
        summary: `${newIdOf(p)} replaces ${oldId} (kept${dataVolumeId ? ' stopped' : ''}, tagged ${REPLACED_BY_TAG}); Elastic IP ${ctx.resolved.publicIp ?? need(ctx, 'allocationId')} moved${dataVolumeId ? `, data volume ${dataVolumeId} at ${device}` : ''}`,
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
    const moved = [
      'detach-data',
      'wait-data-detached',
      'attach-data',
      'wait-data-attached',
      'move-address',
    ].includes(latest.phase);
    throw new ReplaceInstanceFailedError(
      `step "${ctx.step.name}" failed after launching the new instance ${launched} (left running for inspection): ${(error as Error).message}; the old instance ${oldId} is ${moved ? 'stopped, with its data volume possibly moved' : latest.phase === 'stop-old' || latest.phase === 'wait-old-stopped' ? 'stopping or stopped, with its data volume still attached' : 'untouched'}`,
      launched,
    );
  }
}
