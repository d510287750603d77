/**
 * The recovery plan: a runbook's steps, each either a script rendered exactly as the host runs it
 * (script, restart and restore-dump steps) or the AWS actions it takes (reboot, restore-volume,
 * replace-instance, restore-rds). Pure.
 */

import { describeHosts, dumpPrefix } from '../backup/plan.ts';
import type { RunbookStep, Target } from '../config/schema.ts';
import { InvalidInputError } from '../errors.ts';
import { hostScriptOptions, renderScript, shellQuote } from '../shell/script.ts';

/** Seconds added to a script's step timeout for the wrapper itself. */
const SCRIPT_MARGIN_SECONDS = 30;

/** One runbook step as it will run. */
export interface RecoveryStepPlan {
  name: string;
  type: RunbookStep['type'];
  /** What the step does, in words. */
  description: string;
  /** Where it runs: on the hosts (a script) or through AWS APIs. */
  runsOn: 'host' | 'aws';
  /** Steps that run on the host: the script, exactly as the host runs it. */
  script?: string;
  /** AWS steps: the calls, in order. */
  actions?: string[];
  timeoutSeconds: number;
}

/** A runbook of a target, resolved. */
export interface RecoveryPlan {
  target: string;
  runbook: string;
  runId: string;
  /** Shown to the operator before starting. */
  description: string;
  steps: RecoveryStepPlan[];
  /** Probes that must pass afterwards. */
  verify: string[];
}

/** Options of {@link planRecovery}. */
export interface RecoveryPlanOptions {
  runId: string;
  /**
   * The dump each restore-dump step reads, by backup job name, as resolved at run time (the newest
   * dump). When absent, the script names the job's dump prefix followed by `<newest>`.
   */
  dumpUris?: Record<string, string>;
  /**
   * Where the host downloads each of those dumps, by backup job name: a presigned GET URL (made
   * just before the command is sent) or a `file://` URL for local hosts. When absent, the script
   * shows a placeholder.
   */
  dumpDownloads?: Record<string, string>;
  /** See the backup plan's `dumpRoot`: the local stand-in for S3. */
  dumpRoot?: string;
  /** The run's parameters (validated), exported to host scripts as `STEPOPS_PARAM_<NAME>`. */
  params?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The environment variable (without the `STEPOPS_` prefix) a runbook parameter is exported as.
 *
 * @example
 * paramEnvName('service-name') // 'PARAM_SERVICE_NAME'
 */
export function paramEnvName(name: string): string {
  return `PARAM_${name.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * The shell command that restarts services with a process manager.
 *
 * @example
 * restartCommand({ manager: 'systemd', services: ['nginx'] }, 'ubuntu')
 * // "sudo systemctl restart -- 'nginx'\nsudo systemctl is-active --quiet -- 'nginx'"
 */
export function restartCommand(
  step: { manager: 'systemd' | 'pm2' | 'docker-compose'; services: readonly string[]; composeFile?: string },
  user?: string,
): string {
  const services = step.services.map(shellQuote).join(' ');
  switch (step.manager) {
    case 'systemd': {
      const sudo = user && user !== 'root' ? 'sudo ' : '';
      return [
        `${sudo}systemctl restart -- ${services}`,
        ...step.services.map((s) => `${sudo}systemctl is-active --quiet -- ${shellQuote(s)}`),
      ].join('\n');
    }
    case 'pm2':
      return `pm2 restart ${services} --update-env\npm2 save`;
    case 'docker-compose': {
      const file = step.composeFile ? ` -f ${shellQuote(step.composeFile)}` : '';
      return `docker compose${file} restart -- ${services}`;
    }
  }
}

function awsActions(target: Target, step: RunbookStep): string[] {
  const hosts = describeHosts(target.hosts);
  const region = target.hosts.type === 'ec2' ? target.hosts.region : undefined;
  switch (step.type) {
    case 'reboot':
      return [
        `ec2:RebootInstances for ${hosts}`,
        'wait until the instance status checks pass and the SSM agent is online',
      ];
    case 'restore-volume':
      return [
        `resolve ${hosts} and the volume attached at ${step.device}`,
        step.snapshot === 'latest'
          ? `find the newest completed stepops snapshot of the volume at ${step.device} (ec2:DescribeSnapshots)`
          : `use snapshot ${step.snapshot}`,
        'ec2:StopInstances and wait until stopped',
        `ec2:CreateVolume from the snapshot in the instance's availability zone, same type, tagged stepops:target=${target.name}`,
        `ec2:DetachVolume of the old volume at ${step.device} (kept, tagged stepops:replaced-by-run)`,
        `ec2:AttachVolume of the new volume at ${step.device}`,
        'ec2:StartInstances and wait until the status checks pass and the SSM agent is online',
      ];
    case 'replace-instance':
      return [
        `resolve ${hosts}`,
        step.launchTemplate
          ? `ec2:RunInstances from launch template ${step.launchTemplate.id} version ${step.launchTemplate.version}`
          : step.amiId
            ? `ec2:RunInstances from ${step.amiId}`
            : `ec2:RunInstances from the newest AMI tagged stepops:target=${target.name} (ec2:DescribeImages)`,
        step.launchTemplate
          ? "  with the old instance's tags"
          : "  with the old instance's type, subnet, security groups, instance profile, key pair and tags",
        ...(step.dataVolumeDevice
          ? [
              'ec2:StopInstances on the old instance and wait until stopped',
              `ec2:DetachVolume of the data volume at ${step.dataVolumeDevice}`,
              `ec2:AttachVolume of it to the new instance at ${step.dataVolumeDevice}`,
            ]
          : []),
        'wait until the new instance passes its status checks and its SSM agent is online',
        `ec2:AssociateAddress of Elastic IP ${step.elasticIpAllocationId} to the new instance (AllowReassociation)`,
        'the old instance is kept stopped for inspection (tagged stepops:replaced-by-run)',
      ];
    case 'restore-rds': {
      const where = step.region ?? region ?? 'the hosts region';
      return [
        step.snapshot === 'latest'
          ? `find the newest available stepops snapshot of DB instance ${step.dbInstance} in ${where} (rds:DescribeDBSnapshots)`
          : `use DB snapshot ${step.snapshot} in ${where}${step.snapshotParam ? ` (or the one parameter "${step.snapshotParam}" names)` : ''}`,
        `rds:RestoreDBInstanceFromDBSnapshot to a NEW instance ${step.dbInstance}-r<8 hex of the run id> with the instance's class, subnet group, security groups and parameter group`,
        'wait until the restored instance is "available"',
        ...(step.swapNames
          ? [
              `rds:ModifyDBInstance rename ${step.dbInstance} to ${step.dbInstance}-old<8 hex> (kept for inspection), ApplyImmediately`,
              `rds:ModifyDBInstance rename ${step.dbInstance}-r<8 hex> to ${step.dbInstance}, ApplyImmediately: the endpoint stays the same`,
              `wait until ${step.dbInstance} is "available"`,
            ]
          : ['stop there and print the new endpoint (the old instance is left as it is)']),
      ];
    }
    default:
      return [];
  }
}

function describeStep(step: RunbookStep): string {
  switch (step.type) {
    case 'script':
      return 'run a script on the hosts';
    case 'restart':
      return `restart ${step.services.join(', ')} with ${step.manager}`;
    case 'reboot':
      return 'reboot the instances';
    case 'restore-volume':
      return `restore the volume at ${step.device} from ${step.snapshot === 'latest' ? 'the newest snapshot' : step.snapshot}`;
    case 'replace-instance':
      return `replace the instance and move Elastic IP ${step.elasticIpAllocationId}${step.dataVolumeDevice ? ` and the data volume at ${step.dataVolumeDevice}` : ''}`;
    case 'restore-rds':
      return `restore RDS instance ${step.dbInstance} from ${step.snapshot === 'latest' ? 'its newest snapshot' : step.snapshot}`;
    case 'restore-dump':
      return `restore the newest dump of backup "${step.backup}" on the hosts`;
  }
}

/**
 * A restore-dump step's body: download the dump with curl (a presigned GET, no AWS CLI on the
 * host, as restore tests do) to `$STEPOPS_RESTORE_FILE`, then run the runbook's script in a
 * subshell, whose traps cannot replace the one that deletes the download whatever happens.
 */
function restoreDumpBody(script: string): string {
  return [
    'stepops_restore=$(mktemp -d "${TMPDIR:-/tmp}/stepops-restore.XXXXXX")',
    `trap 'rm -rf -- "$stepops_restore"' EXIT`,
    'export STEPOPS_RESTORE_FILE="$stepops_restore/dump"',
    'echo "==> download $STEPOPS_DUMP_URI"',
    'curl --fail --silent --show-error --retry 3 --max-time 3600 -o "$STEPOPS_RESTORE_FILE" "$STEPOPS_DUMP_DOWNLOAD"',
    '(',
    script,
    ')',
  ].join('\n');
}

/**
 * Plans one runbook of a target: each step rendered to the script the host runs or described as the
 * AWS actions it takes.
 *
 * @example
 * const plan = planRecovery(findTarget('zmanim'), 'database-corruption', { runId: 'run-1' });
 * plan.steps[0]?.script; // "#!/usr/bin/env bash ... sudo systemctl stop zmanim-api ..."
 * @throws InvalidInputError when the target has no runbook of that name
 */
export function planRecovery(
  target: Target,
  runbookName: string,
  options: RecoveryPlanOptions,
): RecoveryPlan {
  const runbooks = target.recovery ?? {};
  const runbook = Object.hasOwn(runbooks, runbookName) ? runbooks[runbookName] : undefined;
  if (!runbook) {
    const known = Object.keys(runbooks);
    throw new InvalidInputError(
      `target "${target.name}" has no runbook "${runbookName}" (runbooks: ${known.join(', ') || 'none'})`,
    );
  }
  const hostOptions = hostScriptOptions(target.hosts);
  const user = target.hosts.type === 'ec2' ? target.hosts.user : undefined;
  const env: Record<string, string> = { TARGET: target.name, RUNBOOK: runbookName, RUN_ID: options.runId };
  for (const [key, value] of Object.entries(options.params ?? {})) env[paramEnvName(key)] = String(value);
  const render = (step: RunbookStep, body: string, timeout: number, extra: Record<string, string> = {}) =>
    renderScript({
      title: `recover ${target.name} ${runbookName} ${step.name}`,
      env: { ...env, ...extra },
      steps: [{ name: step.name, script: body, timeout }],
      ...hostOptions,
    });

  const steps = runbook.steps.map((step): RecoveryStepPlan => {
    const base = { name: step.name, type: step.type, description: describeStep(step) };
    switch (step.type) {
      case 'script':
        return {
          ...base,
          runsOn: 'host',
          script: render(step, step.script, step.timeout),
          timeoutSeconds: step.timeout + SCRIPT_MARGIN_SECONDS,
        };
      case 'restart':
        return {
          ...base,
          runsOn: 'host',
          script: render(step, restartCommand(step, user), step.timeout),
          timeoutSeconds: step.timeout + SCRIPT_MARGIN_SECONDS,
        };
      case 'restore-dump': {
        const job = (target.backup ?? []).find((b) => b.type === 'dump' && b.name === step.backup);
        const uri =
          options.dumpUris?.[step.backup] ??
          (job?.type === 'dump' ? `${dumpPrefix(target.name, job, options.dumpRoot)}<newest>` : '<newest>');
        const download = options.dumpDownloads?.[step.backup] ?? '<presigned GET URL of the dump>';
        return {
          ...base,
          runsOn: 'host',
          script: render(step, restoreDumpBody(step.script), step.timeout, {
            DUMP_URI: uri,
            DUMP_DOWNLOAD: download,
          }),
          timeoutSeconds: step.timeout + SCRIPT_MARGIN_SECONDS,
        };
      }
      default:
        return { ...base, runsOn: 'aws', actions: awsActions(target, step), timeoutSeconds: step.timeout };
    }
  });
  return {
    target: target.name,
    runbook: runbookName,
    runId: options.runId,
    description: runbook.description,
    steps,
    verify: runbook.verify ?? (target.health?.probes ?? []).map((p) => p.name),
  };
}

/**
 * The runbooks of a target with their descriptions, as the console lists them.
 *
 * @example
 * listRunbooks(findTarget('shop')).map((r) => r.name); // ['restart-service', ...]
 */
export function listRunbooks(target: Target): { name: string; description: string }[] {
  return Object.entries(target.recovery ?? {}).map(([name, rb]) => ({ name, description: rb.description }));
}
