/**
 * What a target asks of its hosts, read from the target model: the programs its scripts and
 * stepops' own wrappers call, the commands its scripts run with sudo, and the restore tests that
 * create a scratch PostgreSQL database. Pure: `stepops check` turns it into one script per host.
 */
import type { Probe, Target } from '../config/schema.ts';
import { asCommandProbe, isHostCheck } from '../health/host-checks.ts';
import { isHostNetworkProbe, networkCommandProbe } from '../health/network.ts';
import { maintenanceScript } from '../recipes/maintenance.ts';
import { scratchDatabase } from '../recipes/scripts.ts';
import { restartCommand } from '../recovery/plan.ts';
import { scriptCommands } from './commands.ts';

/** A program the hosts must have, and where the target uses it (`deploy.steps.build`, …). */
export interface ProgramNeed {
  program: string;
  usedBy: string[];
}

/** A command a target's script runs with sudo, as the run-as user. */
export interface SudoNeed {
  /** The user sudo runs it as (`-u`); root when absent. */
  runAs?: string;
  argv: string[];
  usedBy: string[];
}

/** A restore test that creates a scratch PostgreSQL database (the `scratchDatabase` recipe). */
export interface ScratchDatabaseNeed {
  backup: string;
  /** The PostgreSQL role it connects as, when the script names it literally (`PGUSER=zmanim`). */
  role?: string;
}

/** Everything {@link hostNeeds} finds. */
export interface HostNeeds {
  /** Programs the target's scripts call: on the PATH of the steps' shell, as the run-as user. */
  programs: ProgramNeed[];
  /** Programs stepops' own wrapper calls around them, in the command's shell (root on ec2 hosts). */
  wrapperPrograms: ProgramNeed[];
  sudo: SudoNeed[];
  scratchDatabases: ScratchDatabaseNeed[];
  /** The target deploys: its working directory is a git clone that fetches from origin. */
  deploys: boolean;
}

/** The functions the scratch-database recipe defines for the script that includes it. */
const SCRATCH_FUNCTIONS = ['create_scratch', 'drop_scratch'];

class Collector {
  readonly programs: ProgramNeed[] = [];
  readonly wrapperPrograms: ProgramNeed[] = [];
  readonly sudo: SudoNeed[] = [];

  script(script: string, usedBy: string, functions: readonly string[] = []): void {
    if (script.includes(scratchDatabase)) {
      // The recipe's `sudo -u postgres` is its fallback, not a need: the scratch-database check says when it is one.
      for (const program of scriptCommands(scratchDatabase).programs) {
        if (program !== 'sudo') this.program(program, usedBy);
      }
      this.script(script.replace(scratchDatabase, ''), usedBy, SCRATCH_FUNCTIONS);
      return;
    }
    const found = scriptCommands(script, functions);
    for (const program of found.programs) this.program(program, usedBy);
    for (const s of found.sudo) {
      const same = this.sudo.find((n) => n.runAs === s.runAs && n.argv.join('\0') === s.argv.join('\0'));
      if (same) {
        if (!same.usedBy.includes(usedBy)) same.usedBy.push(usedBy);
      } else {
        this.sudo.push({ ...s, usedBy: [usedBy] });
      }
    }
  }

  program(program: string, usedBy: string, list: ProgramNeed[] = this.programs): void {
    const same = list.find((n) => n.program === program);
    if (!same) list.push({ program, usedBy: [usedBy] });
    else if (!same.usedBy.includes(usedBy)) same.usedBy.push(usedBy);
  }

  wrapper(program: string, usedBy: string): void {
    this.program(program, usedBy, this.wrapperPrograms);
  }
}

/** The script a host-side probe runs, or undefined for a probe made from outside. */
function probeScript(probe: Probe): string | undefined {
  if (probe.type === 'command') return probe.script;
  if (isHostCheck(probe)) return asCommandProbe(probe).script;
  if (isHostNetworkProbe(probe)) return networkCommandProbe(probe).script;
  return undefined;
}

/** `PGUSER=name` written literally in a script: the role it connects as. */
function literalRole(script: string): string | undefined {
  return /(?:^|[\s;])PGUSER=([a-z_][a-z0-9_]*)(?=[\s;]|$)/m.exec(script)?.[1];
}

/**
 * What a target asks of its hosts: programs (its deploy steps, health probes that run on the
 * hosts, dumps and restore tests, runbooks and maintenance steps, and stepops' wrappers around
 * them), its sudo commands, and its restore tests into a scratch database.
 *
 * @example
 * hostNeeds(findTarget('zmanim')).programs.map((p) => p.program) // ['git', 'tr', 'mkdir', 'find', 'cp', 'go', 'sudo', 'systemctl', …]
 */
export function hostNeeds(target: Target): HostNeeds {
  const c = new Collector();
  const ec2 = target.hosts.type === 'ec2';
  const user = target.hosts.type === 'ec2' ? target.hosts.user : undefined;
  c.wrapper('timeout', 'every command');
  c.wrapper('mktemp', 'every command');
  if (user && user !== 'root') c.wrapper('sudo', `every command (runs as ${user})`);

  const deploy = target.deploy;
  if (deploy) {
    for (const [kind, steps] of [
      ['verify', deploy.verify ?? []],
      ['steps', deploy.steps],
      ['rollback', deploy.rollback],
    ] as const) {
      for (const step of steps) c.script(step.script, `deploy.${kind}.${step.name}`);
    }
  }
  for (const probe of target.health?.probes ?? []) {
    const script = probeScript(probe);
    if (script !== undefined) c.script(script, `health.${probe.name}`);
    if (probe.type === 'http' && probe.from === 'host') c.program('curl', `health.${probe.name}`);
    if (script !== undefined || (probe.type === 'http' && probe.from === 'host')) {
      c.wrapper('base64', 'health probes on the hosts');
    }
  }
  const scratchDatabases: ScratchDatabaseNeed[] = [];
  for (const job of target.backup ?? []) {
    if (job.type !== 'dump') continue;
    const where = `backup.${job.name}`;
    c.script(job.script, where);
    c.wrapper('sha256sum', where);
    if (ec2) {
      if (job.awsCli) c.wrapper('aws', `${where} (awsCli: upload${job.restoreTest ? ', download' : ''})`);
      else c.wrapper('curl', `${where} (upload${job.restoreTest ? ', download' : ''})`);
      if (Object.keys(job.secrets).length > 0) c.wrapper('aws', `${where}.secrets`);
    }
    if (job.restoreTest) {
      c.script(job.restoreTest.script, `${where}.restoreTest`);
      c.script(job.restoreTest.check, `${where}.restoreTest.check`);
      if (job.restoreTest.script.includes(scratchDatabase)) {
        const role = literalRole(job.restoreTest.script) ?? literalRole(job.script);
        scratchDatabases.push({ backup: job.name, ...(role ? { role } : {}) });
      }
    }
  }
  for (const [name, runbook] of Object.entries(target.recovery ?? {})) {
    for (const step of runbook.steps) {
      const where = `recovery.${name}.${step.name}`;
      if (step.type === 'script') {
        c.script(step.script, where);
        if (step.agree?.before) c.script(step.agree.before, where);
        if (step.agree?.after) c.script(step.agree.after, where);
      } else if (step.type === 'restart') {
        c.script(restartCommand(step, user), where);
      } else if (step.type === 'restore-dump') {
        c.program('curl', where);
        c.script(step.script, where);
      }
    }
  }
  for (const [name, job] of Object.entries(target.maintenance ?? {})) {
    for (const step of job.steps)
      c.script(maintenanceScript(step, target.hosts), `maintenance.${name}.${step.name}`);
  }
  return {
    programs: c.programs,
    wrapperPrograms: c.wrapperPrograms,
    sudo: c.sudo,
    scratchDatabases,
    deploys: deploy !== undefined,
  };
}
