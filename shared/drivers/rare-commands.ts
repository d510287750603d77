/**
 * The command runner of a target for a function that runs commands only on a rarer path: the SSM
 * runner is loaded by a dynamic `import()` on first use. A module apart from `commands.ts`, which
 * imports the SSM runner statically: a function that imports both would load it at cold start.
 */
import type { Target } from '../config/schema.ts';
import { LazyCommandRunner } from './lazy.ts';
import { BashCommandRunner } from './local/bash-command-runner.ts';
import { type DriversOptions, type SsmDelivery, ssmRunnerOptions } from './options.ts';
import { type CommandRunner, SSM_STATUS_PACE_MS } from './ports.ts';

/**
 * The command runner of a target for a function that runs commands only on a rarer path (host-side
 * health probes): for `ec2` hosts the SSM runner, loaded by a dynamic `import()` when the first
 * command is sent or read, so that the SSM client is not evaluated at the function's cold start.
 *
 * @example
 * const commands = rareCommandRunnerFor(target, {}, { deliveryTimeoutSeconds: 30 });
 */
export function rareCommandRunnerFor(
  target: Target,
  options: DriversOptions = {},
  ssm: SsmDelivery = {},
): CommandRunner {
  if (target.hosts.type !== 'ec2') return new BashCommandRunner();
  return new LazyCommandRunner(async () => {
    const { SsmCommandRunner } = await import('./aws/ssm-command-runner.ts');
    return new SsmCommandRunner(ssmRunnerOptions(options, ssm));
  }, SSM_STATUS_PACE_MS);
}
