/**
 * Which figures miss their goals, each with the reason the measurements show and the fix they
 * point to. Pure: reads only the results.
 */
import { type BundleKind, type BundleResult, baselineFor } from './bundles.ts';
import { HEALTH_MONTHLY_GOAL, HEALTH_PRICES, monthlyHealthCost } from './health.ts';
import type { BenchResults, BundlesSection, CostSection } from './report.ts';
import { restOfOverhead } from './stats.ts';

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KB`;

/** Bytes a bundle's heaviest inputs give to a package (0 when it is not among them). */
function bytesOf(b: BundleResult, pkg: string): number {
  return b.topInputs.find((t) => t.name === pkg)?.bytes ?? 0;
}

const KIND_LABEL: Record<BundleKind, string> = {
  'no-aws': 'that make no AWS call',
  'one-service': 'that call one AWS service',
  'several-services': 'that call several AWS services',
};

/** The functions of a kind over its size goal, with what the measurements say about why. */
function sizeMisses(r: BundlesSection, kind: 'no-aws' | 'one-service'): string[] {
  const goal = r.goals[kind].bytes;
  const ofKind = r.results.filter((b) => b.kind === kind);
  if (goal === undefined) return [];
  const big = ofKind.filter((b) => b.bytes >= goal).sort((a, b) => b.bytes - a.bytes);
  if (big.length === 0) return [];
  const met = ofKind.filter((b) => b.bytes < goal);
  const notes = [
    `${big.length} of ${ofKind.length} functions ${KIND_LABEL[kind]} are over ${kb(goal)}: ${big.map((b) => `${b.name} ${kb(b.bytes)}`).join(', ')}${met.length ? ` (under it: ${met.map((b) => `${b.name} ${kb(b.bytes)}`).join(', ')})` : ''}.`,
  ];
  const baseline = r.baselines.find((v) => v.id === baselineFor(kind));
  const targetBytes = (b: BundleResult) =>
    (b.parts?.targetModel ?? 0) + (b.parts?.targets ?? 0) + (b.parts?.targetData ?? 0);
  const withModel = big.filter(
    (b) => b.targetModel && b.parts && (b.parts.targetModel > 0 || b.parts.targets > 0),
  );
  const withData = big.filter((b) => b.targetModel && (b.parts?.targetData ?? 0) > 0);
  if (withModel.length > 0) {
    const without = (b: BundleResult) => b.bytes - targetBytes(b);
    const under = withModel.filter((b) => without(b) < goal);
    const over = withModel.filter((b) => without(b) >= goal);
    notes.push(
      `Of these, ${withModel.map((b) => b.name).join(', ')} read a target: their bundles hold the target model with its loader (\`shared/config/schema.ts\`, on zod/mini like the contracts: ${rangeKb(withModel.map((b) => b.parts?.targetModel))}) and the targets (${rangeKb(withModel.map((b) => b.parts?.targets))}). What would take both out of the bundle is the targets validated when the stack is built and handed to the functions as plain data beside it (a JSON file the handler reads at start); without their bytes the bundles would be at most ${withModel.map((b) => `${b.name} ${kb(without(b))}`).join(', ')}${under.length ? `: ${under.map((b) => b.name).join(', ')} under ${kb(goal)}` : ''}${over.length ? `${under.length ? ';' : ':'} ${over.map((b) => b.name).join(', ')} still over it` : ''}.`,
    );
  }
  if (withData.length > 0) {
    notes.push(
      `Of these, ${withData.map((b) => b.name).join(', ')} read a target: their bundles hold the stage's targets as data, validated when the Lambdas were built (${rangeKb(withData.map((b) => b.parts?.targetData))} of JSON, parsed at start; neither the target model nor the target files); without it they would be at most ${withData.map((b) => `${b.name} ${kb(b.bytes - targetBytes(b))}`).join(', ')}. The data grows with the targets a stage serves, defaults included.`,
    );
  }
  const left = (b: BundleResult) => (b.targetModel && b.parts ? b.bytes - targetBytes(b) : b.bytes);
  const rest = big.filter((b) => left(b) >= goal);
  if (rest.length > 0 && baseline) {
    const fixes = rest.map((b) => {
      const messages = b.parts?.zodMessages ?? 0;
      const zod = b.parts?.zod ?? bytesOf(b, 'zod');
      const over = `${b.name} ${kb(left(b))}, over by ${kb(left(b) - goal)}`;
      if (left(b) - messages < goal)
        return `${over}: without zod's English messages (${kb(messages)}; issues would read only "Invalid input") ${kb(left(b) - messages)}`;
      if (left(b) - zod < goal)
        return `${over}: more than zod's English messages (${kb(messages)}), so only its input checked without zod/mini (${kb(zod)}) would meet it`;
      return `${over}: even without zod/mini (${kb(zod)}) ${kb(left(b) - zod)}, its own code and its client's commands`;
    });
    notes.push(
      `What is left${rest.some((b) => b.targetModel) ? ' (besides any target)' : ''} is ${kind === 'no-aws' ? 'middy and the Powertools logger' : 'one SDK client with middy and the logger'} (the baseline, ${kb(baseline.bytes)}), zod/mini with the schemas the function's contract uses (each contracts file builds its schemas by calls the bundler drops when unused), and the function's own code: ${fixes.join('; ')}.`,
    );
  }
  if (kind === 'one-service' && baseline) {
    const external = big.map((b) => b.sdkExternal?.bytes);
    notes.push(
      `One SDK client with middy and the logger alone is ${kb(baseline.bytes)} (the baseline: @smithy/core, the credential providers' nested clients, the client's schemas and errors), so the function's own code and libraries have ${kb(goal - baseline.bytes)} left. Leaving the SDK to the nodejs24.x runtime would bring them to ${rangeKb(external)}, but the SDK is kept bundled: loaded from node_modules it starts slower (below).`,
    );
  }
  return notes;
}

/** What the measured import variants say about the slow functions' module scope, and what would help. */
function importCosts(r: BundlesSection, slow: readonly BundleResult[], goal: number): string {
  const timed = (id: string) => r.importVariants.find((v) => v.id === id && v.coldImportMs !== undefined);
  const registry = timed('target-registry');
  const ec2 = timed('ec2');
  const parts: string[] = [];
  if (registry && slow.some((b) => b.targetModel)) {
    parts.push(
      `reading a target (the registry with the targets as data), bundled alone (${kb(registry.bytes)}), imports in ${registry.coldImportMs!.toFixed(0)} ms`,
    );
  }
  const withEc2 = slow.filter((b) => b.services?.includes('ec2'));
  if (ec2 && withEc2.length > 0) {
    const alone = ec2.coldImportMs!;
    parts.push(
      `one EC2 client alone (${kb(ec2.bytes)}) imports in ${alone.toFixed(0)} ms${alone >= goal ? `, over ${goal} ms by itself` : ''}, and ${withEc2.length} of these (${withEc2.map((b) => b.name).join(', ')}) bundle it${alone >= goal ? `: none of them can import in under ${goal} ms while the client's modules are evaluated at import; deferring them to the first EC2 call (a dynamic import) would meet the import goal but move that time into the first invocation, not remove it` : ''}`,
    );
  }
  return parts.length ? ` Measured beside them: ${parts.join('; ')}.` : '';
}

/** The functions of each kind that import cold slower than their goal. */
function coldMisses(r: BundlesSection): string[] {
  const notes: string[] = [];
  for (const kind of ['no-aws', 'one-service', 'several-services'] as const) {
    const goal = r.goals[kind].coldImportMs;
    const ofKind = r.results.filter((b) => b.kind === kind && b.coldImportMs !== null);
    const slow = ofKind
      .filter((b) => (b.coldImportMs ?? 0) >= goal)
      .sort((a, b) => (b.coldImportMs ?? 0) - (a.coldImportMs ?? 0));
    if (slow.length === 0) continue;
    const base = r.baselines.find((v) => v.id === baselineFor(kind));
    const range = base?.coldImportRangeMs?.map((ms) => ms.toFixed(0)).join(' and ');
    notes.push(
      `${slow.length} of ${ofKind.length} functions ${KIND_LABEL[kind]} import cold in ${goal} ms or more: ${slow.map((b) => `${b.name} ${b.coldImportMs?.toFixed(0)} ms (fastest ${b.coldImportMinMs?.toFixed(0) ?? '?'} ms)`).join(', ')}${base?.coldImportMs !== undefined ? `; the baseline (${base.label.replace(/^baseline: /, '')}) took ${base.coldImportMs.toFixed(0)} ms in the same run${range ? ` (${range} ms before and after the functions)` : ''}` : ''}. Import time follows what module scope evaluates: the SDK client's modules, where a target is read ${slow.some((b) => (b.parts?.targetModel ?? 0) > 0) ? "the target model's schemas and the targets" : 'the targets as JSON data'}, and the contracts' schemas.${importCosts(r, slow, goal)}${
        base?.coldImportMs !== undefined && base.coldImportMs >= goal
          ? ` The baseline itself is over ${goal} ms in this run: the machine's load, not only the code, puts these figures over the goal (compare the × baseline column).`
          : ''
      }`,
    );
  }
  const external = r.results.find((b) => b.sdkExternal?.coldImportMs != null);
  if (external?.sdkExternal?.coldImportMs != null && notes.length > 0) {
    notes.push(
      `Leaving the SDK external does not make the start faster by itself (${external.name}: ${external.coldImportMs?.toFixed(0)} ms bundled, ${external.sdkExternal.coldImportMs.toFixed(0)} ms with the SDK loaded from node_modules).`,
    );
  }
  return notes;
}

function rangeKb(values: readonly (number | undefined)[]): string {
  const known = values.filter((v): v is number => v !== undefined && v > 0);
  if (known.length === 0) return '?';
  const [low, high] = [kb(Math.min(...known)), kb(Math.max(...known))];
  return low === high ? low : `${low}–${high}`;
}

/** The health checks of ten endpoints every minute over their goal at list price, with what bills them. */
function healthCostMisses(cost: CostSection): string[] {
  const row = cost.schedules.find((s) => s.kind === 'health' && s.target === '(any)');
  if (!row || row.monthly === null || row.monthly < HEALTH_MONTHLY_GOAL) return [];
  const runs = row.runsPerMonth;
  const fixed = runs * HEALTH_PRICES.expressPerRequest;
  const oneRequest = { transitions: 0, invocations: 1, gbSeconds: 0, byFunction: {} };
  const floor = monthlyHealthCost(oneRequest, 1, runs).listPrice;
  const money = (value: number) => `$${value.toFixed(3)}`;
  return [
    `health checks of ${row.name} \`${row.schedule}\` cost ${money(row.monthly)} a month at list price (goal < ${money(HEALTH_MONTHLY_GOAL)}): the Express requests of ${runs.toLocaleString('en-US')} runs are ${money(fixed)}, and with the least a run can bill besides (100 ms of Express, one Lambda request) ${money(floor)}; the rest is the DynamoDB state item, read and written each run (a write unit per KB of the item, stored compressed: its probe states and the uptime counts of the day, as the note gives its size; the history adds one write a day), and the Lambda's GB-seconds, which grow with the round's slowest probe. With the free tiers every account has each month (Lambda) it is ${row.freeTierMonthly === undefined ? 'not priced' : money(row.freeTierMonthly)}, Express and DynamoDB alone (on-demand DynamoDB has no free request units).`,
  ];
}

/**
 * Lists the goals a run missed, one paragraph each, with the measured cause and the fix.
 *
 * @example
 * findMisses(results) // ['14 of 14 bundles exceed 300 KB …', …]
 */
export function findMisses(r: BenchResults): string[] {
  const misses: string[] = [];
  if (r.bundles.status === 'ok') {
    misses.push(
      ...sizeMisses(r.bundles, 'no-aws'),
      ...sizeMisses(r.bundles, 'one-service'),
      ...coldMisses(r.bundles),
    );
    for (const b of r.bundles.results.filter((x) => x.error))
      misses.push(`bundle ${b.name} could not be measured: ${b.error}`);
  }
  if (r.cost.status === 'ok') misses.push(...healthCostMisses(r.cost));
  if (r.overhead.status === 'ok') {
    for (const { interval, asBuilt, rows, longestPauseMs } of r.overhead.byInterval) {
      if (!asBuilt) continue;
      const rest = restOfOverhead(rows);
      const worst = rest === undefined ? undefined : rest + longestPauseMs;
      const measuredMax = Math.max(...rows.map((row) => row.medianOverheadMs));
      if (worst !== undefined && worst >= r.overhead.goalMs && measuredMax < r.overhead.goalMs) {
        const alternatives = r.overhead.byInterval
          .filter((b) => !b.asBuilt && b.longestPauseMs < longestPauseMs)
          .map((b) => {
            const max = Math.max(...b.rows.flatMap((row) => row.overheadMs));
            return `${b.interval}: at most ${max.toFixed(0)} ms measured`;
          });
        misses.push(
          `"Whatever S": with the poll schedule as built (${interval}) every measured median is under ${r.overhead.goalMs} ms (highest ${measuredMax.toFixed(0)} ms), but a script that ends just after a status read waits the longest pause, ${longestPauseMs} ms, plus the rest of the orchestration (${rest!.toFixed(0)} ms): about ${worst!.toFixed(0)} ms. Fix: a longest pause of 500 ms (COMMAND_POLL_MAX_MS), at the price of up to twice the status reads per running command${alternatives.length ? ` (${alternatives.join('; ')})` : ''}.`,
        );
      }
      for (const row of rows) {
        if (row.medianOverheadMs >= r.overhead.goalMs) {
          misses.push(
            `overhead with the poll schedule as built (${interval}) and S = ${row.sleepSeconds} s is ${row.medianOverheadMs.toFixed(0)} ms (goal < ${r.overhead.goalMs} ms), of which ${row.detectionMs.length ? Math.max(...row.detectionMs).toFixed(0) : '?'} ms at most waiting for the next status read. Fix: a shorter longest pause between reads (see the fixed schedules above).`,
          );
        }
      }
    }
  }
  return misses;
}
