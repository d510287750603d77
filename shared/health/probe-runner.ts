/**
 * The probe runner of a target (the health domain chooses it; a driver imports no domain module): the standard runner, running host-side probes (commands, HTTP from
 * the host) on the hosts through the target's command runner (SSM for ec2 hosts, bash for local).
 */
import type { Target } from '../config/schema.ts';
import type { DriversOptions } from '../drivers/options.ts';
import type { CommandRunner, ProbeRunner } from '../drivers/ports.ts';
import { rareCommandRunnerFor } from '../drivers/rare-commands.ts';
import { hostScriptOptions } from '../shell/script.ts';
import { StandardProbeRunner } from './probe.ts';

/**
 * Seconds SSM may wait to deliver a round's probe command (SendCommand `TimeoutSeconds`, 30 s at
 * least): "If this time is reached and the command hasn't already started running, it won't run"
 * (SSM API reference, SendCommand), so an offline agent does not queue one command per round.
 */
export const HOST_PROBE_DELIVERY_SECONDS = 30;

/**
 * Chooses the probe runner for a target; `commands` shares a runner already made for the target.
 * Without one, the SSM command runner of an `ec2` target is loaded when a host-side probe first
 * runs: a health gate of HTTP probes does not evaluate the SSM client at cold start.
 *
 * @example
 * const results = await probeRunnerFor(target).run(probe, hosts);
 */
export function probeRunnerFor(
  target: Target,
  options: DriversOptions = {},
  commands: CommandRunner = rareCommandRunnerFor(target, options, {
    deliveryTimeoutSeconds: HOST_PROBE_DELIVERY_SECONDS,
  }),
): ProbeRunner {
  return new StandardProbeRunner({ commands, target: target.name, ...hostScriptOptions(target.hosts) });
}
