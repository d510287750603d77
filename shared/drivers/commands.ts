/**
 * The command runner of a target: SSM for `ec2` hosts (output to the stack's command log group when
 * one is named), bash on this machine for `local` hosts.
 */
import type { Target } from '../config/schema.ts';
import { SsmCommandRunner } from './aws/ssm-command-runner.ts';
import { BashCommandRunner } from './local/bash-command-runner.ts';
import { type DriversOptions, type SsmDelivery, ssmRunnerOptions } from './options.ts';
import type { CommandRunner } from './ports.ts';

/**
 * Chooses the command runner for a target.
 *
 * `ssm.deliveryTimeoutSeconds` bounds how long SSM keeps a command for an unreachable instance.
 *
 * @example
 * const commands = commandRunnerFor(target, { commandLogGroup: '/stepops/commands' });
 * const handle = await commands.send({ hosts, script, timeoutSeconds: 60, comment: 'deploy demo v2' });
 */
export function commandRunnerFor(
  target: Target,
  options: DriversOptions = {},
  ssm: SsmDelivery = {},
): CommandRunner {
  if (target.hosts.type !== 'ec2') return new BashCommandRunner();
  return new SsmCommandRunner(ssmRunnerOptions(options, ssm));
}
