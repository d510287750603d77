import { findTarget, listTargets } from '../../shared/config/registry.ts';
import { EXIT, type Output, stdio, UsageError } from '../output.ts';
import type { RunSummary } from '../runs/model.ts';
import { runSourceFor, type SourceDeps, type WhereOptions } from '../runs/source.ts';
import { age, painter, runDuration, statusColour, table } from '../runs/style.ts';
import { workflowEntry } from '../runs/workflows.ts';

/** Options of {@link history}. */
export interface HistoryOptions extends WhereOptions {
  workflow?: string;
  limit?: string | number;
  json?: boolean;
}

function limitOf(value: string | number | undefined): number {
  if (value === undefined) return 20;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new UsageError(`--limit ${String(value)}: expected a whole number from 1 to 1000`);
  }
  return limit;
}

/**
 * The history table of runs.
 *
 * @example
 * formatHistory(runs, Date.now(), (c, t) => t)
 */
export function formatHistory(runs: readonly RunSummary[], now: number, paint = painter({})): string {
  const rows = [['RUN', 'OUTCOME', 'STARTED', 'DURATION', 'REF', 'REASON', 'BY']];
  for (const run of runs) {
    const outcome =
      run.status === 'SUCCEEDED' || run.status === 'RUNNING'
        ? run.status
        : `${run.status} ${run.error ?? ''}`.trim();
    rows.push([
      run.runId,
      paint(statusColour(run.status), outcome),
      age(run.startedAt, now),
      runDuration(run.startedAt, run.stoppedAt, now),
      run.ref ?? '—',
      run.reason ?? '—',
      run.requestedBy ?? '—',
    ]);
  }
  return table(rows);
}

/**
 * Prints a target's past runs.
 *
 * @example
 * process.exitCode = await history('zmanim', { stage: 'prod', limit: 10 });
 * @returns the exit code
 */
export async function history(
  target: string,
  options: HistoryOptions,
  deps: SourceDeps & { output?: Output; now?: () => number; isTTY?: boolean } = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const workflow = workflowEntry(options.workflow ?? 'deploy').name;
  const limit = limitOf(options.limit);
  const source = await runSourceFor(options, deps);
  const runs = await source.list(workflow, { target, limit });
  if (options.json) {
    out.out(JSON.stringify({ where: source.where, workflow, target, runs }, null, 2));
    return EXIT.ok;
  }
  if (runs.length === 0) {
    // A target no file declares and no run names is a typo, not an empty history.
    if (!listTargets().includes(target)) findTarget(target);
    out.out(
      `no ${workflow} runs of ${target} ${source.where === 'local' ? 'recorded locally' : `on stage ${source.where}`}`,
    );
    return EXIT.ok;
  }
  out.out(
    `${workflow} runs of ${target} (${source.where === 'local' ? 'local' : `stage ${source.where}`}), newest first`,
  );
  out.out(
    formatHistory(runs, (deps.now ?? Date.now)(), painter({ isTTY: deps.isTTY ?? process.stdout.isTTY })),
  );
  return EXIT.ok;
}
