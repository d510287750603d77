/** reboot-instances: reboots the target's instances and waits until they are back. */
import type { RemainingTime } from '../../deploy/steps.ts';
import type { StepInput, StepProgress } from '../contracts.ts';
import type { RecoveryDeps } from '../deps.ts';
import { RecoveryStepFailedError } from '../errors.ts';
import { context, phases, poll, ready, wait, waitReady } from './common.ts';

/** After a reboot, instances count as back only once seen down, or after this long. */
export const REBOOT_SETTLE_MS = 60_000;

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
