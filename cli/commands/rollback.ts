/**
 * `stepops rollback <target> [--stage S | --local] [--yes]`: deploys again the ref of the last
 * successful deploy before the current one, after showing both and asking to confirm (`--yes` for
 * scripts; without a terminal, `--yes` is required). Exit codes as `deploy`.
 */
import { createInterface } from 'node:readline/promises';
import { EXIT, type Output, stdio, UsageError } from '../output.ts';
import { resolveRunTarget } from '../runs/engine.ts';
import type { RunSummary } from '../runs/model.ts';
import { runSourceFor, stageOf, type WhereOptions } from '../runs/source.ts';
import { age } from '../runs/style.ts';
import { type DeployDeps, deploy } from './deploy.ts';

/** Options of {@link rollback}. */
export interface RollbackOptions extends WhereOptions {
  yes?: boolean;
  follow?: boolean;
}

/** What `rollback` needs besides `deploy`'s: how to ask. */
export interface RollbackDeps extends DeployDeps {
  /** Asks a yes/no question; undefined when there is no terminal to ask on. */
  confirm?: ((question: string) => Promise<boolean>) | undefined;
}

/** Deploys that count for a rollback: succeeded, newest first. */
const SCAN = 100;

/**
 * The current deploy (the newest that succeeded) and the one to roll back to: the newest earlier
 * success with another ref.
 *
 * @example
 * rollbackTarget(runs) // { current: { ref: 'v1.4.2', … }, previous: { ref: 'v1.4.1', … } }
 */
export function rollbackTarget(runs: readonly RunSummary[]): { current?: RunSummary; previous?: RunSummary } {
  const succeeded = runs.filter((r) => r.status === 'SUCCEEDED' && r.ref !== undefined);
  const current = succeeded[0];
  const previous = current ? succeeded.find((r) => r.ref !== current.ref) : undefined;
  return { ...(current ? { current } : {}), ...(previous ? { previous } : {}) };
}

async function terminalConfirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Rolls a target back to the ref of its previous good deploy.
 *
 * @example
 * process.exitCode = await rollback('zmanim', { stage: 'prod', yes: true });
 * @returns the exit code
 */
export async function rollback(
  target: string,
  options: RollbackOptions,
  deps: RollbackDeps = {},
): Promise<number> {
  const out: Output = deps.output ?? stdio;
  // An unknown target is a typo, not a target with nothing to roll back.
  await resolveRunTarget(target);
  const source = await runSourceFor(options, deps);
  const where = source.where === 'local' ? 'locally' : `on stage ${source.where}`;
  const runs = await source.list('deploy', { target, limit: SCAN });
  const running = runs.find((r) => r.status === 'RUNNING');
  if (running) {
    out.err(
      `stepops: a deploy of ${target} is running ${where} (${running.runId}): wait for it, or follow it`,
    );
    return EXIT.unexpected;
  }
  const { current, previous } = rollbackTarget(runs);
  if (!current) throw new UsageError(`no successful deploy of ${target} ${where}: nothing to roll back from`);
  if (!previous) {
    throw new UsageError(
      `no successful deploy of ${target} ${where} before ${current.ref} (${current.runId}): nothing to roll back to`,
    );
  }
  out.out(`current:     ${current.ref}  (${current.runId}, ${age(current.startedAt)})`);
  out.out(`roll back to: ${previous.ref}  (${previous.runId}, ${age(previous.startedAt)})`);
  if (!options.yes) {
    const confirm = 'confirm' in deps ? deps.confirm : process.stdin.isTTY ? terminalConfirm : undefined;
    if (!confirm) throw new UsageError('rollback asks to confirm: run it on a terminal, or pass --yes');
    if (!(await confirm(`deploy ${previous.ref} to ${target} ${where}?`))) {
      out.out('not rolled back');
      return EXIT.ok;
    }
  }
  const stage = stageOf(options, deps.env);
  return deploy(
    target,
    {
      ref: previous.ref!,
      reason: `rollback from ${current.ref} to ${previous.ref}`,
      ...(stage !== undefined ? { stage } : { local: true }),
      ...(options.follow === false ? { follow: false } : {}),
    },
    deps,
  );
}
