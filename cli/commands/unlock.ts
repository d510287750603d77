/**
 * `stepops unlock <target> [--yes] [--stage S]`: releases the lease a deploy holds on a target (a
 * run that died without releasing it), after showing who holds it and asking to confirm. `local`
 * targets keep their lease in a file on this machine; `ec2` targets in their stage's DynamoDB
 * table, the lease the deploys started on AWS take. Without a terminal to ask on and without
 * `--yes`, it refuses (exit 2) and changes nothing.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ConfigError, formatIssue } from '../../shared/config/load.ts';
import type { Target } from '../../shared/config/schema.ts';
import { targetLeaseKey } from '../../shared/deploy/steps.ts';
import type { Lease } from '../../shared/drivers/ports.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import type { StageOptions } from '../stage.ts';
import { resolveRunTarget } from './run.ts';

/** A lease store that can say who holds a key. */
export interface InspectableLeases {
  holder(key: string): Promise<Lease | undefined>;
  release(key: string, owner: string): Promise<void>;
}

/** Options of {@link unlock}. */
export interface UnlockOptions {
  /** Release without asking (for scripts). */
  yes?: boolean;
  /** `ec2` targets: the stage whose lease it is (`STEPOPS_STAGE` when omitted). */
  stage?: string;
  stageOptions?: Omit<StageOptions, 'stage'>;
  output?: Output;
  /** Whether there is a terminal to ask on (stdin and stdout are TTYs by default). */
  interactive?: boolean;
  /** Asks the question and returns the answer (a readline prompt by default). */
  ask?: (question: string) => Promise<string>;
  /** The lease store (by default the target's: files for local hosts, the stage's table for ec2). */
  leases?: InspectableLeases;
  /** Epoch milliseconds now. */
  now?: () => number;
}

async function prompt(question: string): Promise<string> {
  const lines = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await lines.question(question);
  } finally {
    lines.close();
  }
}

async function leasesOf(
  target: Target,
  options: UnlockOptions,
): Promise<{ leases: InspectableLeases; where: string }> {
  if (options.leases) return { leases: options.leases, where: 'the lease store' };
  if (target.hosts.type === 'local') {
    const { FileLeaseStore } = await import('../../shared/drivers/local/file-lease-store.ts');
    const { stepopsHome } = await import('../../shared/drivers/local/home.ts');
    return { leases: new FileLeaseStore(), where: `${stepopsHome()}/leases` };
  }
  const [{ stageResources }, { DynamoLeaseStore }, { dynamoClient }] = await Promise.all([
    import('../stage.ts'),
    import('../../shared/drivers/aws/dynamo-lease-store.ts'),
    import('../../shared/drivers/aws/clients.ts'),
  ]);
  const stage = await stageResources(target.name, {
    ...options.stageOptions,
    ...(options.stage !== undefined ? { stage: options.stage } : {}),
  });
  return {
    leases: new DynamoLeaseStore(stage.stateTable, { client: dynamoClient(stage.region) }),
    where: `DynamoDB ${stage.stateTable} (${stage.region})`,
  };
}

function describeLease(lease: Lease, now: number): string {
  const left = Math.max(0, Math.round((lease.expiresAt * 1000 - now) / 60_000));
  return `held by ${lease.owner} until ${new Date(lease.expiresAt * 1000).toISOString()} (${left} min left)`;
}

/**
 * Shows the holder of a target's lease and releases it once confirmed.
 *
 * @example
 * const code = await unlock('demo', { yes: true });
 * @returns the exit code: 0 released or not locked, 1 declined or taken meanwhile, 2 bad input or
 * no confirmation possible
 */
export async function unlock(nameOrFile: string, options: UnlockOptions = {}): Promise<number> {
  const out = options.output ?? stdio;
  const now = options.now ?? Date.now;
  let target: Target;
  let leases: InspectableLeases;
  let where: string;
  try {
    target = await resolveRunTarget(nameOrFile);
    ({ leases, where } = await leasesOf(target, options));
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const issue of error.issues) out.err(formatIssue(issue));
      return EXIT.invalidInput;
    }
    if (error instanceof InvalidInputError) {
      out.err(`stepops: ${error.message}`);
      return EXIT.invalidInput;
    }
    throw error;
  }
  const key = targetLeaseKey(target.name);
  const holder = await leases.holder(key);
  if (!holder) {
    out.out(`${target.name} is not locked (no lease ${key} in ${where})`);
    return EXIT.ok;
  }
  out.out(`lease ${key} in ${where}: ${describeLease(holder, now())}`);
  if (!options.yes) {
    const interactive = options.interactive ?? Boolean(process.stdin.isTTY && process.stdout.isTTY);
    if (!interactive) {
      out.err(
        'stepops: not releasing the lease without confirmation: run `stepops unlock` in a terminal or pass --yes',
      );
      return EXIT.invalidInput;
    }
    const answer = await (options.ask ?? prompt)(
      `release it? a deploy still running under it keeps running, and the next one may overlap it [y/N] `,
    );
    if (!/^y(es)?$/i.test(answer.trim())) {
      out.out('left as it is');
      return 1;
    }
  }
  await leases.release(key, holder.owner);
  const after = await leases.holder(key);
  if (after) {
    out.err(`stepops: the lease was taken meanwhile and is left as it is: ${describeLease(after, now())}`);
    return 1;
  }
  out.out(`released the lease ${key} (was held by ${holder.owner})`);
  return EXIT.ok;
}

/**
 * Adds `unlock` to the program.
 *
 * @example
 * register(new Command('stepops'));
 */
export function register(program: Command): void {
  program
    .command('unlock')
    .description("release a target's deploy lease after showing its holder and asking (--yes for scripts)")
    .argument('<target>', 'a target name (targets/<name>.ts) or the path of a target file')
    .option('--yes', 'release without asking')
    .option('--stage <stage>', 'ec2 targets: the stage whose lease it is (default $STEPOPS_STAGE)')
    .action(async (name: string, options: { yes?: boolean; stage?: string }) => {
      process.exitCode = await unlock(name, {
        ...(options.yes ? { yes: true } : {}),
        ...(options.stage !== undefined ? { stage: options.stage } : {}),
      });
    });
}
