/**
 * What the delivery report, the console and the status page read about a target's past, from the
 * same places `status` and `history` read: its runs (a run source), the probes' transitions (the
 * alerts in the local outbox, and the health state's recent recoveries and current down probes),
 * and the commits' times (git, in a checkout that has the refs).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Target } from '../../shared/config/schema.ts';
import type { HealthStateView } from '../../shared/console/transitions.ts';
import { outboxPath } from '../../shared/drivers/local/outbox-notifier.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import type { RunSource, RunSummary } from './model.ts';
import { WORKFLOWS } from './workflows.ts';

const run = promisify(execFile);

/** A ref git may be asked about: no option, no path trickery. */
const REF = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

/**
 * The runs of a target that started in the `days` before `now`, of every workflow with a history
 * (Express health checks keep none), at most `limit` of each workflow (on a stage each run listed
 * costs a DescribeExecution), newest first.
 *
 * @example
 * const runs = await targetRuns(new LocalRunSource(), 'demo', 30, Date.now());
 */
export async function targetRuns(
  source: RunSource,
  target: string,
  days: number,
  now: number,
  limit = 1000,
): Promise<RunSummary[]> {
  const since = now - days * 86_400_000;
  const available = WORKFLOWS.filter(
    (w) =>
      !w.express &&
      (source.where === 'local' ||
        (source as { stateMachines?: Record<string, string> }).stateMachines?.[w.name]),
  );
  const runs: RunSummary[] = [];
  for (const workflow of available) {
    const listed = await source.list(workflow.name, { target, limit });
    runs.push(...listed.filter((r) => Date.parse(r.startedAt) >= since));
  }
  return runs.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
}

/**
 * The commit time (epoch ms) of each ref that git knows in `directory`; refs it does not know, or
 * that are not plain ref names, are left out. No shell: git is run with its arguments.
 *
 * @example
 * await commitTimes('/srv/app', ['v2', 'v3']) // { v2: 1764930000000, v3: 1764933600000 }
 */
export async function commitTimes(
  directory: string,
  refs: readonly string[],
): Promise<Record<string, number>> {
  const times: Record<string, number> = {};
  for (const ref of new Set(refs)) {
    if (!REF.test(ref) || ref.includes('..')) continue;
    try {
      const { stdout } = await run(
        'git',
        ['-C', directory, 'log', '-1', '--format=%ct', '--end-of-options', ref, '--'],
        { timeout: 10_000 },
      );
      const seconds = Number(stdout.trim());
      if (Number.isSafeInteger(seconds) && seconds > 0) times[ref] = seconds * 1000;
    } catch {
      // Not a ref this checkout knows: its lead time is unknown.
    }
  }
  return times;
}

/**
 * The directory git reads commit times from for a target: the one given, else a local target's
 * (first) host directory, which is a checkout of the app.
 */
export function commitDirectory(target: Target, given?: string): string | undefined {
  if (given) return given;
  if (target.hosts.type !== 'local') return undefined;
  const dir = target.hosts.directory;
  return Array.isArray(dir) ? dir[0] : dir;
}

/** The health alerts of the local outbox (none when there is no outbox). */
export async function outboxHealthAlerts(home?: string): Promise<Notification[]> {
  let text: string;
  try {
    text = await readFile(outboxPath(home), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim())
    .flatMap((line) => {
      try {
        const n = JSON.parse(line) as Notification;
        return n.workflow === 'health' ? [n] : [];
      } catch {
        return [];
      }
    });
}

// Moved to shared/ (the status page publisher Lambda uses them too); kept here for the CLI's imports.
export { type HealthStateView, probeTransitions } from '../../shared/console/transitions.ts';

/**
 * A target's health state as the health checks recorded it: the local store, or the stage's state
 * table (`STEPOPS_STATE_TABLE`); undefined when never checked or not readable.
 *
 * @example
 * const state = await readHealthState(findTarget('demo'), true, process.env);
 */
export async function readHealthState(
  target: Target,
  local: boolean,
  env: NodeJS.ProcessEnv,
): Promise<HealthStateView | undefined> {
  try {
    if (!local && !env.STEPOPS_STATE_TABLE) return undefined;
    let store: { read(target: string): Promise<{ body: string } | undefined> };
    if (local) {
      store = (await import('../../shared/drivers/health.ts')).healthStoreFor(target);
    } else {
      const [{ DynamoHealthStore }, { dynamoClient }, { stageRegion }] = await Promise.all([
        import('../../shared/drivers/aws/dynamo-health-store.ts'),
        import('../../shared/drivers/aws/clients.ts'),
        import('../stage.ts'),
      ]);
      store = new DynamoHealthStore(env.STEPOPS_STATE_TABLE!, { client: dynamoClient(stageRegion(env)) });
    }
    const record = await store.read(target.name);
    return record ? (JSON.parse(record.body) as HealthStateView) : undefined;
  } catch {
    return undefined;
  }
}
