/**
 * Which figures miss their goals, each with the reason the measurements show and the fix they
 * point to. Pure: reads only the results.
 */
import type { BundleResult, ImportVariant } from './bundles.ts';
import type { BenchResults } from './report.ts';
import { restOfOverhead } from './stats.ts';

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KB`;

function variant(variants: readonly ImportVariant[], id: string): number | undefined {
  return variants.find((v) => v.id === id)?.bytes;
}

/** Names of the bundles whose heaviest inputs include a package. */
function carrying(results: readonly BundleResult[], pkg: string): string[] {
  return results.filter((b) => b.topInputs.some((t) => t.name === pkg)).map((b) => b.name);
}

/** The functions whose steps call EC2, and so must carry its client. */
const EC2_CALLERS: readonly string[] = [
  'resolve-hosts',
  'create-snapshots',
  'check-health',
  // Backups: EBS snapshots (create, describe, delete) and the instances a dump or restore test runs on.
  'start-backup',
  'poll-backup',
  'prune-backups',
  'start-restore-test',
];

/** The diagnosis of oversized bundles, from the metafiles and the import variants. */
function bundleDiagnosis(
  results: readonly BundleResult[],
  variants: readonly ImportVariant[],
  goal: number,
): string[] {
  const notes: string[] = [];
  const zodWhole = variant(variants, 'zod-z-object');
  const zodNamespace = variant(variants, 'zod-namespace');
  const zodMini = variant(variants, 'zod-mini');
  const zodIn = results
    .map((b) => ({ name: b.name, bytes: b.topInputs.find((t) => t.name === 'zod')?.bytes ?? 0 }))
    .filter((b) => b.bytes > 0);
  if (zodIn.length > 0 && zodWhole !== undefined) {
    // A bundle carrying about as much zod as the whole library imports it through the `z` object.
    const whole = zodIn.filter((b) => b.bytes > zodWhole * 0.8);
    const envelope = variant(variants, 'powertools-sns-envelope');
    notes.push(
      `zod is in ${zodIn.length} of ${results.length} bundles, ${rangeKb(zodIn.map((b) => b.bytes))} each. \`import { z } from 'zod'\` takes the whole library (${kb(zodWhole)} bundled alone, locales included); \`import * as z from 'zod'\` tree-shakes to ${zodNamespace === undefined ? '?' : kb(zodNamespace)} for a small schema, \`zod/mini\` to ${zodMini === undefined ? '?' : kb(zodMini)}.${
        whole.length > 0
          ? ` Still the whole library in: ${whole.map((b) => `${b.name} (${kb(b.bytes)})`).join(', ')}${envelope !== undefined ? `: Powertools parser's envelopes, schemas and helpers import \`{ z }\` themselves (SnsEnvelope + JSONStringified alone: ${kb(envelope)}); parsing the SNS record with our own schema avoids them` : ''}.`
          : ''
      } Further: \`zod/mini\` for the schemas the Lambdas load.`,
    );
  }
  const withEc2 = carrying(results, '@aws-sdk/client-ec2');
  const ec2 = variant(variants, 'ec2');
  const drivers = variant(variants, 'drivers');
  const unexpectedEc2 = withEc2.filter((name) => !EC2_CALLERS.includes(name));
  if (unexpectedEc2.length > 0) {
    notes.push(
      `@aws-sdk/client-ec2 (${ec2 === undefined ? '?' : kb(ec2)} bundled alone) is in ${unexpectedEc2.join(', ')}, which never call EC2: something they import pulls in every adapter (shared/drivers/index.ts, whose driversFor imports them all, is ${drivers === undefined ? '?' : kb(drivers)} bundled alone). Fix: wire those handlers with the per-capability factories of shared/drivers/ only.`,
    );
  } else if (withEc2.length > 0) {
    notes.push(
      `@aws-sdk/client-ec2 (${ec2 === undefined ? '?' : kb(ec2)} bundled alone) is only in the functions that call EC2 (${withEc2.join(', ')}: DescribeInstances, CreateSnapshots, DescribeInstanceStatus), and is what puts them near 1 MB.`,
    );
  }
  const ssm = variant(variants, 'ssm');
  const dynamo = variant(variants, 'dynamodb');
  if (ssm !== undefined && ssm > goal) {
    notes.push(
      `With the SDK bundled, a single client already exceeds the goal (SSM ${kb(ssm)}${dynamo === undefined ? '' : `, DynamoDB ${kb(dynamo)}`}${ec2 === undefined ? '' : `, EC2 ${kb(ec2)}`}: @smithy/core, the credential providers' nested clients and the client's schemas), so no function that calls AWS can be under ${kb(goal)} this way. Leaving \`@aws-sdk/*\` and \`@smithy/*\` external, to the SDK of the nodejs24.x runtime, brings the bundles to ${rangeKb(results.map((b) => b.sdkExternal?.bytes))}, then mostly zod and our code.`,
    );
  }
  const fixedNoSdk = variants.find((v) => v.id === 'fixed-no-sdk');
  const fixedSsm = variants.find((v) => v.id === 'fixed-ssm');
  if (fixedNoSdk && fixedSsm) {
    const timing = (v: ImportVariant) =>
      v.coldImportMs === undefined ? '' : `, cold import ${v.coldImportMs.toFixed(0)} ms`;
    notes.push(
      `What the fixes would give, measured on stand-ins (same bundling): a Lambda without AWS calls — middy, logger, parser, a zod/mini schema — ${kb(fixedNoSdk.bytes)}${timing(fixedNoSdk)}; the same with one SSM client ${kb(fixedSsm.bytes)}${timing(fixedSsm)}. So with zod/mini the functions without AWS calls meet both goals, and those with one client are ${fixedSsm.bytes > goal ? 'still over the size goal by about that client' : 'within the size goal'}: ${fixedSsm.bytes > goal ? 'either the goal allows one SDK client, or the SDK is left external (which costs start time, below).' : 'the size goal holds.'}`,
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

/**
 * Lists the goals a run missed, one paragraph each, with the measured cause and the fix.
 *
 * @example
 * findMisses(results) // ['14 of 14 bundles exceed 300 KB …', …]
 */
export function findMisses(r: BenchResults): string[] {
  const misses: string[] = [];
  if (r.bundles.status === 'ok') {
    const { goalBytes, goalColdImportMs, results, importVariants } = r.bundles;
    const big = results.filter((b) => b.bytes > goalBytes);
    if (big.length > 0) {
      const sorted = [...big].sort((a, b) => b.bytes - a.bytes);
      misses.push(
        `${big.length} of ${results.length} bundles exceed ${kb(goalBytes)} (largest: ${sorted
          .slice(0, 3)
          .map((b) => `${b.name} ${kb(b.bytes)}`)
          .join(', ')}; the smallest over it: ${sorted.at(-1)!.name} ${kb(sorted.at(-1)!.bytes)}).`,
        ...bundleDiagnosis(results, importVariants, goalBytes),
      );
    }
    const slow = results.filter((b) => b.coldImportMs !== null && b.coldImportMs > goalColdImportMs);
    if (slow.length > 0) {
      const sorted = [...slow].sort((a, b) => (b.coldImportMs ?? 0) - (a.coldImportMs ?? 0));
      const external = results.find((b) => b.sdkExternal?.coldImportMs != null);
      misses.push(
        `${slow.length} of ${results.length} bundles import cold in more than ${goalColdImportMs} ms (slowest medians: ${sorted
          .slice(0, 3)
          .map((b) => `${b.name} ${b.coldImportMs?.toFixed(0)} ms`)
          .join(', ')}; the fastest samples of the same bundles: ${sorted
          .slice(0, 3)
          .map((b) => `${b.coldImportMinMs?.toFixed(0) ?? '?'} ms`)
          .join(', ')}). Import time follows what module scope evaluates, so the size fixes above apply${
          external?.sdkExternal?.coldImportMs != null
            ? `; leaving the SDK external does not make the start faster by itself (${external.name}: ${external.coldImportMs?.toFixed(0)} ms bundled, ${external.sdkExternal.coldImportMs.toFixed(0)} ms with the SDK loaded from node_modules)`
            : ''
        }.`,
      );
    }
    for (const b of results.filter((x) => x.error))
      misses.push(`bundle ${b.name} could not be measured: ${b.error}`);
  }
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
