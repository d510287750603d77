/**
 * `stepops demo [--only <parts>]`: the product end to end on this machine, with nothing but the
 * repository.
 *
 * Sets up the lab (a git repository of a small HTTP app with v1, v2 and v3 tagged, and a clone of
 * it that plays a `local` host) and starts v1; then its parts, each skippable: **deploy** (v2 passes
 * the health gate; v3's `/health` answers 503, so the gate fails, the rollback returns to v2 and an
 * alert lands in the outbox), **backup** (three backups, the third pruning, and a restore test),
 * **health** (the app goes down, the alert, the recovery the alert starts with its approval, the
 * recovery alert), **recover** (a recovery started by hand); then `status` and `history` of the lab,
 * a summary, and it stops the app. The lab is one directory (default `.stepops/demo`), wiped and
 * re-created on the next run; the runs, alerts, backups and health records go where every
 * command keeps them (the state directory: `.stepops/` in the current directory, or
 * `$STEPOPS_HOME`), so that the `stepops status demo`, `history demo`, `logs <run>`,
 * `backups demo` and `approve <run>` it prints show the demo's runs. What an earlier demo left
 * there of target `demo` (its backups, health state, leases) is forgotten first.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import {
  appHealth,
  DEMO_PORT,
  defaultLabDir,
  type LabPaths,
  setupLab,
  startLabApp,
  stopLabApp,
} from '../../lab/setup.ts';
import { labMaintenance, labTarget } from '../../lab/target.ts';
import { registerTarget } from '../../shared/config/registry.ts';
import { fileSafe, stepopsHome } from '../../shared/drivers/local/home.ts';
import { readOutbox } from '../../shared/drivers/local/outbox-notifier.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import type { Execution } from '../../shared/engine/index.ts';
import { DEMO_PARTS } from '../choices.ts';
import { indent, type Output, stdio, UsageError, userCommand } from '../output.ts';
import { runBackupDemo } from './backup.ts';
import { demoRecovery } from './demo-recover.ts';
import { type DeployRunReport, runDeploy } from './deploy.ts';
import { runHealthDemo } from './health-demo.ts';
import { history } from './history.ts';
import { runMaintain } from './maintain.ts';
import { status } from './status.ts';

/** The demo's parts, in the order they run. */
export { DEMO_PARTS };

/** One part of the demo. */
export type DemoPart = (typeof DEMO_PARTS)[number];

/**
 * The parts `--only` names (comma-separated), in the demo's order; every part without it.
 *
 * @example
 * demoParts('health,deploy') // ['deploy', 'health']
 * @throws UsageError naming the parts there are, for an unknown or empty part
 */
export function demoParts(only?: string): DemoPart[] {
  if (only === undefined) return [...DEMO_PARTS];
  const named = only.split(',').map((part) => part.trim());
  const unknown = named.filter((part) => !(DEMO_PARTS as readonly string[]).includes(part));
  if (unknown.length > 0 || named.length === 0) {
    throw new UsageError(
      `--only ${JSON.stringify(only)}: unknown demo part ${unknown.map((u) => JSON.stringify(u)).join(', ')} (parts: ${DEMO_PARTS.join(', ')})`,
    );
  }
  return DEMO_PARTS.filter((part) => named.includes(part));
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The lab directory (default `$STEPOPS_DEMO_DIR`, else `demo` in the state directory). */
  dir?: string;
  /** The app's port (default `$STEPOPS_DEMO_PORT`, else 47613). */
  port?: number;
  /** Where the demo writes (default stdout and stderr). */
  output?: Output;
  /** Spinners for the runs' progress (default: when stdout is a TTY). */
  interactive?: boolean;
  /** The parts to run (default: all of {@link DEMO_PARTS}). */
  parts?: readonly DemoPart[];
}

/** What the demo observed; `ok` is true when everything behaved as the demo expects. */
export interface DemoReport {
  ok: boolean;
  /** The lab directory. */
  dir: string;
  /** The state directory the runs were recorded in, where the operator's commands read them. */
  home: string;
  parts: DemoPart[];
  v2?: DeployRunReport;
  v3?: DeployRunReport;
  /** The commands the demo printed for the operator to try next, as printed. */
  commands: string[];
  /** The version `/health` reported at the end, before the app was stopped. */
  finalVersion?: string;
  /** The alerts this demo wrote to the outbox. */
  outbox: Notification[];
  /** What did not go as expected. */
  problems: string[];
  /** Stopped by Ctrl-C (or SIGTERM). */
  interrupted?: boolean;
}

/** The demo was stopped by a signal. */
export class DemoInterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'DemoInterruptedError';
  }
}

/**
 * The port `--port` names, or none without it.
 *
 * @example
 * portFrom('47613') // 47613
 * @throws UsageError for a port that is not a number from 1024 to 65535
 */
export function portFrom(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new UsageError(`invalid demo port ${JSON.stringify(value)}: expected a number from 1024 to 65535`);
  }
  return port;
}

/**
 * Waits until every script the local command runner started under `home` has ended (it writes
 * `<host>.exit` or `<host>.timedout` beside `<host>.json`), or until the time is up.
 */
async function waitForLocalCommands(home: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const commandsDir = path.join(home, 'commands');
  const running = async () => {
    const pending: string[] = [];
    for (const command of await readdir(commandsDir).catch(() => [] as string[])) {
      const files = await readdir(path.join(commandsDir, command)).catch(() => [] as string[]);
      for (const meta of files.filter((f) => f.endsWith('.json'))) {
        const base = meta.slice(0, -'.json'.length);
        if (!files.includes(`${base}.exit`) && !files.includes(`${base}.timedout`)) pending.push(base);
      }
    }
    return pending.length;
  };
  while (Date.now() < deadline && (await running()) > 0) await setTimeout(200);
}

/**
 * Forgets what an earlier run of the demo left in the state directory for its target: the backup
 * catalogue and the copies (dumps in the `demo-backups` bucket, snapshots), the health state and
 * history, the leases. The demo's expectations (the third backup prunes two copies, the app goes
 * down after two failing checks) start from nothing; the runs themselves stay, for `history`.
 *
 * @example
 * await forgetDemoState(stepopsHome(), 'demo');
 */
export async function forgetDemoState(home: string, target: string): Promise<void> {
  const name = fileSafe(target);
  const leases = path.join(home, 'leases');
  const leaseFiles = (await readdir(leases).catch(() => [] as string[])).filter(
    (entry) =>
      entry.startsWith(`${fileSafe(`target:${target}`)}.json`) ||
      entry.startsWith(fileSafe(`backup:${target}#`)),
  );
  await Promise.all(
    [
      path.join(home, 'backups', `${name}.json`),
      path.join(home, 'objects', 'demo-backups'),
      path.join(home, 'snapshots', name),
      path.join(home, 'health', `${name}.json`),
      path.join(home, 'health-history', name),
      ...leaseFiles.map((entry) => path.join(leases, entry)),
    ].map((file) => rm(file, { recursive: true, force: true })),
  );
}

/** A path as the demo shows it: relative to the current directory when inside it. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** What each part shows when it goes as expected. */
const PART_OUTCOMES: Record<DemoPart, string> = {
  deploy: 'v2 is live, v3 was rolled back',
  backup: 'backups taken, pruned and restore-tested',
  health: 'the app went down, was alerted, recovered on approval, and the recovery was alerted',
  recover: 'a recovery by hand brought the app back',
  maintain: 'a maintenance job ran host by host behind the health gate',
};

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
  const home = stepopsHome();
  const defaultDir = defaultLabDir();
  const dir = path.resolve(options.dir ?? (process.env.STEPOPS_DEMO_DIR || defaultDir));
  const port = options.port ?? portFrom(process.env.STEPOPS_DEMO_PORT) ?? DEMO_PORT;
  const url = `http://127.0.0.1:${port}/health`;
  const parts = [...(options.parts ?? DEMO_PARTS)];
  const report: DemoReport = { ok: false, dir, home, parts, commands: [], outbox: [], problems: [] };
  const startedAt = new Date().toISOString();
  const quiet = options.interactive !== undefined ? { interactive: options.interactive } : {};

  // The runs are recorded where every command reads them (the state directory); the demo target
  // points at this lab whatever the environment said when the registry loaded.
  process.env.STEPOPS_DEMO_DIR = dir;
  process.env.STEPOPS_DEMO_PORT = String(port);
  registerTarget({ ...labTarget({ name: 'demo', dir, port }), maintenance: labMaintenance(dir) });

  let interrupted = false;
  let current: Execution | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // A second Ctrl-C: do not wait for the host's scripts.
      void stopLabApp(dir).finally(() => process.exit(130));
      return;
    }
    interrupted = true;
    out.err(`\nstepops demo: ${signal}: aborting the run, then stopping the lab app (Ctrl-C again: at once)`);
    current?.abort();
  };
  /** Ends the demo's flow at the next step once interrupted. */
  const checkpoint = () => {
    if (interrupted) throw new DemoInterruptedError();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  try {
    out.out(`stepops demo: ${parts.join(', ')}, on the local engine, against a real app on this machine`);
    out.out(`lab directory: ${dir}`);
    out.out(`runs recorded in: ${home} (where stepops status, history and logs read them)\n`);
    await forgetDemoState(home, 'demo');

    out.out('1. Set up the lab');
    const lab: LabPaths = await setupLab({ dir, port });
    checkpoint();
    out.out(
      `   app repository ${path.relative(process.cwd(), lab.origin) || lab.origin} with tags v1, v2, v3`,
    );
    out.out(`   local host ${path.relative(process.cwd(), lab.host) || lab.host} (a clone, at v1)`);
    out.out(`   ${await startLabApp(lab)}`);
    out.out(`   GET ${url} → ${describeHealth(await appHealth(port))}\n`);
    checkpoint();
    let step = 2;

    let afterV3: Awaited<ReturnType<typeof appHealth>>;
    const deployRef = (ref: string) =>
      runDeploy({
        target: 'demo',
        ref,
        reason: `demo: deploy ${ref}`,
        requestedBy: 'stepops demo',
        output: out,
        onStart: (execution) => {
          current = execution;
        },
        ...quiet,
      });
    if (parts.includes('deploy')) {
      out.out(`${step++}. Deploy v2 (expected: health gate passes)`);
      report.v2 = await deployRef('v2');
      checkpoint();
      const afterV2 = await appHealth(port);
      out.out(`   GET ${url} → ${describeHealth(afterV2)}\n`);
      if (report.v2.exitCode !== 0)
        report.problems.push(`the deploy of v2 failed (${report.v2.error ?? `exit ${report.v2.exitCode}`})`);
      if (afterV2?.body?.version !== 'v2')
        report.problems.push(`after the v2 deploy the app reports ${describeHealth(afterV2)}`);

      out.out(`${step++}. Deploy v3 (expected: health gate fails, rollback to v2, alert)`);
      report.v3 = await deployRef('v3');
      checkpoint();
      afterV3 = await appHealth(port);
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
    }

    if (parts.includes('backup')) {
      report.problems.push(...(await runBackupDemo({ lab: dir, output: out, step, ...quiet })).problems);
      step += 2;
      checkpoint();
    }
    if (parts.includes('health')) {
      report.problems.push(
        ...(await runHealthDemo({ dir, out, step: step++, since: startedAt, ...quiet })).problems,
      );
      checkpoint();
    }
    if (parts.includes('recover')) {
      report.problems.push(...(await demoRecovery({ port, dir, step: step++, out, ...quiet })));
      checkpoint();
    }
    if (parts.includes('maintain')) {
      out.out(
        `${step++}. Maintenance: the disk-hygiene job (a dry run), host by host behind the health gate`,
      );
      const maintained = await runMaintain({
        target: 'demo',
        job: 'disk-hygiene',
        reason: 'demo: maintenance',
        requestedBy: 'stepops demo',
        output: out,
        onStart: (execution) => {
          current = execution;
        },
        ...quiet,
      });
      checkpoint();
      out.out('');
      if (maintained.exitCode !== 0 || maintained.runs[0]?.outcome !== 'succeeded') {
        report.problems.push(
          `the maintenance job disk-hygiene did not succeed (${maintained.runs[0]?.error ?? maintained.runs[0]?.outcome ?? `exit ${maintained.exitCode}`})`,
        );
      }
    }

    out.out(`${step}. The lab as the operator's commands see it`);
    const indented: Output = { out: (text) => out.out(indent(text, 3)), err: (text) => out.err(text) };
    out.out(`   $ ${userCommand('status demo')}`);
    await status('demo', { local: true }, { output: indented, isTTY: false });
    for (const workflow of parts
      .filter((p) => p !== 'health')
      .map((p) => (p === 'maintain' ? 'maintenance' : p))) {
      out.out(`\n   $ ${userCommand(`history demo --workflow ${workflow}`)}`);
      await history('demo', { local: true, workflow, limit: 5 }, { output: indented, isTTY: false });
    }
    out.out('');

    report.outbox = (await readOutbox(home)).filter((n) => n.target === 'demo' && n.at >= startedAt);
    if (parts.includes('deploy')) {
      const rolledBack = report.outbox.filter((n) => n.ref === 'v3' && n.outcome === 'rolled-back');
      if (rolledBack.length === 0) report.problems.push('no "rolled-back" alert for v3 in the outbox');
    }

    const shown = shownPath;
    out.out('Summary');
    if (report.v2 && report.v3) {
      out.out(
        `   v2: ${report.v2.exitCode === 0 ? 'deployed, health gate passed' : `FAILED (${report.v2.error})`}`,
      );
      out.out(
        `   v3: ${report.v3.error === 'DeployFailedError' ? 'health gate failed, rolled back to v2' : `unexpected: ${report.v3.error ?? 'succeeded'}`}`,
      );
      out.out(`   the app reports: ${describeHealth(afterV3)}`);
    }
    out.out(
      `   alerts in the outbox ${shown(path.join(home, 'outbox.jsonl'))} (${report.outbox.length} from this demo):`,
    );
    for (const n of report.outbox) {
      out.out(
        `     ${n.outcome.padEnd(11)} ${[n.workflow, n.target, n.ref].filter(Boolean).join(' ')}: ${n.summary}`,
      );
    }
    out.out(`   the lab, under ${shown(dir)}:`);
    out.out('     origin/    the app repository (tags v1, v2, v3)');
    out.out('     host/      the local host: its checkout');
    out.out('     run/       app pid, app log, rollback record');
    out.out(`   the state, under ${shown(home)} (every command reads it):`);
    out.out('     runs/      each run, as status, history, logs and follow read it');
    out.out("     commands/  each command's script and output");
    out.out('     backups/   the backup catalogue; objects/ and snapshots/ the copies');
    out.out('     outbox.jsonl  the alerts');
  } catch (error) {
    if (!(error instanceof DemoInterruptedError)) {
      report.problems.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  } finally {
    // A script still in flight (a restart) could start the app again after it was stopped.
    if (interrupted) await waitForLocalCommands(home, 15_000);
    const stopped = await stopLabApp(dir);
    out.out(stopped === undefined ? '   lab app: not running' : `   lab app stopped (pid ${stopped})`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  report.interrupted = interrupted;
  report.ok = !interrupted && report.problems.length === 0;
  if (interrupted) out.err(`stepops demo: interrupted; its files are in ${dir}`);
  else if (report.ok) {
    out.out(`\n✔ demo behaved as expected: ${parts.map((part) => PART_OUTCOMES[part]).join('; ')}`);
    report.commands = nextCommands(
      report,
      dir === defaultDir ? shownPath(path.join(dir, 'bin', 'app-ctl.sh')) : undefined,
    );
    out.out("\nthe same runs, with the operator's commands (from this directory):");
    for (const command of report.commands) out.out(`   ${command}`);
  } else for (const problem of report.problems) out.err(`✖ ${problem}`);
  return report;
}

/**
 * The commands the demo prints at its end, each showing what it just did: the status, the history,
 * the logs of the deploy that was rolled back, the backup catalogue, the uptime; and, when the lab
 * is where the demo target points by default, a deploy to it again.
 *
 * @example
 * nextCommands(report, '.stepops/demo/bin/app-ctl.sh') // ['npx stepops status demo', 'npx stepops history demo', …]
 */
export function nextCommands(
  report: Pick<DemoReport, 'parts' | 'v3' | 'v2'>,
  /** The lab's app-ctl.sh, when the lab is where the demo target points by default. */
  appCtl?: string,
): string[] {
  const lines = [userCommand('status demo'), userCommand('history demo')];
  const logged = report.v3?.executionName ?? report.v2?.executionName;
  if (logged) lines.push(userCommand(`logs ${logged}`));
  if (report.parts.includes('backup')) lines.push(userCommand('backups demo'));
  if (report.parts.includes('health')) lines.push(userCommand('health history demo'));
  if (appCtl) {
    lines.push(
      `${userCommand('deploy demo --ref v2')}   (starts the lab app again; stop it with ${appCtl} stop)`,
    );
  }
  return lines;
}
