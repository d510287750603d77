/**
 * `stepops unlock <target> [--yes] [--force] [--stage S]`: releases the lease a deploy holds on a
 * target (a run that died without releasing it), after showing who holds it and asking to confirm.
 * `local` targets keep their lease in a file on this machine; `ec2` targets in their stage's
 * DynamoDB table, the lease the deploys started on AWS take. Without a terminal to ask on and
 * without `--yes`, it refuses (exit 2) and changes nothing. The run holding the lease must have
 * ended (its local process, or its execution on the stage): a live run's lease, or one whose run
 * cannot be found, is released only with `--force` (else exit 1, nothing changed).
 */
import { createInterface } from 'node:readline/promises';
import { ConfigError, formatIssue } from '../../shared/config/load.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { Lease } from '../../shared/drivers/ports.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { targetLeaseKey } from '../../shared/lease-keys.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import { resolveRunTarget } from '../runs/engine.ts';
import type { RunStatus } from '../runs/model.ts';
import type { StageOptions } from '../stage.ts';

/** A lease store that can say who holds a key. */
export interface InspectableLeases {
  holder(key: string): Promise<Lease | undefined>;
  release(key: string, owner: string): Promise<void>;
}

/** How the run holding a lease stands, as far as it can be found. */
export interface HolderRun {
  status: RunStatus;
  /** Where it was found: `this machine (pid 123)`, `stage prod`. */
  where: string;
}

/** Options of {@link unlock}. */
export interface UnlockOptions {
  /** Release without asking (for scripts). */
  yes?: boolean;
  /** Release even when the holding run still runs, or cannot be found. */
  force?: boolean;
  /** Finds the run holding the lease (local runs, then the stage's executions, by default). */
  holderRun?: (owner: string) => Promise<HolderRun | undefined>;
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

/**
 * The run named by a lease's owner: a local run of this machine (its process must live for it to
 * run), else, for an ec2 target, the execution of that ARN or name on the stage.
 */
async function findHolderRun(
  owner: string,
  target: Target,
  options: UnlockOptions,
): Promise<HolderRun | undefined> {
  const { LocalRunSource } = await import('../runs/local.ts');
  const name = owner.startsWith('arn:') ? (owner.split(':').at(-1) ?? owner) : owner;
  const local = await new LocalRunSource().describe(name);
  if (local) return { status: local.status, where: 'this machine' };
  if (target.hosts.type === 'local') return undefined;
  const env = options.stageOptions?.env ?? process.env;
  const { sfnClient } = await import('../runs/aws.ts');
  const client = sfnClient(env);
  if (/^arn:aws[a-z-]*:states:/.test(owner)) {
    const { DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');
    const described = await client.send(new DescribeExecutionCommand({ executionArn: owner }));
    return described.status ? { status: described.status as RunStatus, where: 'its stage' } : undefined;
  }
  const stage = options.stage ?? (env.STEPOPS_STAGE?.trim() || undefined);
  if (!stage) return undefined;
  const { runSourceFor } = await import('../runs/source.ts');
  const run = await (await runSourceFor({ stage }, { sfn: client, env })).describe(name);
  return run ? { status: run.status, where: `stage ${stage}` } : undefined;
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
 * @returns the exit code: 0 released or not locked, 1 declined, taken meanwhile, or held by a run
 * that still runs or cannot be found (without --force), 2 bad input or no confirmation possible
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
  let run: HolderRun | undefined;
  let unknown = 'no record of it on this machine or the stage';
  try {
    run = await (options.holderRun ?? ((owner) => findHolderRun(owner, target, options)))(holder.owner);
  } catch (error) {
    unknown = `its status could not be read: ${(error as Error).message.split('\n')[0]}`;
  }
  if (run?.status === 'RUNNING' && !options.force) {
    out.err(
      `stepops: run ${holder.owner} still runs (${run.where}) and holds the lease: releasing it would let another run overlap it; stop that run first, or pass --force`,
    );
    return 1;
  }
  if (!run && !options.force) {
    out.err(
      `stepops: cannot tell whether run ${holder.owner} still runs (${unknown}); pass --force to release its lease anyway`,
    );
    return 1;
  }
  if (run) out.out(`run ${holder.owner}: ${run.status} (${run.where})`);
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
