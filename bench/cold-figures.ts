/**
 * The figures of the cold runs (bench/cold.ts measures them): the section's shape, the sums and
 * ratios to the one-client baseline, and the goals of issue 23 §3. Pure: loads no target.
 */

/** The baseline every cold figure is divided by: middy + logger + one SSM client at module scope. */
export const ONE_CLIENT_BASELINE = 'baseline-one-client';
/** The baseline of a function that makes no AWS call: middy + logger. */
export const LOGGER_BASELINE = 'baseline-logger';

/** The goals of issue 23 §3, in baselines and milliseconds. */
export const COLD_GOALS = Object.freeze({
  /** Summed cold import along a 1-host deploy's path, in one-client baselines. */
  deployPathBaselines: 3,
  /** Any one function's cold import, in one-client baselines. */
  functionBaselines: 2,
  /** Cold import of a function that makes no AWS call. */
  noAwsMs: 40,
  /** Cost of a 1-host deploy before issue 23. */
  deployCostUsd: 0.000457,
});

/** The path whose summed cold import the first goal bounds. */
export const DEPLOY_PATH = 'deploy, 1 host';

/** One function on a measured path: its bundle and cold import. */
export interface ColdFunction {
  name: string;
  bytes: number;
  /** The AWS services its bundle holds a client of (none: a function that makes no AWS call). */
  services: string[];
  /** The fastest of its samples: the one least disturbed by other work on the machine. */
  coldImportMs: number;
  medianMs: number;
  samplesMs: number[];
}

/** One workflow's common path, from one warm run after a warm-up run. */
export interface ColdPath {
  name: string;
  outcome: string;
  /** Distinct functions invoked, in the order of their first invocation. */
  functions: string[];
  invocations: number;
  transitions: number;
  wallMs: number;
  /** What the run waits for by design: the scripts' own time (they time themselves), a failing gate. */
  waitMs: number;
  /** Wall time − the waits: the orchestration with every function warm. */
  warmOverheadMs: number;
  /** Price of the run at list price (Standard transitions + Lambda), for the deploy paths. */
  costUsd?: number;
}

export interface ColdSection {
  status: 'ok';
  samplesPerFunction: number;
  /** The baselines, their cold import read the same way as the functions' (fastest, and median). */
  baselines: {
    id: string;
    label: string;
    bytes: number;
    coldImportMs: number;
    medianMs: number;
    samplesMs: number[];
  }[];
  functions: ColdFunction[];
  paths: ColdPath[];
  notes: string[];
}

/**
 * The distinct functions of a run, in the order of their first invocation (retries and loops
 * count once: a function starts cold once per run).
 *
 * @example
 * distinctFunctions([{ functionName: 'a' }, { functionName: 'b' }, { functionName: 'a' }]) // ['a', 'b']
 */
export function distinctFunctions(invocations: readonly { functionName: string }[]): string[] {
  return [...new Set(invocations.map((i) => i.functionName))];
}

/** A path's cold figures against the baseline. */
export interface ColdFigures {
  coldFunctions: number;
  coldImportSumMs: number;
  coldImportBaselines: number;
  warmOverheadBaselines: number;
  /** Functions on the path whose cold import was not measured (should be none). */
  missing: string[];
}

/**
 * Sums the cold imports of a path's functions and divides it, and the warm overhead, by the
 * one-client baseline.
 *
 * @example
 * coldFigures({ functions: ['a', 'b'], warmOverheadMs: 300 }, { a: 100, b: 50 }, 100)
 * // { coldFunctions: 2, coldImportSumMs: 150, coldImportBaselines: 1.5, warmOverheadBaselines: 3, missing: [] }
 */
export function coldFigures(
  pathRun: Pick<ColdPath, 'functions' | 'warmOverheadMs'>,
  coldImportMs: Readonly<Record<string, number>>,
  baselineMs: number,
): ColdFigures {
  if (!(baselineMs > 0)) throw new RangeError(`baseline must be positive, got ${baselineMs}`);
  const missing = pathRun.functions.filter((f) => coldImportMs[f] === undefined);
  const sum = pathRun.functions.reduce((total, f) => total + (coldImportMs[f] ?? 0), 0);
  return {
    coldFunctions: pathRun.functions.length,
    coldImportSumMs: sum,
    coldImportBaselines: sum / baselineMs,
    warmOverheadBaselines: pathRun.warmOverheadMs / baselineMs,
    missing,
  };
}

/** One goal of issue 23 §3, met or missed, with the measured figure. */
export interface ColdGoal {
  goal: string;
  met: boolean;
  measured: string;
}

/**
 * Checks the section against {@link COLD_GOALS}. Pure.
 *
 * @example
 * coldGoals(section).filter((g) => !g.met)
 */
export function coldGoals(section: Pick<ColdSection, 'baselines' | 'functions' | 'paths'>): ColdGoal[] {
  const baseline = section.baselines.find((b) => b.id === ONE_CLIENT_BASELINE)?.coldImportMs;
  if (baseline === undefined) throw new Error(`no ${ONE_CLIENT_BASELINE} in the section`);
  const byName = Object.fromEntries(section.functions.map((f) => [f.name, f.coldImportMs]));
  const goals: ColdGoal[] = [];
  const deploy = section.paths.find((p) => p.name === DEPLOY_PATH);
  if (deploy) {
    const figures = coldFigures(deploy, byName, baseline);
    goals.push({
      goal: `summed cold import along a 1-host deploy ≤ ${COLD_GOALS.deployPathBaselines} one-client baselines`,
      met: figures.coldImportBaselines <= COLD_GOALS.deployPathBaselines,
      measured: `${figures.coldImportSumMs.toFixed(0)} ms over ${figures.coldFunctions} functions = ${figures.coldImportBaselines.toFixed(1)} baselines`,
    });
    if (deploy.costUsd !== undefined) {
      goals.push({
        goal: `cost per 1-host deploy < $${COLD_GOALS.deployCostUsd}`,
        met: deploy.costUsd < COLD_GOALS.deployCostUsd,
        measured: `$${deploy.costUsd.toPrecision(3)}`,
      });
    }
  }
  const over = section.functions.filter((f) => f.coldImportMs > COLD_GOALS.functionBaselines * baseline);
  goals.push({
    goal: `no function on these paths over ${COLD_GOALS.functionBaselines} one-client baselines (${(COLD_GOALS.functionBaselines * baseline).toFixed(0)} ms in this run)`,
    met: over.length === 0,
    measured:
      over.length === 0
        ? `slowest ${Math.max(...section.functions.map((f) => f.coldImportMs)).toFixed(0)} ms`
        : over
            .map(
              (f) => `${f.name} ${f.coldImportMs.toFixed(0)} ms (${(f.coldImportMs / baseline).toFixed(1)}×)`,
            )
            .join(', '),
  });
  const noAws = section.functions.filter((f) => f.services.length === 0);
  const slow = noAws.filter((f) => f.coldImportMs >= COLD_GOALS.noAwsMs);
  goals.push({
    goal: `functions that make no AWS call under ${COLD_GOALS.noAwsMs} ms`,
    met: slow.length === 0,
    measured:
      noAws.map((f) => `${f.name} ${f.coldImportMs.toFixed(0)} ms`).join(', ') || 'none on these paths',
  });
  return goals;
}
