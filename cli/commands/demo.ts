/**
 * `stepops demo`: the whole deploy capability on this machine, with nothing but the repository.
 *
 * Sets up the lab (a git repository of a small HTTP app with v1, v2 and v3 tagged, and a clone of
 * it that plays a `local` host), starts v1, deploys v2 (the health gate passes), deploys v3 (its
 * `/health` answers 503: the gate fails, the rollback returns to v2, an alert lands in the outbox),
 * prints each run's timeline and a summary, and stops the app. Everything it writes stays in one
 * directory (default `.stepops/demo`), wiped and re-created on the next run.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import {
  appHealth,
  DEFAULT_LAB_DIR,
  DEMO_PORT,
  type LabPaths,
  setupLab,
  startLabApp,
  stopLabApp,
} from '../../lab/setup.ts';
import { labTarget } from '../../lab/target.ts';
import { registerTarget } from '../../shared/config/registry.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import { type Output, stdio, UsageError } from '../output.ts';
import { type DeployRunReport, runDeploy } from './run.ts';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The lab directory (default `$STEPOPS_DEMO_DIR`, else `.stepops/demo` in the repository). */
  dir?: string;
  /** The app's port (default `$STEPOPS_DEMO_PORT`, else 47613). */
  port?: number;
  /** Where the demo writes (default stdout and stderr). */
  output?: Output;
  /** Spinners for the runs' progress (default: when stdout is a TTY). */
  interactive?: boolean;
}

/** What the demo observed; `ok` is true when everything behaved as the demo expects. */
export interface DemoReport {
  ok: boolean;
  dir: string;
  v2?: DeployRunReport;
  v3?: DeployRunReport;
  /** The version `/health` reported at the end, before the app was stopped. */
  finalVersion?: string;
  outbox: Notification[];
  /** What did not go as expected. */
  problems: string[];
}

function portFrom(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new UsageError(`invalid demo port ${JSON.stringify(value)}: expected a number from 1024 to 65535`);
  }
  return port;
}

async function readOutbox(dir: string): Promise<Notification[]> {
  const text = await readFile(path.join(dir, 'outbox.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Notification);
}

function describeHealth(health: Awaited<ReturnType<typeof appHealth>>): string {
  if (health === undefined) return 'no answer';
  return `${health.status} ${JSON.stringify({ status: health.body?.status, version: health.body?.version })}`;
}

/**
 * Runs the demo. The app it starts is stopped before it returns, whatever happens, and on Ctrl-C.
 *
 * @example
 * const report = await runDemo({ dir: '/tmp/stepops-demo', port: 47700 });
 * report.ok; // true: v2 deployed, v3 rolled back to v2
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const out = options.output ?? stdio;
  const dir = path.resolve(options.dir ?? process.env.STEPOPS_DEMO_DIR ?? DEFAULT_LAB_DIR);
  const port = options.port ?? portFrom(process.env.STEPOPS_DEMO_PORT) ?? DEMO_PORT;
  const url = `http://127.0.0.1:${port}/health`;
  const report: DemoReport = { ok: false, dir, outbox: [], problems: [] };

  // Everything the runs write (command logs, leases, the outbox) goes to the lab directory too, and
  // the demo target points at this lab whatever the environment said when the registry loaded.
  process.env.STEPOPS_HOME = dir;
  process.env.STEPOPS_DEMO_DIR = dir;
  process.env.STEPOPS_DEMO_PORT = String(port);
  registerTarget(labTarget({ name: 'demo', dir, port }));

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    out.err(`\nstepops demo: ${signal}: stopping the lab app`);
    void stopLabApp(dir).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    out.out(`stepops demo: the deploy workflow on the local engine, against a real app on this machine`);
    out.out(`lab directory: ${dir}\n`);

    out.out('1. Set up the lab');
    const lab: LabPaths = await setupLab({ dir, port });
    out.out(
      `   app repository ${path.relative(process.cwd(), lab.origin) || lab.origin} with tags v1, v2, v3`,
    );
    out.out(`   local host ${path.relative(process.cwd(), lab.host) || lab.host} (a clone, at v1)`);
    out.out(`   ${await startLabApp(lab)}`);
    out.out(`   GET ${url} → ${describeHealth(await appHealth(port))}\n`);

    out.out('2. Deploy v2 (expected: health gate passes)');
    report.v2 = await runDeploy({
      target: 'demo',
      ref: 'v2',
      reason: 'demo: deploy v2',
      requestedBy: 'stepops demo',
      output: out,
      ...(options.interactive !== undefined ? { interactive: options.interactive } : {}),
    });
    const afterV2 = await appHealth(port);
    out.out(`   GET ${url} → ${describeHealth(afterV2)}\n`);
    if (report.v2.exitCode !== 0)
      report.problems.push(`the deploy of v2 failed (${report.v2.error ?? `exit ${report.v2.exitCode}`})`);
    if (afterV2?.body?.version !== 'v2')
      report.problems.push(`after the v2 deploy the app reports ${describeHealth(afterV2)}`);

    out.out('3. Deploy v3 (expected: health gate fails, rollback to v2, alert)');
    report.v3 = await runDeploy({
      target: 'demo',
      ref: 'v3',
      reason: 'demo: deploy v3',
      requestedBy: 'stepops demo',
      output: out,
      ...(options.interactive !== undefined ? { interactive: options.interactive } : {}),
    });
    const afterV3 = await appHealth(port);
    report.finalVersion = afterV3?.body?.version;
    out.out(`   GET ${url} → ${describeHealth(afterV3)}\n`);
    if (report.v3.exitCode !== 1 || report.v3.error !== 'DeployFailedError') {
      report.problems.push(
        `the deploy of v3 was expected to fail with DeployFailedError after a rollback, got ${report.v3.error ?? `exit ${report.v3.exitCode}`}`,
      );
    }
    if (afterV3?.status !== 200 || afterV3.body?.version !== 'v2') {
      report.problems.push(
        `after the v3 rollback the app reports ${describeHealth(afterV3)}, expected v2 healthy`,
      );
    }

    report.outbox = await readOutbox(dir);
    const rolledBack = report.outbox.filter((n) => n.ref === 'v3' && n.outcome === 'rolled-back');
    if (rolledBack.length === 0) report.problems.push('no "rolled-back" alert for v3 in the outbox');

    out.out('Summary');
    out.out(
      `   v2: ${report.v2.exitCode === 0 ? 'deployed, health gate passed' : `FAILED (${report.v2.error})`}`,
    );
    out.out(
      `   v3: ${report.v3.error === 'DeployFailedError' ? 'health gate failed, rolled back to v2' : `unexpected: ${report.v3.error ?? 'succeeded'}`}`,
    );
    out.out(`   app now reports: ${describeHealth(afterV3)}`);
    out.out(
      `   outbox ${path.join(dir, 'outbox.jsonl')} (${report.outbox.length} line${report.outbox.length === 1 ? '' : 's'}):`,
    );
    for (const n of report.outbox)
      out.out(`     ${n.outcome.padEnd(11)} ${n.workflow} ${n.target} ${n.ref ?? ''}: ${n.summary}`);
    out.out(`   files: ${dir}`);
    out.out(`     origin/  app repository      host/  the local host (its checkout)`);
    out.out(`     run/     pid, app log        commands/  each command's script and log`);
    out.out(`   try: node cli/stepops.ts run deploy demo --ref v2   (after npm run demo sets up the lab)`);
  } catch (error) {
    report.problems.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  } finally {
    const stopped = await stopLabApp(dir);
    out.out(stopped === undefined ? '   lab app: not running' : `   lab app stopped (pid ${stopped})`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  report.ok = report.problems.length === 0;
  if (report.ok) out.out('\n✔ demo behaved as expected: v2 is live, v3 was rolled back');
  else for (const problem of report.problems) out.err(`✖ ${problem}`);
  return report;
}

/**
 * Registers `stepops demo`.
 *
 * @example
 * register(program); // stepops demo [--dir <dir>] [--port <port>]
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description('deploy v2 then a failing v3 of a sample app on this machine, with rollback (no AWS needed)')
    .option('--dir <dir>', 'lab directory, wiped and re-created (default: .stepops/demo)')
    .option('--port <port>', 'port of the sample app (default: 47613)')
    .action(async (options: { dir?: string; port?: string }) => {
      const port = portFrom(options.port);
      const report = await runDemo({
        ...(options.dir ? { dir: options.dir } : {}),
        ...(port ? { port } : {}),
      });
      process.exitCode = report.ok ? 0 : 1;
    });
}
