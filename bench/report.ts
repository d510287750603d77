/**
 * The shape of `bench/results.json`, and its renderings: the console table and `bench/RESULTS.md`.
 */
import type { RunCost } from '../shared/cost/pricing.ts';
import type { UsageReport } from '../shared/cost/usage.ts';
import { type BundleKind, type BundleResult, baselineFor, type ImportVariant } from './bundles.ts';
import { type ColdSection, coldFigures, coldGoals, ONE_CLIENT_BASELINE } from './cold-figures.ts';
import type { ConsoleSection } from './console.ts';

/** A section that did not run says why. */
export interface NotRun {
  status: 'not-run';
  reason: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
  /** 1, 5 and 15 minute load averages when the benchmark started and ended (others may share the machine). */
  loadAverage: { start: number[]; end: number[] };
}

export interface CostScenario {
  name: string;
  /** How the execution ended (`succeeded`, `failed`, …) and its output's outcome when it has one. */
  outcome: string;
  wallMs: number;
  usage: UsageReport;
  cost: RunCost;
}

export interface ScheduleCost {
  target: string;
  kind: 'health' | 'backup';
  name: string;
  schedule: string;
  runsPerMonth: number;
  /** Monthly dollars at list price, or why there is no figure. */
  monthly: number | null;
  /**
   * Monthly dollars with the free tiers every account has each month (Scheduler invocations,
   * Lambda requests and GB-seconds), as if nothing else in the account used them.
   */
  freeTierMonthly?: number;
  note: string;
}

export interface CostSection {
  status: 'ok';
  memoryNote: string;
  /** How the scenarios were set up. */
  notes: string[];
  scenarios: CostScenario[];
  schedules: ScheduleCost[];
  anchors: { syntheticsPerRun: number; route53PerMonth: { low: number; high: number } };
}

export interface OverheadRow {
  sleepSeconds: number;
  runs: number;
  wallMs: number[];
  scriptMs: number[];
  overheadMs: number[];
  /** Per run: end of the script → end of the poll Task that saw it. */
  detectionMs: number[];
  medianOverheadMs: number;
}

export interface OverheadSection {
  status: 'ok';
  note: string;
  goalMs: number;
  /** One series per poll schedule of the poll Lambda (`as built: 250 → 1000 ms backoff`, `fixed 100 ms`, …). */
  byInterval: { interval: string; asBuilt: boolean; longestPauseMs: number; rows: OverheadRow[] }[];
}

export interface BundlesSection {
  status: 'ok';
  goals: Readonly<Record<BundleKind, { bytes?: number; coldImportMs: number }>>;
  samplesPerFunction: number;
  results: BundleResult[];
  /**
   * Baselines measured in the same run (`BASELINES`): cold import the median of the two
   * measurements, taken before and after the functions (`coldImportRangeMs`).
   */
  baselines: (ImportVariant & { coldImportRangeMs?: [number, number] })[];
  importVariants: ImportVariant[];
}

export interface EngineSection {
  status: 'ok';
  executions: number;
  seconds: number;
  perSecond: number;
  transitionsPerExecution: number;
  note: string;
}

export interface BenchResults {
  date: string;
  command: string;
  machine: Machine;
  totalSeconds: number;
  cost: CostSection | NotRun;
  overhead: OverheadSection | NotRun;
  bundles: BundlesSection | NotRun;
  engine: EngineSection | NotRun;
  /** The web console's page weight and first render (absent in results from before it existed). */
  console?: ConsoleSection | NotRun;
  /** Each workflow's common path with every Lambda cold (absent in results from before it existed). */
  cold?: ColdSection | NotRun;
  /** Sections kept from an earlier run by a partial run (`--only … --write`), and that run. */
  keptSections?: { sections: string[]; from: string; command: string; machine?: Machine }[];
  /** Notes on figures that miss their goals: why, and what would fix it. */
  misses: string[];
}

const dollars = (value: number): string => {
  if (value === 0) return '$0';
  if (value >= 0.01) return `$${value.toFixed(2)}`;
  return `$${value.toPrecision(3)}`;
};
/** A schedule's month: at list price, and with the free tiers where they are priced. */
const monthlyCell = (list: number, freeTiers: number | undefined): string =>
  freeTiers === undefined
    ? dollars(list)
    : `$${list.toFixed(3)} at list price, $${freeTiers.toFixed(3)} with the monthly free tiers`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (value: number | null): string => (value === null ? '—' : `${value.toFixed(0)} ms`);

/** Pads cells into aligned columns (plain text). */
function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

function markdownTable(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function costRows(section: CostSection): { header: string[]; rows: string[][] } {
  return {
    header: [
      'run',
      'outcome',
      'transitions',
      'invocations',
      'GB-s',
      'Step Functions',
      'Lambda',
      'per run',
      'per 1,000 runs',
    ],
    rows: section.scenarios.map((s) => [
      s.name,
      s.outcome,
      String(s.usage.transitions),
      String(s.usage.invocations),
      s.usage.gbSeconds.toFixed(3),
      dollars(s.cost.stepFunctions),
      dollars(s.cost.lambdaRequests + s.cost.lambdaCompute),
      dollars(s.cost.total),
      dollars(s.cost.total * 1000),
    ]),
  };
}

function overheadRows(section: OverheadSection): { header: string[]; rows: string[][] } {
  const sleeps = [...new Set(section.byInterval.flatMap((b) => b.rows.map((r) => r.sleepSeconds)))];
  return {
    header: ['poll interval', ...sleeps.map((s) => `S = ${s} s`)],
    rows: section.byInterval.map((b) => [
      b.interval,
      ...sleeps.map((s) => {
        const row = b.rows.find((r) => r.sleepSeconds === s);
        return row ? `${ms(row.medianOverheadMs)} (n=${row.runs})` : '—';
      }),
    ]),
  };
}

/** Whether a figure meets its goal: `ok`, `over`, or `—` when there is no goal or no figure. */
function verdict(value: number | null | undefined, goal: number | undefined): string {
  if (value === null || value === undefined || goal === undefined) return '—';
  return value < goal ? 'ok' : 'over';
}

function bundleRows(section: BundlesSection): { header: string[]; rows: string[][] } {
  const baseline = (kind: BundleKind | undefined) =>
    section.baselines.find((v) => v.id === baselineFor(kind))?.coldImportMs;
  return {
    header: [
      'function',
      'calls',
      'bundle at cold start (goal) + loaded on first use',
      'cold import median (fastest) (goal)',
      '× baseline',
      'SDK external: bundle, cold import',
      'heaviest inputs',
    ],
    rows: section.results.map((b) => [
      b.name,
      `${b.services?.length ? b.services.join(', ') : 'no AWS'}${b.targetModel ? '; reads a target' : ''}`,
      b.error && b.bytes === 0
        ? 'build failed'
        : `${kb(b.bytes)} (${b.kind && section.goals[b.kind].bytes !== undefined ? `< ${kb(section.goals[b.kind].bytes!)}: ${verdict(b.bytes, section.goals[b.kind].bytes)}` : 'no goal'})${b.lazyBytes ? ` + ${kb(b.lazyBytes)} lazy${b.lazyServices?.length ? ` (${b.lazyServices.join(', ')})` : ''}` : ''}`,
      b.error
        ? `error: ${b.error}`
        : `${ms(b.coldImportMs)}${b.coldImportMinMs !== undefined ? ` (${ms(b.coldImportMinMs)})` : ''}${b.kind ? ` (< ${section.goals[b.kind].coldImportMs} ms: ${verdict(b.coldImportMs, section.goals[b.kind].coldImportMs)})` : ''}`,
      b.coldImportMs !== null && baseline(b.kind)
        ? `${(b.coldImportMs / baseline(b.kind)!).toFixed(1)}× ${baselineFor(b.kind) === 'baseline-logger' ? 'middy+logger' : 'one client'}`
        : '—',
      b.sdkExternal
        ? b.sdkExternal.error
          ? `error: ${b.sdkExternal.error}`
          : `${kb(b.sdkExternal.bytes)}, ${ms(b.sdkExternal.coldImportMs)}`
        : '—',
      b.topInputs
        .slice(0, 3)
        .map((t) => `${t.name} ${kb(t.bytes)}`)
        .join(', '),
    ]),
  };
}

/** What the cost figures say, computed from them: which line item dominates and why. */
function costReading(section: CostSection): string[] {
  if (section.scenarios.length === 0) return [];
  const shares = section.scenarios.map((s) => (s.cost.total > 0 ? s.cost.stepFunctions / s.cost.total : 0));
  const waits = section.scenarios.map((s) => {
    const waiting = ['poll-command', 'check-health']
      .map((name) => s.usage.byFunction[name]?.gbSeconds ?? 0)
      .reduce((a, b) => a + b, 0);
    return s.usage.gbSeconds > 0 ? waiting / s.usage.gbSeconds : 0;
  });
  const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
  return [
    `Reading: state transitions are ${pct(Math.min(...shares))}–${pct(Math.max(...shares))} of the cost of a run; Lambda requests and GB-seconds the rest. Of the GB-seconds, ${pct(Math.min(...waits))}–${pct(Math.max(...waits))} are poll-command and check-health waiting inside their long-polls (billed while they wait), so a longer deploy script costs GB-seconds in proportion, while transitions grow only with hosts' batches and poll loops (one more WaitForDeploy + Choice per 50 s of script).`,
  ];
}

/**
 * The console report: one block per section, aligned columns.
 *
 * @example
 * console.log(renderConsole(results));
 */
export function renderConsole(r: BenchResults): string {
  const out: string[] = [
    `stepops bench — ${r.date} — ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB, Node ${r.machine.node}, load ${r.machine.loadAverage.start[0]} → ${r.machine.loadAverage.end[0]} — ${r.totalSeconds.toFixed(0)} s`,
    '',
    '(1) AWS cost per run (list prices)',
  ];
  if (r.cost.status === 'ok') {
    const t = costRows(r.cost);
    out.push(...columns([t.header, ...t.rows]).map((l) => `    ${l}`));
    out.push(`    ${r.cost.memoryNote}`);
    const byTarget = new Map<string, { health: number; backup: number; priced: number; monthly: number }>();
    for (const s of r.cost.schedules) {
      const entry = byTarget.get(s.target) ?? { health: 0, backup: 0, priced: 0, monthly: 0 };
      entry[s.kind] += 1;
      if (s.monthly !== null) {
        entry.priced += 1;
        entry.monthly += s.monthly;
      }
      byTarget.set(s.target, entry);
    }
    for (const [target, e] of byTarget) {
      out.push(
        `    schedules of ${target}: ${e.health} health, ${e.backup} backup — ${e.priced === 0 ? 'no figure: health and backup workflows not built yet' : `${dollars(e.monthly)}/month for ${e.priced} priced`} (see RESULTS.md)`,
      );
    }
    for (const s of r.cost.schedules) {
      if (s.monthly !== null && s.freeTierMonthly !== undefined && s.target === '(any)') {
        out.push(`    ${s.kind}, ${s.name}, ${s.schedule}: ${monthlyCell(s.monthly, s.freeTierMonthly)}`);
      }
    }
    out.push(
      `    anchors: CloudWatch Synthetics ${dollars(r.cost.anchors.syntheticsPerRun)} per canary run; Route 53 health check ${dollars(r.cost.anchors.route53PerMonth.low)}–${dollars(r.cost.anchors.route53PerMonth.high)} per month`,
    );
  } else out.push(`    not run: ${r.cost.reason}`);

  out.push('', '(2) Orchestration overhead: wall time − script time, median (goal < 1 s)');
  if (r.overhead.status === 'ok') {
    const t = overheadRows(r.overhead);
    out.push(...columns([t.header, ...t.rows]).map((l) => `    ${l}`));
  } else out.push(`    not run: ${r.overhead.reason}`);

  out.push('', '(3) Lambda bundles (goals by what each calls)');
  if (r.bundles.status === 'ok') {
    const t = bundleRows(r.bundles);
    out.push(...columns([t.header, ...t.rows]).map((l) => `    ${l}`));
    // The baselines the × column divides by, measured in this run (before and after the functions).
    for (const b of r.bundles.baselines)
      out.push(
        `    ${b.label}: ${kb(b.bytes)}, cold import ${ms(b.coldImportMs ?? null)}${b.coldImportRangeMs ? ` (${b.coldImportRangeMs.map((x) => ms(x)).join(' before, ')} after the functions)` : ''}`,
      );
  } else out.push(`    not run: ${r.bundles.reason}`);

  out.push('', '(4) Local engine, deploy workflow with no-op handlers');
  if (r.engine.status === 'ok') {
    out.push(
      `    ${r.engine.perSecond.toFixed(1)} executions/s (${r.engine.executions} executions in ${r.engine.seconds.toFixed(2)} s, ${r.engine.transitionsPerExecution} transitions each)`,
    );
  } else out.push(`    not run: ${r.engine.reason}`);

  out.push('', '(5) Web console, pages of the demo lab in headless chromium');
  if (r.console?.status === 'ok') {
    out.push(...columns(consoleRows(r.console)).map((l) => `    ${l}`));
  } else out.push(`    not run: ${r.console?.reason ?? 'not measured yet'}`);

  out.push('', '(6) Cold runs: distinct Lambdas on each path, summed cold import, warm overhead');
  if (r.cold?.status === 'ok') {
    const t = coldPathRows(r.cold);
    out.push(...columns([t.header, ...t.rows]).map((l) => `    ${l}`));
    out.push(...coldGoals(r.cold).map((g) => `    ${g.met ? 'met' : 'MISSED'}: ${g.goal}: ${g.measured}`));
  } else out.push(`    not run: ${r.cold?.reason ?? 'not measured yet'}`);

  if (r.misses.length > 0) out.push('', 'Goals missed:', ...r.misses.map((m) => `  - ${m}`));
  return out.join('\n');
}

/** The cold-run table: one row per path, figures and ratios to the one-client baseline. */
function coldPathRows(c: ColdSection): { header: string[]; rows: string[][] } {
  const baseline = c.baselines.find((b) => b.id === ONE_CLIENT_BASELINE)!.coldImportMs;
  const byName = Object.fromEntries(c.functions.map((f) => [f.name, f.coldImportMs]));
  return {
    header: [
      'path',
      'outcome',
      'cold Lambdas',
      'summed cold import',
      '× baseline',
      'warm overhead',
      '× baseline',
      'cold ÷ warm',
    ],
    rows: c.paths.map((p) => {
      const f = coldFigures(p, byName, baseline);
      return [
        p.name,
        p.outcome,
        String(f.coldFunctions),
        ms(f.coldImportSumMs),
        `${f.coldImportBaselines.toFixed(1)}×`,
        ms(p.warmOverheadMs),
        `${f.warmOverheadBaselines.toFixed(1)}×`,
        `${(f.coldImportSumMs / p.warmOverheadMs).toFixed(1)}`,
      ];
    }),
  };
}

/** Section 6 of RESULTS.md: the cold runs. */
function coldMarkdown(c: ColdSection): string[] {
  const baseline = c.baselines.find((b) => b.id === ONE_CLIENT_BASELINE)!.coldImportMs;
  const t = coldPathRows(c);
  return [
    `Every Lambda on a workflow's common path started cold, as on AWS for a team that deploys a few times a day. Cold imports are the fastest of each bundle's samples; ratios divide by the one-client baseline imported in the same rounds (${ms(baseline)} in this run).`,
    '',
    ...markdownTable(t.header, t.rows),
    '',
    ...markdownTable(
      [
        'path',
        'functions (first invocation order)',
        'invocations',
        'transitions',
        'wall (warm)',
        'waits by design',
        'cost',
      ],
      c.paths.map((p) => [
        p.name,
        p.functions.join(', '),
        String(p.invocations),
        String(p.transitions),
        ms(p.wallMs),
        ms(p.waitMs),
        p.costUsd === undefined ? '—' : dollars(p.costUsd),
      ]),
    ),
    '',
    ...markdownTable(
      ['bundle', 'calls', 'size', 'cold import (fastest)', 'median', '× baseline', 'samples (ms)'],
      [
        ...c.baselines.map((b) => [
          b.label,
          '—',
          kb(b.bytes),
          ms(b.coldImportMs),
          ms(b.medianMs ?? null),
          '',
          b.samplesMs.map((v) => v.toFixed(0)).join(', '),
        ]),
        ...c.functions.map((f) => [
          f.name,
          f.services.join(', ') || 'no AWS',
          kb(f.bytes),
          ms(f.coldImportMs),
          ms(f.medianMs ?? null),
          `${(f.coldImportMs / baseline).toFixed(2)}×`,
          f.samplesMs.map((v) => v.toFixed(0)).join(', '),
        ]),
      ],
    ),
    '',
    'Goals (issue 23 §3):',
    '',
    ...coldGoals(c).map((g) => `- ${g.met ? 'met' : '**missed**'}: ${g.goal}: ${g.measured}.`),
    '',
    ...c.notes.map((n) => `- ${n}`),
    '',
  ];
}

function consoleRows(c: ConsoleSection): string[][] {
  return [
    ['page', 'path', 'weight', 'requests', 'first byte', 'first paint (range)'],
    ...c.pages.map((p) => [
      p.page,
      p.path,
      kb(p.bytes),
      String(p.requests),
      `${p.firstByteMs.toFixed(0)} ms`,
      `${p.firstPaintMs.toFixed(0)} ms (${p.firstPaintRangeMs[0].toFixed(0)}–${p.firstPaintRangeMs[1].toFixed(0)})`,
    ]),
  ];
}

/**
 * `bench/RESULTS.md`: the figures, the machine, the command, the date, and why a goal was missed.
 *
 * @example
 * await writeFile('bench/RESULTS.md', renderMarkdown(results));
 */
export function renderMarkdown(r: BenchResults, methodology: string): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    `Generated by \`${r.command}\` on ${r.date} in ${r.totalSeconds.toFixed(0)} s. Raw figures: [results.json](results.json).`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB memory, ${r.machine.platform}; Node ${r.machine.node}. Load average (1, 5, 15 min) ${r.machine.loadAverage.start.join(', ')} at the start and ${r.machine.loadAverage.end.join(', ')} at the end: a load near or above the core count means other work shared the CPU and timings are pessimistic.`,
    '',
    ...(r.keptSections ?? []).flatMap((k) => [
      `Not measured by this run, kept from \`${k.command}\` of ${k.from}${k.machine ? ` (${k.machine.cpu}, ${k.machine.cores} cores, load ${k.machine.loadAverage.start.join(', ')} → ${k.machine.loadAverage.end.join(', ')})` : ''}: ${k.sections.join(', ')} (their notes may name later partial runs).`,
      '',
    ]),
    '## 1. AWS cost per run',
    '',
  ];
  if (r.cost.status === 'ok') {
    const t = costRows(r.cost);
    out.push(
      ...markdownTable(t.header, t.rows),
      '',
      r.cost.memoryNote,
      '',
      ...r.cost.notes.map((n) => `- ${n}`),
      '',
    );
    out.push(...costReading(r.cost), '');
    out.push('Lambda time by function (all scenarios above, summed per scenario):', '');
    out.push(
      ...markdownTable(
        ['run', 'function', 'invocations', 'handler time', 'memory', 'GB-s'],
        r.cost.scenarios.flatMap((s) =>
          Object.entries(s.usage.byFunction).map(([name, f]) => [
            s.name,
            name,
            String(f.invocations),
            `${f.durationMs.toFixed(0)} ms`,
            `${f.memoryMb} MB`,
            f.gbSeconds.toFixed(4),
          ]),
        ),
      ),
      '',
    );
    out.push('### Schedules, per month', '');
    if (r.cost.schedules.length === 0) out.push('No target declares a schedule.', '');
    else {
      out.push(
        ...markdownTable(
          ['target', 'kind', 'name', 'schedule', 'runs/month', 'per month'],
          r.cost.schedules.map((s) => [
            s.target,
            s.kind,
            s.name,
            `\`${s.schedule}\``,
            s.runsPerMonth.toFixed(0),
            s.monthly === null ? s.note : `${monthlyCell(s.monthly, s.freeTierMonthly)} (${s.note})`,
          ]),
        ),
        '',
      );
    }
    out.push(
      `Anchors: CloudWatch Synthetics ${dollars(r.cost.anchors.syntheticsPerRun)} per canary run (${dollars(r.cost.anchors.syntheticsPerRun * 43_800)} a month at one run a minute); a Route 53 health check ${dollars(r.cost.anchors.route53PerMonth.low)}–${dollars(r.cost.anchors.route53PerMonth.high)} a month.`,
      '',
    );
  } else out.push(`Not run: ${r.cost.reason}`, '');

  out.push('## 2. Orchestration overhead', '');
  if (r.overhead.status === 'ok') {
    const t = overheadRows(r.overhead);
    out.push(
      `Median of (wall time of the deploy − time its script ran), goal < ${r.overhead.goalMs} ms whatever S.`,
      '',
      ...markdownTable(t.header, t.rows),
      '',
      r.overhead.note,
      '',
      'Samples (ms):',
      '',
      ...markdownTable(
        ['poll interval', 'S', 'wall', 'script', 'overhead', 'of which detection'],
        r.overhead.byInterval.flatMap((b) =>
          b.rows.map((row) => [
            b.interval,
            `${row.sleepSeconds} s`,
            row.wallMs.map((v) => v.toFixed(0)).join(', '),
            row.scriptMs.map((v) => v.toFixed(0)).join(', '),
            row.overheadMs.map((v) => v.toFixed(0)).join(', '),
            row.detectionMs.map((v) => v.toFixed(0)).join(', '),
          ]),
        ),
      ),
      '',
    );
  } else out.push(`Not run: ${r.overhead.reason}`, '');

  out.push('## 3. Lambda bundle size and cold import', '');
  if (r.bundles.status === 'ok') {
    const t = bundleRows(r.bundles);
    const g = r.bundles.goals;
    const counts = (kind: BundleKind) =>
      r.bundles.status === 'ok' ? r.bundles.results.filter((b) => b.kind === kind).length : 0;
    out.push(
      `Goals: a function that makes no AWS call (${counts('no-aws')} here) < ${kb(g['no-aws'].bytes!)} and cold import < ${g['no-aws'].coldImportMs} ms; one that calls one service (${counts('one-service')}) < ${kb(g['one-service'].bytes!)} and < ${g['one-service'].coldImportMs} ms; one that calls several (${counts('several-services')}) cold import < ${g['several-services'].coldImportMs} ms (no size goal). Cold import: median of ${r.bundles.samplesPerFunction} fresh processes. What a function calls is read from its bundle (the \`@aws-sdk/client-*\` packages in it), not kept by hand; "reads a target" means the bundle holds the target model (${'`shared/config/schema.ts`'}, on zod/mini).`,
      '',
      'Baselines, measured in the same run (before and after the functions; the × baseline column divides by their median):',
      '',
      ...markdownTable(
        ['baseline', 'bundle', 'cold import (before, after)'],
        r.bundles.baselines.map((v) => [
          v.label,
          kb(v.bytes),
          `${ms(v.coldImportMs ?? null)}${v.coldImportRangeMs ? ` (${v.coldImportRangeMs.map((x) => ms(x)).join(', ')})` : ''}`,
        ]),
      ),
      '',
      ...markdownTable(t.header, t.rows),
      '',
      'What one import costs, bundled alone the same way (minified, ESM):',
      '',
      ...markdownTable(
        ['import', 'bundle', 'cold import (median)'],
        r.bundles.importVariants.map((v) => [
          v.label.replaceAll('|', '\\|'),
          kb(v.bytes),
          v.coldImportMs === undefined ? '—' : ms(v.coldImportMs),
        ]),
      ),
      '',
    );
  } else out.push(`Not run: ${r.bundles.reason}`, '');

  out.push('## 4. Local engine', '');
  if (r.engine.status === 'ok') {
    out.push(
      `${r.engine.perSecond.toFixed(1)} executions per second of the deploy workflow (${r.engine.executions} executions in ${r.engine.seconds.toFixed(2)} s, ${r.engine.transitionsPerExecution} state transitions each). ${r.engine.note}`,
      '',
    );
  } else out.push(`Not run: ${r.engine.reason}`, '');

  out.push('## 5. Web console', '');
  if (r.console?.status === 'ok') {
    const rows = consoleRows(r.console);
    out.push(
      `\`stepops console\` over the demo's lab (\`stepops demo\` run first), each page loaded ${r.console.samplesPerPage} times in headless ${r.console.browser}; medians. Weight: the bytes of the HTML document, which is all a page loads (styles and the charts are inline, no script library, no font, no image). First byte: navigation start to the first byte (the server reading the runs, health state and catalogue and rendering). First paint: navigation start to the first contentful paint, as the page's Performance API reports it.`,
      '',
      `| ${rows[0]!.join(' | ')} |`,
      `|${rows[0]!.map(() => '---').join('|')}|`,
      ...rows.slice(1).map((row) => `| ${row.join(' | ')} |`),
      '',
    );
  } else out.push(`Not run: ${r.console?.reason ?? 'not measured yet'}`, '');

  out.push('## 6. Cold runs', '');
  if (r.cold?.status === 'ok') out.push(...coldMarkdown(r.cold));
  else out.push(`Not run: ${r.cold?.reason ?? 'not measured yet'}`, '');

  out.push('## Goals missed', '');
  if (r.misses.length === 0) out.push('None.', '');
  else out.push(...r.misses.map((m) => `- ${m}`), '');
  out.push('## How it is measured', '', methodology.trim(), '');
  return out.join('\n');
}
