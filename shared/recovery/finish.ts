/**
 * The end of every recovery run: the target's health probes (a runbook succeeds only when the target
 * is healthy again) and the notification that says how the run ended.
 */

import type { Target } from '../config/schema.ts';
import type { RemainingTime } from '../deploy/steps/common.ts';
import { LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS } from '../deploy/steps/common.ts';
import { hostSelector } from '../drivers/options.ts';
import type { Outcome, ProbeResult, WorkflowName } from '../drivers/ports.ts';
import { parseLambdaCause } from '../engine/lambda.ts';
import { consoleUrl } from './approval.ts';
import type { NotifyRecoveryInput, RecoveryOutcome, Verification, VerifyInput } from './contracts.ts';
import type { RecoveryDeps } from './deps.ts';

/** States before which nothing was changed: a failure there leaves the target as it was. */
const UNCHANGED_STATES = new Set(['PlanRecovery', 'AcquireLock', 'Preflight', 'AwaitApproval']);

/**
 * verify-recovery: resolves the hosts again (a replaced instance is a new host) and runs the runbook's
 * probes each interval until all pass (`healthy`), the deadline (`unhealthy`) or the end of this
 * invocation's budget (`checking`: the workflow calls again).
 *
 * @example
 * let verification = INITIAL_VERIFICATION;
 * do verification = await verifyStep({ plan, verification }, deps, remaining); while (verification.status === 'checking');
 */
export async function verifyStep(
  input: VerifyInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<Verification> {
  const { plan } = input;
  const target = deps.findTarget(plan.target);
  const declared = target.health?.probes ?? [];
  const deadline = input.verification.deadline
    ? Date.parse(input.verification.deadline)
    : deps.now() + plan.verify.timeoutSeconds * 1000;
  const budgetEnd = deps.now() + Math.max(0, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  let rounds = input.verification.rounds;
  for (;;) {
    const hosts = await deps.hosts(target).resolve(hostSelector(target));
    const results = (
      await Promise.all(
        plan.verify.probes.map(async (name): Promise<ProbeResult[]> => {
          const probe = declared.find((p) => p.name === name);
          if (!probe) return [{ probe: name, ok: false, detail: `no probe named "${name}"` }];
          try {
            const found = await deps.probes(target).run(probe, hosts);
            return found.length > 0 ? found : [{ probe: name, ok: false, detail: 'no host to probe' }];
          } catch (error) {
            return [
              { probe: name, ok: false, detail: `the probe could not run: ${(error as Error).message}` },
            ];
          }
        }),
      )
    ).flat();
    rounds += 1;
    const last = results.map((r) => ({
      probe: r.probe,
      ok: r.ok,
      detail: r.detail.slice(0, 500),
      ...(r.host ? { host: r.host } : {}),
    }));
    const state = (status: Verification['status']): Verification => ({
      status,
      rounds,
      deadline: new Date(deadline).toISOString(),
      last,
    });
    if (last.every((r) => r.ok)) return state('healthy');
    const next = deps.now() + plan.verify.intervalSeconds * 1000;
    if (next > deadline) return state('unhealthy');
    if (next > budgetEnd) return state('checking');
    await deps.sleep(plan.verify.intervalSeconds * 1000);
  }
}

interface Failure {
  Error?: string;
  Cause?: unknown;
}

/** A readable cause: a Lambda's error message (also inside a step's cause), the failing probes. */
function causeText(cause: unknown): string {
  if (typeof cause === 'string') {
    const whole = parseLambdaCause(cause);
    if (whole) return whole.errorMessage;
    const at = cause.indexOf('{"errorType"');
    if (at < 0) return cause;
    const inner = parseLambdaCause(cause.slice(at));
    if (inner) return `${cause.slice(0, at)}${inner.errorMessage}`;
    // The local engine's States.Format drops the escapes of the embedded JSON: read the message out.
    const message = /"errorMessage":"([\s\S]*?)","trace"/.exec(cause.slice(at))?.[1];
    return message === undefined ? cause : `${cause.slice(0, at)}${message}`;
  }
  if (cause === undefined || cause === null) return '';
  const last = (cause as { last?: { probe: string; ok: boolean; detail: string; host?: string }[] }).last;
  if (Array.isArray(last)) {
    const failing = last.filter((r) => !r.ok);
    return `the target is not healthy: ${failing.map((r) => `${r.probe}${r.host ? ` on ${r.host}` : ''}: ${r.detail}`).join('; ')}`;
  }
  return JSON.stringify(cause);
}

/**
 * The outcome of a recovery run from its state: succeeded when every step ran and the probes passed;
 * else the first failure, with its state, error and cause, and whether anything was changed.
 *
 * @example
 * recoveryOutcome({ plan, failures: { AwaitApproval: { Error: 'States.Timeout' } } }).error // 'ApprovalExpiredError'
 */
export function recoveryOutcome(run: Record<string, unknown>): RecoveryOutcome & { outputTail?: string } {
  const plan = run.plan as
    | {
        target?: string;
        runbook?: string;
        approval?: { timeoutSeconds?: number };
        steps?: { name?: string }[];
      }
    | undefined;
  const input = run as { target?: unknown; runbook?: unknown };
  const what = `recovery "${plan?.runbook ?? String(input.runbook ?? '?')}" of ${plan?.target ?? String(input.target ?? '?')}`;
  const failures = (run.failures ?? {}) as Record<string, Failure>;
  const steps = (run.stepResults ?? []) as { summary?: string; outputTail?: string }[];
  const outputTail = [...steps].reverse().find((s) => s.outputTail)?.outputTail;
  const [recordedState, failure] = Object.entries(failures)[0] ?? [];
  if (!recordedState || !failure) {
    const verification = run.verification as Verification | undefined;
    const probes = verification?.last?.map((r) => r.probe) ?? [];
    return {
      outcome: 'succeeded',
      summary: `${what} succeeded: ${
        steps
          .map((s) => s.summary)
          .filter(Boolean)
          .join('; ') || 'steps done'
      }${probes.length ? `; healthy (${[...new Set(probes)].join(', ')})` : ''}`,
      ...(outputTail ? { outputTail } : {}),
    };
  }
  let error = failure.Error ?? 'Error';
  let cause = causeText(failure.Cause);
  // A step's failure comes out of the Map naming the state it failed in.
  const inner = /failed in state ([A-Za-z]+)/.exec(cause)?.[1];
  const failedState = recordedState === 'RunSteps' && inner ? inner : recordedState;
  // The approval of one step: the steps before it ran (nothing was changed only if it is the first).
  const stepName = /^step (\S+) \(/.exec(cause)?.[1];
  const stepApproval = failedState === 'AwaitStepApproval' || failedState === 'RetakeStepLock';
  if (failedState === 'AwaitApproval' && error === 'States.Timeout') {
    error = 'ApprovalExpiredError';
    cause = `nobody answered the approval request within ${plan?.approval?.timeoutSeconds ?? '?'} s; nothing was changed`;
  } else if (failedState === 'AwaitStepApproval' && error === 'States.Timeout') {
    error = 'ApprovalExpiredError';
    cause = `nobody answered the approval of step ${stepName ?? '?'} within ${plan?.approval?.timeoutSeconds ?? '?'} s; it and the steps after it did not run`;
  } else if (error === 'States.Timeout') {
    cause = `the state ${failedState} timed out${cause && cause !== 'States.Timeout' ? `: ${cause}` : ''}`;
  }
  const unchanged =
    UNCHANGED_STATES.has(failedState) ||
    (stepApproval && stepName !== undefined && stepName === plan?.steps?.[0]?.name);
  return {
    outcome: 'failed',
    summary: `${what} failed in ${failedState}: ${error}${unchanged ? ' (nothing was changed)' : ''}`,
    error,
    cause: cause.slice(0, 4000),
    failedState,
    ...(unchanged ? { unchanged: true } : {}),
    ...(outputTail ? { outputTail } : {}),
  };
}

/** A run's ending as {@link publishRunOutcome} publishes it. */
export interface RunOutcome {
  outcome: Outcome;
  summary: string;
  error?: string;
  cause?: string;
  failedState?: string;
}

/**
 * Publishes how a run of `workflow` ended to its target's notifier (the fallback one when the
 * target is unknown), with the execution's console link, and returns the outcome without its
 * output tail.
 *
 * @example
 * await publishRunOutcome('recover', { run: state, runId: 'r1', executionId }, recoveryOutcome(state), deps)
 */
export async function publishRunOutcome<O extends RunOutcome>(
  workflow: WorkflowName,
  input: NotifyRecoveryInput,
  result: O & { outputTail?: string },
  deps: Pick<RecoveryDeps, 'findTarget' | 'notifier' | 'fallbackNotifier' | 'now'>,
): Promise<O> {
  const { outputTail, ...rest } = result;
  const outcome = rest as O;
  const targetName = (input.run.plan as { target?: string } | undefined)?.target ?? input.run.target;
  let notifier: ReturnType<RecoveryDeps['fallbackNotifier']>;
  try {
    notifier = deps.notifier(deps.findTarget(String(targetName)));
  } catch {
    notifier = deps.fallbackNotifier();
  }
  const executionUrl = consoleUrl(input.executionId);
  await notifier.publish({
    target: typeof targetName === 'string' ? targetName : 'unknown',
    workflow,
    outcome: outcome.outcome,
    runId: input.runId,
    summary: outcome.summary,
    ...(outcome.failedState ? { failedState: outcome.failedState } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
    ...(outcome.cause ? { cause: outcome.cause } : {}),
    ...(outputTail ? { outputTail } : {}),
    ...(executionUrl ? { executionUrl } : {}),
    at: new Date(deps.now()).toISOString(),
  });
  return outcome;
}

/**
 * notify-recovery: publishes how the run ended and returns the outcome the workflow ends with.
 *
 * @example
 * await notifyRecoveryStep({ run: state, runId: 'r1', executionId }, deps) // { outcome: 'succeeded', summary: '…' }
 */
export async function notifyRecoveryStep(
  input: NotifyRecoveryInput,
  deps: RecoveryDeps,
): Promise<RecoveryOutcome> {
  return publishRunOutcome('recover', input, recoveryOutcome(input.run), deps);
}

/**
 * The hosts of a target that are out of one of its load-balancer target groups (deregistered,
 * draining or unhealthy), as a run that ended early may leave them: what to register back once
 * they are healthy. None when the target declares no target group.
 *
 * @example
 * await hostsOutOfLoadBalancer(target, deps) // [{ host: 'i-0abc…', targetGroup: 'arn:…', state: 'unused' }]
 */
export async function hostsOutOfLoadBalancer(
  target: Target,
  deps: Pick<RecoveryDeps, 'hosts' | 'loadBalancer'>,
): Promise<{ host: string; targetGroup: string; state: string }[]> {
  const groups = target.deploy?.loadBalancer?.targetGroups ?? [];
  if (groups.length === 0) return [];
  const hosts = await deps.hosts(target).resolve(hostSelector(target));
  if (hosts.length === 0) return [];
  const lb = deps.loadBalancer(target);
  const health = (await Promise.all(groups.map((g) => lb.health(g, hosts)))).flat();
  return health
    .filter((h) => h.state !== 'healthy' && h.state !== 'initial')
    .map((h) => ({ host: h.hostId, targetGroup: h.targetGroup, state: h.state }));
}
