/**
 * One round of probes: every probe of the round at once, the host-side ones as one command per
 * host set, each cut at its own bound. Whatever a probe or its driver does (throws, rejects with
 * `undefined`, hangs), the round gives a result for it; it never throws.
 */
import type { Probe } from '../config/schema.ts';
import type { HostRef, ProbeResult, ProbeRunner } from '../drivers/ports.ts';
import { rejectionReason } from './failure.ts';
import { HOST_PROBE_MARGIN_SECONDS, hostProbeSeconds, isHostSideProbe } from './host-probes.ts';

/** Seconds an AWS API probe (`ec2-status`, `ssm-agent`) may take before it is cut. */
export const AWS_PROBE_SECONDS = 20;
/** Seconds beyond its own timeout a probe from the prober is given before the round cuts it. */
const PROBER_GRACE_SECONDS = 2;
/** Seconds the host batch's command may run beyond its slowest probe (see `renderHostProbeBatch`). */
const HOST_COMMAND_GRACE_SECONDS = 10;

/**
 * The longest a probe can take in a round, in seconds: its timeout (plus a grace) for probes from
 * the prober, the host command's time plus its delivery margin for host-side probes, a fixed bound
 * for AWS API probes.
 *
 * @example
 * probeBoundSeconds({ name: 'api', type: 'http', from: 'outside', timeout: 10, … }) // 12
 */
export function probeBoundSeconds(probe: Probe): number {
  if (isHostSideProbe(probe)) {
    return (
      hostProbeSeconds(probe) + HOST_COMMAND_GRACE_SECONDS + HOST_PROBE_MARGIN_SECONDS + PROBER_GRACE_SECONDS
    );
  }
  if (probe.type === 'ec2-status' || probe.type === 'ssm-agent') return AWS_PROBE_SECONDS;
  return probe.timeout + PROBER_GRACE_SECONDS;
}

/**
 * The longest a whole round of these probes can take, in seconds: its slowest probe (the host-side
 * probes share one command, as long as their slowest).
 *
 * @example
 * probeRoundSeconds(target.health.probes) // 37
 */
export function probeRoundSeconds(probes: readonly Probe[]): number {
  return Math.max(0, ...probes.map(probeBoundSeconds));
}

function failed(probe: string, detail: string): ProbeResult {
  return { probe, ok: false, detail };
}

/** Resolves with the run's results, or with a failed result per probe once `seconds` have passed. */
async function bounded(
  names: readonly string[],
  seconds: number,
  run: () => Promise<ProbeResult[]>,
): Promise<ProbeResult[]> {
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<ProbeResult[]>((resolve) => {
    timer = setTimeout(
      () => resolve(names.map((name) => failed(name, `timed out after ${seconds} s`))),
      seconds * 1000,
    );
  });
  const work = (async () => {
    try {
      const results = await run();
      if (!Array.isArray(results)) return names.map((name) => failed(name, 'the probe gave no result'));
      const missing = names.filter((name) => !results.some((r) => r?.probe === name));
      return [...results, ...missing.map((name) => failed(name, 'the probe gave no result'))];
    } catch (error) {
      return names.map((name) => failed(name, `the probe could not run: ${rejectionReason(error)}`));
    }
  })();
  try {
    return await Promise.race([work, cut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one round of probes against the hosts and gives their results in the order of the probes.
 *
 * @example
 * const results = await runProbeRound(probeRunnerFor(target), target.health.probes, hosts);
 */
export async function runProbeRound(
  runner: ProbeRunner,
  probes: readonly Probe[],
  hosts: HostRef[],
): Promise<ProbeResult[]> {
  const hostSide = runner.runAll ? probes.filter(isHostSideProbe) : [];
  const single = probes.filter((p) => !hostSide.includes(p as never));
  const runAll = runner.runAll?.bind(runner);
  const rounds = await Promise.all([
    hostSide.length > 0 && runAll
      ? bounded(
          hostSide.map((p) => p.name),
          probeRoundSeconds(hostSide),
          () => runAll(hostSide, hosts),
        )
      : Promise.resolve([]),
    ...single.map((probe) => bounded([probe.name], probeBoundSeconds(probe), () => runner.run(probe, hosts))),
  ]);
  const byProbe = new Map<string, ProbeResult[]>();
  for (const result of rounds.flat()) {
    const detail = typeof result.detail === 'string' ? result.detail : rejectionReason(result.detail);
    const clean: ProbeResult = { ...result, ok: result.ok === true, detail };
    byProbe.set(clean.probe, [...(byProbe.get(clean.probe) ?? []), clean]);
  }
  return probes.flatMap((probe) => byProbe.get(probe.name) ?? []);
}
