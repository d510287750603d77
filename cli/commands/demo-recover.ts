/**
 * The recovery part of `stepops demo`: the lab app is killed, a run started as a health alert would
 * start it asks for approval (the demo answers it, as a person would with `stepops approve`), the
 * runbook restarts the app and the health probe confirms it is back.
 */
import { appHealth, stopLabApp } from '../../lab/setup.ts';
import type { Output } from '../output.ts';
import { runRecover } from './recover.ts';

/** Options of {@link demoRecovery}. */
export interface DemoRecoveryOptions {
  port: number;
  dir: string;
  /** The step number the demo prints. */
  step: number;
  out: Output;
  interactive?: boolean;
}

/**
 * Kills the lab app, recovers it with the `restart-app` runbook (approval answered by the demo) and
 * checks that it answers again.
 *
 * @returns what did not go as expected (empty when all went well)
 * @example
 * report.problems.push(...(await demoRecovery({ port, dir, out, step: 5 })));
 */
export async function demoRecovery(options: DemoRecoveryOptions): Promise<string[]> {
  const { out, port } = options;
  const problems: string[] = [];
  out.out(
    '4. Kill the app, then recover it with the "restart-app" runbook (expected: approval asked, app back)',
  );
  const killed = await stopLabApp(options.dir);
  const down = await appHealth(port, 500);
  out.out(`   killed the app (pid ${killed ?? '?'}); GET /health → ${down ? down.status : 'no answer'}`);
  const report = await runRecover({
    target: 'demo',
    runbook: 'restart-app',
    trigger: 'health-alert',
    reason: 'demo: the app was killed and its health probe fails',
    requestedBy: 'stepops demo (as the health workflow would)',
    output: out,
    ...(options.interactive !== undefined ? { interactive: options.interactive } : {}),
    answer: async (task) => {
      out.out(
        `   demo: approving run ${task.executionName} (a person would run: stepops approve ${task.executionName})`,
      );
      return 'approved';
    },
  });
  const after = await appHealth(port);
  out.out(`   GET /health → ${after ? `${after.status} ${JSON.stringify(after.body)}` : 'no answer'}\n`);
  if (report.exitCode !== 0)
    problems.push(`the recovery failed (${report.error ?? `exit ${report.exitCode}`})`);
  if (after?.status !== 200) problems.push('after the recovery the app does not answer 200');
  return problems;
}
