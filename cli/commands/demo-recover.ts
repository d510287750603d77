/**
 * The recovery part of `stepops demo`: the lab app is killed and recovered by hand with the
 * `restart-app` runbook, as `stepops recover demo restart-app` runs it. A restart is not destructive
 * and a person started it, so it needs no approval (the health part shows a run started by an alert,
 * which does); the runbook restarts the app and its health probe confirms it is back.
 */
import { appHealth, stopLabApp } from '../../lab/setup.ts';
import { type Output, userCommand } from '../output.ts';
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
 * Kills the lab app, recovers it with the `restart-app` runbook and checks that it answers again.
 *
 * @returns what did not go as expected (empty when all went well)
 * @example
 * report.problems.push(...(await demoRecovery({ port, dir, out, step: 6 })));
 */
export async function demoRecovery(options: DemoRecoveryOptions): Promise<string[]> {
  const { out, port } = options;
  const problems: string[] = [];
  out.out(
    `${options.step}. Kill the app, then recover it by hand: ${userCommand('recover demo --runbook restart-app')} (expected: no approval for a restart started by a person, app back)`,
  );
  const killed = await stopLabApp(options.dir);
  const down = await appHealth(port, 500);
  out.out(`   killed the app (pid ${killed ?? '?'}); GET /health → ${down ? down.status : 'no answer'}`);
  const report = await runRecover({
    target: 'demo',
    runbook: 'restart-app',
    reason: 'demo: the app was killed',
    requestedBy: 'stepops demo',
    output: out,
    ...(options.interactive !== undefined ? { interactive: options.interactive } : {}),
    answer: async () => {
      problems.push('a restart started by hand asked for approval');
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
