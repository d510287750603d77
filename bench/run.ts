/**
 * `npm run bench`: the four benchmarks of issue 5, a table on stdout, `bench/RESULTS.md` and
 * `bench/results.json`.
 *
 * Options: `--only cost,overhead,bundles,cold,engine,console` runs some sections (the files are then not
 * written unless `--write` is given, and the other sections are kept from bench/results.json);
 * `--quick` takes fewer samples (a smoke run); `--render` writes bench/RESULTS.md again from
 * bench/results.json without measuring.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { discoverTargets } from '../shared/config/registry.ts';
import {
  BASELINES,
  BUNDLE_GOALS,
  benchBundles,
  IMPORT_VARIANTS,
  measureImportVariants,
  sdkExternalDir,
} from './bundles.ts';
import { METHODOLOGY } from './methodology.ts';
import type { BenchResults, BundlesSection, NotRun } from './report.ts';
import { renderConsole, renderMarkdown } from './report.ts';
import { median } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
// The benchmarks read the repository's example targets, as the CLI finds them.
await discoverTargets(path.join(ROOT, 'targets'));
const SECTIONS = ['cost', 'overhead', 'bundles', 'cold', 'engine', 'console'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
  },
});

// `--render`: bench/RESULTS.md again from bench/results.json (the goals missed recomputed), no measurement.
if (values.render) {
  const { findMisses } = await import('./misses.ts');
  const saved = JSON.parse(await readFile(path.join(ROOT, 'bench', 'results.json'), 'utf8')) as BenchResults;
  saved.misses = findMisses(saved);
  await writeFile(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(saved, null, 2)}\n`);
  await writeFile(path.join(ROOT, 'bench', 'RESULTS.md'), renderMarkdown(saved, METHODOLOGY));
  process.stderr.write('[bench] rendered bench/RESULTS.md from bench/results.json\n');
  process.exit(0);
}
const only = new Set(
  (values.only ?? SECTIONS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const s of only) {
  if (!(SECTIONS as readonly string[]).includes(s)) {
    console.error(`unknown section "${s}" (expected ${SECTIONS.join(', ')})`);
    process.exit(2);
  }
}
const quick = values.quick;
const writeFiles = values.write || (values.only === undefined && !quick);

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function section<T>(name: Section, fn: () => Promise<T>): Promise<T | NotRun> {
  if (!only.has(name)) return { status: 'not-run', reason: 'not selected (--only)' };
  const started = performance.now();
  log(`[bench] ${name}…`);
  try {
    const result = await fn();
    log(`[bench] ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    log(`[bench] ${name} not run: ${reason}`);
    if (process.env.BENCH_DEBUG && error instanceof Error) log(error.stack ?? '');
    return { status: 'not-run', reason };
  }
}

const nodeBinary = path.join(ROOT, 'node_modules', '.bin', 'node');
const loadAtStart = os.loadavg();
const started = performance.now();

// Bundles first: they spawn processes and should not share the CPU with a running engine.
const bundles = await section('bundles', async (): Promise<BundlesSection> => {
  const samples = quick ? 2 : 5;
  const outDir = path.join(os.tmpdir(), 'stepops-bench-bundles');
  try {
    const timing = { nodeBinary, outDir, samples };
    // The baselines before and after the functions, so that a change of load shows as a spread.
    const before = await measureImportVariants(ROOT, BASELINES, timing);
    const results = await benchBundles({ root: ROOT, outDir, nodeBinary, samples, top: 5, log });
    if (results.length === 0) throw new Error('no functions/<name>/handler.ts to bundle');
    const after = await measureImportVariants(ROOT, BASELINES, timing);
    const baselines = before.map((b, i) => ({
      ...b,
      coldImportMs: median([b.coldImportMs ?? 0, after[i]?.coldImportMs ?? 0]),
      coldImportRangeMs: [b.coldImportMs ?? 0, after[i]?.coldImportMs ?? 0] as [number, number],
    }));
    return {
      status: 'ok',
      goals: BUNDLE_GOALS,
      samplesPerFunction: samples,
      results,
      baselines,
      importVariants: await measureImportVariants(ROOT, IMPORT_VARIANTS, { nodeBinary, outDir, samples }),
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
    await rm(sdkExternalDir(ROOT), { recursive: true, force: true });
  }
});
// The cold runs time imports too: before the engine benchmarks load the CPU.
const cold = await section('cold', async () =>
  (await import('./cold.ts')).benchCold({
    root: ROOT,
    nodeBinary,
    outDir: path.join(os.tmpdir(), 'stepops-bench-cold'),
    samples: quick ? 2 : 5,
    log,
  }),
);
const engine = await section('engine', async () => (await import('./engine.ts')).benchEngine({ quick, log }));
const cost = await section('cost', async () => (await import('./cost.ts')).benchCost({ quick, log }));
const overhead = await section('overhead', async () =>
  (await import('./overhead.ts')).benchOverhead({ quick, log }),
);
const consoleSection = await section('console', async () =>
  (await import('./console.ts')).benchConsole({ quick, log }),
);

const { findMisses } = await import('./misses.ts');
const { removeBenchHome } = await import('./harness.ts');
await removeBenchHome();
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const results: BenchResults = {
  date: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine: {
    cpu,
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: {
      start: loadAtStart.map((v) => Number(v.toFixed(2))),
      end: os.loadavg().map((v) => Number(v.toFixed(2))),
    },
  },
  totalSeconds: (performance.now() - started) / 1000,
  cost,
  overhead,
  bundles,
  engine,
  console: consoleSection,
  cold,
  misses: [],
};
// A partial run that writes keeps the other sections from the results it replaces.
if (writeFiles && values.only !== undefined) {
  const resultsFile = path.join(ROOT, 'bench', 'results.json');
  const earlier = JSON.parse(await readFile(resultsFile, 'utf8').catch(() => '{}')) as Partial<BenchResults>;
  const kept: NonNullable<BenchResults['keptSections']> = [];
  for (const name of SECTIONS) {
    const previous = earlier[name];
    if (only.has(name) || !previous || previous.status !== 'ok') continue;
    (results as unknown as Record<Section, unknown>)[name] = previous;
    // The run a kept section comes from: the one that kept it already, or the earlier run itself.
    const source = earlier.keptSections?.find((k) => k.sections.includes(name)) ?? {
      from: earlier.date ?? 'an earlier run',
      command: earlier.command ?? 'npm run bench',
      ...(earlier.machine ? { machine: earlier.machine } : {}),
      sections: [],
    };
    const entry = kept.find((k) => k.from === source.from);
    if (entry) entry.sections.push(name);
    else kept.push({ ...source, sections: [name] });
  }
  if (kept.length > 0) results.keptSections = kept;
}
results.misses = findMisses(results);

console.log(renderConsole(results));
if (writeFiles) {
  await writeFile(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(path.join(ROOT, 'bench', 'RESULTS.md'), renderMarkdown(results, METHODOLOGY));
  log('[bench] wrote bench/RESULTS.md and bench/results.json');
}
// Local drivers may leave timers or servers behind; the benchmark is over.
process.exit(0);
