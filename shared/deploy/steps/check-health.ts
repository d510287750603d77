import type { Target } from '../../config/schema.ts';
import type { ProbeResult } from '../../drivers/ports.ts';
import { rejectionReason } from '../../health/failure.ts';
import { probeRoundSeconds, runProbeRound } from '../../health/round.ts';
import type { CheckHealthInput, GateState, ProbeOutcome } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import { LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS, type RemainingTime } from './common.ts';

async function probeRound(
  target: Target,
  input: CheckHealthInput,
  deps: DeployDeps,
): Promise<ProbeOutcome[]> {
  const declared = target.health?.probes ?? [];
  const unknown = input.healthGate.probes.filter((name) => !declared.some((p) => p.name === name));
  const probes = declared.filter((p) => input.healthGate.probes.includes(p.name));
  let results: ProbeResult[];
  try {
    results = await runProbeRound(deps.driversFor(target).probes, probes, input.hosts);
  } catch (error) {
    results = probes.map((p) => ({
      probe: p.name,
      ok: false,
      detail: `the probe could not run: ${rejectionReason(error)}`,
    }));
  }
  const missing: ProbeResult[] = unknown.map((name) => ({
    probe: name,
    ok: false,
    detail: `target "${target.name}" has no probe named "${name}"`,
  }));
  return [...missing, ...results].map((r) => ({
    probe: r.probe,
    ok: r.ok,
    detail: r.detail.slice(0, 500),
    ...(r.host ? { host: r.host } : {}),
  }));
}

/**
 * check-health: the health gate. Runs every gate probe against the hosts each interval until the
 * required number of consecutive passing rounds (`healthy`), the gate's deadline (`unhealthy`), or
 * the end of the long-poll budget (`checking`: the workflow calls again with the returned state).
 *
 * @example
 * let gate = INITIAL_GATE;
 * do gate = await checkHealthStep({ target: 'demo', hosts, healthGate, gate }, deps, remaining);
 * while (gate.status === 'checking');
 */
export async function checkHealthStep(
  input: CheckHealthInput,
  deps: DeployDeps,
  remaining: RemainingTime,
): Promise<GateState> {
  const target = deps.findTarget(input.target);
  const { intervalSeconds, successes, timeoutSeconds } = input.healthGate;
  const deadline = input.gate.deadline ? Date.parse(input.gate.deadline) : deps.now() + timeoutSeconds * 1000;
  const budgetEnd = deps.now() + Math.max(0, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  let { consecutive, rounds } = input.gate;
  let last = input.gate.last;
  const state = (status: GateState['status']): GateState => ({
    status,
    consecutive,
    rounds,
    deadline: new Date(deadline).toISOString(),
    ...(last ? { last } : {}),
  });
  // A round starts only if it can end (its slowest probe's bound) before the invocation must return.
  const gateProbes = (target.health?.probes ?? []).filter((p) => input.healthGate.probes.includes(p.name));
  const roundMs = probeRoundSeconds(gateProbes) * 1000;
  const workEnd = deps.now() + Math.max(0, remaining() - LONG_POLL_SAFETY_MS);
  if (deps.now() + roundMs > workEnd) {
    // Not even a fresh invocation fits one round: looping would never probe; fail with the reason.
    last = [
      {
        probe: input.healthGate.probes.join(', '),
        ok: false,
        detail: `a round of these probes can take ${roundMs / 1000} s, more than the ${Math.floor((workEnd - deps.now()) / 1000)} s this check can use: shorten the probes' timeouts`,
      },
    ];
    return state('unhealthy');
  }
  // The interval since the last round counts across invocations: wait for its end when it fits.
  const nextRoundAt = input.gate.nextRoundAt ? Date.parse(input.gate.nextRoundAt) : 0;
  const wait = nextRoundAt - deps.now();
  if (wait > 0 && deps.now() + wait + roundMs <= workEnd) await deps.sleep(wait);
  for (;;) {
    last = await probeRound(target, input, deps);
    rounds += 1;
    consecutive = last.every((r) => r.ok) ? consecutive + 1 : 0;
    if (consecutive >= successes) return state('healthy');
    const next = deps.now() + intervalSeconds * 1000;
    if (next > deadline) return state('unhealthy');
    if (next > budgetEnd || next + roundMs > workEnd) {
      return { ...state('checking'), nextRoundAt: new Date(next).toISOString() };
    }
    await deps.sleep(intervalSeconds * 1000);
  }
}
