/**
 * Cold runs: what each workflow's common path costs when every Lambda on it starts cold, as on AWS
 * for a team that deploys a few times a day. The functions on a path are read from the trace of a
 * real run on the local engine (the engine records every invocation), never from a hand list; each
 * is bundled as the stack bundles it and imported in fresh Node processes; the sum of their cold
 * imports is set beside the path's warm overhead, both as a ratio to the one-client baseline
 * imported in the same rounds, so that the machine's load cancels out.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { clearRegisteredTargets, registerTarget } from '../shared/config/registry.ts';
import type { TargetInput } from '../shared/config/schema.ts';
import { priceRun } from '../shared/cost/pricing.ts';
import { usageOf } from '../shared/cost/usage.ts';
import { createLocalEngine, type RunResult } from '../shared/engine/index.ts';
import { awsServices, BASELINES, buildLambda, coldImport, targetsPlugins } from './bundles.ts';
import {
  type ColdPath,
  type ColdSection,
  DEPLOY_PATH,
  distinctFunctions,
  LOGGER_BASELINE,
  ONE_CLIENT_BASELINE,
} from './cold-figures.ts';
import { outcomeOf } from './cost.ts';
import { createFixtureLab, type FixtureLab, fixtureTarget, scriptMs, timedStep } from './fixtures.ts';
import { loadDeploy, memorySizes, withStepopsHome } from './harness.ts';
import { median } from './stats.ts';

/** Runs `start` twice (a warm-up, then the measured run) and returns the measured run. */
async function warmRun(
  start: () => Promise<RunResult>,
  before: () => Promise<void>,
): Promise<{ result: RunResult; wallMs: number }> {
  await before();
  await start();
  await before();
  const started = performance.now();
  const result = await start();
  return { result, wallMs: performance.now() - started };
}

function pathOf(
  name: string,
  result: RunResult,
  wallMs: number,
  waitMs: number,
  extra: { invocations?: readonly { functionName: string }[] } = {},
): ColdPath {
  const invocations = [...result.trace.invocations, ...(extra.invocations ?? [])];
  return {
    name,
    outcome: outcomeOf(result),
    functions: distinctFunctions(invocations),
    invocations: invocations.length,
    transitions: result.trace.transitions,
    wallMs,
    waitMs,
    warmOverheadMs: wallMs - waitMs,
  };
}

/** The deploy paths: a 1-host deploy, and a failed one (health gate) with its rollback. */
async function deployPaths(lab: FixtureLab): Promise<ColdPath[]> {
  const deploy = await loadDeploy();
  const memory = await memorySizes(deploy.functions);
  const engine = createLocalEngine(deploy.definition, deploy.handlersByArn, { memoryMb: memory.memoryMb });
  const times = path.join(lab.dir, 'times');
  const work = timedStep('install', 'printf \'%s\\n\' "$STEPOPS_REF" > release\nsleep 1');
  const paths: ColdPath[] = [];
  const one = async (name: string, target: string, failing: boolean) => {
    const { result, wallMs } = await warmRun(
      () => engine.start({ target, ref: 'v2', requestedBy: 'bench' }).result,
      async () => {
        await writeFile(lab.server.stateFile, 'ok\n');
        await rm(times, { force: true });
      },
    );
    // A failing gate waits for the broken app up to its timeout by design: that wait is not overhead.
    const gateWait = failing
      ? result.trace.invocations
          .filter((i) => i.functionName === 'check-health')
          .reduce((t, i) => t + i.durationMs, 0)
      : 0;
    const run = pathOf(name, result, wallMs, (await scriptMs(times)) + gateWait);
    const usage = usageOf(
      { transitions: result.trace.transitions, invocations: result.trace.invocations },
      memory.memoryMb,
    );
    run.costUsd = priceRun(usage).total;
    paths.push(run);
  };
  registerTarget(
    fixtureTarget({
      name: 'bench-cold-one',
      lab,
      steps: [work, timedStep('restart', "printf 'ok\\n' > ../state")],
    }),
  );
  await one(DEPLOY_PATH, 'bench-cold-one', false);
  registerTarget(
    fixtureTarget({
      name: 'bench-cold-bad',
      lab,
      steps: [work, timedStep('restart', "printf 'broken\\n' > ../state")],
      gateTimeout: 3,
    }),
  );
  await one('failed deploy (health gate) with rollback, 1 host', 'bench-cold-bad', true);
  return paths;
}

/** A dump backup of a small directory (tar into the local object store) and a health round. */
async function backupAndHealthPaths(lab: FixtureLab): Promise<ColdPath[]> {
  const { createLocalBackupEngine, createLocalHealthEngine } = await import('../functions/index.ts');
  const data = path.join(lab.host, 'data');
  await mkdir(data, { recursive: true });
  await writeFile(
    path.join(data, 'table.csv'),
    Array.from({ length: 2000 }, (_, i) => `${i},row ${i}`).join('\n'),
  );
  const target: TargetInput = {
    ...fixtureTarget({ name: 'bench-cold-ops', lab, steps: [{ name: 'noop', script: 'true' }] }),
    backup: [
      {
        name: 'data',
        type: 'dump',
        schedule: 'cron(0 2 * * ? *)',
        retention: { days: 7 },
        script: 'tar -C data -czf "$STEPOPS_DUMP_FILE" .',
        timeout: 120,
        bucket: 'bench-backups',
      },
    ],
  };
  registerTarget(target);
  const nothing = async () => {};
  const backup = createLocalBackupEngine();
  const dump = await warmRun(
    () => backup.start({ target: 'bench-cold-ops', backup: 'data', reason: 'bench' }).result,
    nothing,
  );
  const health = createLocalHealthEngine();
  let round = 0;
  const check = await warmRun(
    () =>
      health.start({ target: 'bench-cold-ops' }, { executionName: `bench-cold-health-${round++}` }).result,
    nothing,
  );
  return [
    pathOf('dump backup (tar of a 2,000-row table)', dump.result, dump.wallMs, 0),
    pathOf('health round (1 HTTP probe)', check.result, check.wallMs, 0),
  ];
}

/** The restart runbook on a health alert (approval answered at once, script, verify). */
async function recoveryPath(): Promise<ColdPath> {
  const { measureRecoveryCost } = await import('./recovery.ts');
  // Two runs: the first warms the handlers; the median by GB-s of two is their mean, so run 3.
  const { scenario, scriptMs: scripted } = await measureRecoveryCost({ runs: 3, log: () => {} });
  return {
    name: 'restart runbook on a health alert, 1 host',
    outcome: scenario.outcome,
    functions: Object.keys(scenario.usage.byFunction),
    invocations: scenario.usage.invocations,
    transitions: scenario.usage.transitions,
    wallMs: scenario.wallMs,
    waitMs: scripted,
    warmOverheadMs: scenario.wallMs - scripted,
  };
}

/**
 * Imports each bundle in fresh processes, `samples` rounds over all of them (so a change of load
 * touches every entry alike), and returns the samples by entry.
 */
async function importRounds(
  nodeBinary: string,
  files: readonly { id: string; file: string }[],
  samples: number,
): Promise<Map<string, number[]>> {
  const out = new Map(files.map((f) => [f.id, [] as number[]]));
  for (let i = 0; i < samples; i += 1) {
    for (const { id, file } of files) out.get(id)!.push(await coldImport(nodeBinary, file));
  }
  return out;
}

/**
 * Runs the five paths on the local engine, bundles every function they invoked, and times the
 * cold imports beside the baselines.
 *
 * @example
 * const section = await benchCold({ root, nodeBinary, outDir: '/tmp/cold', samples: 5, log: console.error });
 */
export async function benchCold(options: {
  root: string;
  nodeBinary: string;
  outDir: string;
  samples: number;
  log: (line: string) => void;
}): Promise<ColdSection> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const paths: ColdPath[] = [];
  await withStepopsHome(async () => {
    const lab = await createFixtureLab('cold');
    try {
      paths.push(...(await deployPaths(lab)));
      paths.push(...(await backupAndHealthPaths(lab)));
    } finally {
      clearRegisteredTargets();
      await lab.dispose();
    }
    paths.push(await recoveryPath());
  });
  for (const p of paths) {
    options.log(
      `  ${p.name}: ${p.outcome}, ${p.functions.length} functions (${p.functions.join(', ')}), warm overhead ${p.warmOverheadMs.toFixed(0)} ms`,
    );
  }
  const names = [...new Set(paths.flatMap((p) => p.functions))].sort();
  await rm(options.outDir, { recursive: true, force: true });
  await mkdir(options.outDir, { recursive: true });
  const files: { id: string; file: string }[] = [];
  const bundles = new Map<string, { bytes: number; services: string[] }>();
  // Built as the stacks build them: the targets plugin and the SDK schema plugin.
  const plugins = await targetsPlugins(options.root);
  const baselines = BASELINES.filter((b) => b.id === ONE_CLIENT_BASELINE || b.id === LOGGER_BASELINE);
  for (const b of baselines) {
    const built = await buildLambda({
      root: options.root,
      plugins,
      stdin: b.source,
      outdir: path.join(options.outDir, b.id),
    });
    bundles.set(b.id, { bytes: built.bytes, services: [] });
    files.push({ id: b.id, file: built.entryFile });
  }
  for (const name of names) {
    // A cold start imports the entry file; its static chunks load with it, the chunks of dynamic
    // imports (rare paths) do not.
    const built = await buildLambda({
      root: options.root,
      plugins,
      entry: path.join('functions', name, 'handler.ts'),
      outdir: path.join(options.outDir, name),
    });
    bundles.set(name, { bytes: built.bytes, services: awsServices(built.metafile) });
    files.push({ id: name, file: built.entryFile });
  }
  const samples = await importRounds(options.nodeBinary, files, options.samples);
  await rm(options.outDir, { recursive: true, force: true });
  const section: ColdSection = {
    status: 'ok',
    samplesPerFunction: options.samples,
    baselines: baselines.map((b) => ({
      id: b.id,
      label: b.label,
      bytes: bundles.get(b.id)!.bytes,
      coldImportMs: Math.min(...samples.get(b.id)!),
      medianMs: median(samples.get(b.id)!),
      samplesMs: samples.get(b.id)!,
    })),
    functions: names.map((name) => ({
      name,
      ...bundles.get(name)!,
      coldImportMs: Math.min(...samples.get(name)!),
      medianMs: median(samples.get(name)!),
      samplesMs: samples.get(name)!,
    })),
    paths,
    notes: [
      "Functions on a path: the distinct `functionName`s of the invocations the local engine recorded in a real run of the workflow with the real handlers of `functions/` and the local drivers (bash in a temporary host directory, an HTTP server on 127.0.0.1, the local object store); a function invoked several times (poll loops, retries) starts cold once. The restart runbook adds answer-approval, the Lambda behind the approval link, which the operator's click starts.",
      `Cold import: each function bundled as the stack bundles it (esbuild, minified ESM, AWS SDK inside) and imported in a fresh Node process (\`await import()\` timed inside it); ${options.samples} rounds over the baselines and all the functions in turn, so that a change of load touches them alike. Each figure is the fastest of its samples (load only ever slows an import, and the machine is shared), the median beside it. A Lambda's cold start adds the runtime's own start (not measured here) to this import.`,
      "Warm overhead: the wall time of the second of two runs in the same process (the first warms every handler) minus what the run waits for by design: the deploy and runbook scripts time themselves (`date +%s%N` around their work, 1 s of `sleep` in each install and restart step), and the failed deploy's health gate waits for the broken app up to its timeout (its check-health time). The dump and the health round wait for nothing: their wall time is the overhead (the tar and the probe included).",
      'Cost: the deploy runs priced as in section 1 (Standard transitions and Lambda GB-s at the memory of stacks/workflows.ts).',
    ],
  };
  return section;
}
