/**
 * The health part of `stepops demo`: the lab app goes down, the health checks alert after the
 * failure threshold and ask for the `restart-app` runbook, the recorded request is carried out by
 * the recover workflow (its approval answered by the demo), the app comes back and the recovery is
 * alerted. Each check is one run of the health workflow on the local engine, printed as the probe
 * table.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { stopLabApp } from '../../lab/setup.ts';
import { findTarget } from '../../shared/config/registry.ts';
import { stepopsHome } from '../../shared/drivers/local/home.ts';
import type { Notification, RecoveryRequest } from '../../shared/drivers/ports.ts';
import type { Output } from '../output.ts';
import { runHealthOnce } from './health.ts';
import { runRecover } from './recover.ts';

/** What the health demo saw. */
export interface HealthDemoReport {
  problems: string[];
}

/**
 * Carries out a recorded recovery request as the recover state machine would on AWS: a run of the
 * recover workflow started by the health alert, whose approval the demo answers.
 */
async function carryOut(request: RecoveryRequest, out: Output, interactive?: boolean): Promise<boolean> {
  const report = await runRecover({
    target: request.target,
    runbook: request.runbook,
    trigger: 'health-alert',
    reason: request.reason,
    requestedBy: request.requestedBy,
    output: out,
    ...(interactive !== undefined ? { interactive } : {}),
    answer: async (task) => {
      out.out(
        `   demo: approving run ${task.executionName} (a person would run: stepops approve ${task.executionName}, or follow the link in the alert)`,
      );
      return 'approved';
    },
  });
  return report.exitCode === 0;
}

/** The JSON lines of a file; none when it does not exist yet (any other read error is thrown). */
async function lines<T>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

/**
 * The health part of the demo, for the lab app of target `demo` (running when called).
 *
 * @example
 * const { problems } = await runHealthDemo({ dir, out, step: 4 });
 */
export async function runHealthDemo(options: {
  dir: string;
  out: Output;
  step: number;
  interactive?: boolean;
  /** When the demo started (ISO): alerts and recovery requests written before it are an earlier demo's. */
  since?: string;
}): Promise<HealthDemoReport> {
  const { dir, out } = options;
  const problems: string[] = [];
  const target = findTarget('demo');
  const health = target.health!;
  const check = async (label: string) => {
    out.out(`   check ${label}`);
    return (await runHealthOnce({ target: 'demo', output: out })).summary;
  };
  out.out(
    `${options.step}. Health checks (expected: the app goes down, an alert after ${health.failureThreshold} failing checks, runbook ${health.onFailure?.runbook} started by the alert restarts it once approved, a recovery alert after ${health.successThreshold} passing checks)`,
  );
  await check('1: the app is up');
  const stopped = await stopLabApp(dir);
  out.out(`   the lab app is stopped (pid ${stopped ?? 'none'})`);
  let summary = await check('2');
  for (let i = 3; i <= health.failureThreshold + 1 && !summary?.down; i++) summary = await check(`${i}`);
  if (!summary?.down) problems.push('the health checks never declared the app down');
  if (!summary?.recovery?.started) problems.push('the health checks did not ask for the recovery runbook');
  const since = options.since ?? '';
  const requests = (
    await lines<RecoveryRequest & { at?: string }>(path.join(stepopsHome(), 'recoveries.jsonl'))
  ).filter((r) => r.target === 'demo' && (r.at ?? '') >= since);
  const request = requests.at(-1);
  if (request) {
    out.out(`   recovery requested: ${request.runbook} (${request.reason})`);
    if (!(await carryOut(request, out, options.interactive)))
      problems.push(`the recovery ${request.runbook} failed`);
  }
  for (let i = 0; i < health.successThreshold && summary?.down; i++)
    summary = await check(`after the recovery ${i + 1}`);
  if (summary?.down) problems.push('the app did not come back up after the recovery');
  const alerts = (await lines<Notification>(path.join(stepopsHome(), 'outbox.jsonl'))).filter(
    (n) => n.workflow === 'health' && n.target === 'demo' && n.at >= since,
  );
  // One alert per round lists every probe that changed in it.
  const names = (n: Notification) => n.failedState?.split(', ') ?? [];
  if (!alerts.some((n) => n.outcome === 'failed' && names(n).includes('app-health')))
    problems.push('no alert that app-health went down');
  if (!alerts.some((n) => n.outcome === 'succeeded' && names(n).includes('app-health')))
    problems.push('no alert that app-health recovered');
  out.out(`   health alerts in the outbox: ${alerts.length}`);
  for (const n of alerts) out.out(`     ${n.outcome.padEnd(9)} ${n.summary}`);
  out.out('');
  return { problems };
}
