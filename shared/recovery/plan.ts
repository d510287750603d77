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
export const SCRIPT_MARGIN_SECONDS = 30;

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
  /** What every host answered to a step's `agree.before`, by step name: its `STEPOPS_AGREED`. */
  agreed?: Readonly<Record<string, string>>;
}

/** The line an agreement command prints its answer on (the rest of the output is the wrapper's). */
export const AGREE_PREFIX = 'stepops-agree:';

/**
 * The script of a step's `agree.before` or `agree.after` command, as the hosts run it: its output
 * printed on one {@link AGREE_PREFIX} line.
 *
 * @example
 * agreeScript(target, 'revert', 'checkout', 'git rev-parse HEAD', 'run-1')
 */
export function agreeScript(
  target: Target,
  runbookName: string,
  stepName: string,
  body: string,
  runId: string,
): string {
  return renderScript({
    title: `recover ${target.name} ${runbookName} ${stepName} agree`,
    env: { TARGET: target.name, RUNBOOK: runbookName, RUN_ID: runId },
    steps: [
      {
        name: `${stepName}-agree`,
        script: `answer=$(\n${body}\n)\nprintf '%s%s\\n' ${shellQuote(AGREE_PREFIX)} "$(printf '%s' "$answer" | tr '\\n' ' ' | sed 's/ *$//')"`,
        timeout: 60,
      },
    ],
    ...hostScriptOptions(target.hosts),
  });
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
        `ec2:CreateVolume from the snapshot in the instance's availability zone with the old volume's type, IOPS, throughput and KMS key, tagged stepops:target=${target.name}`,
        `ec2:DetachVolume of the old volume at ${step.device} (kept, tagged stepops:replaced-by-run)`,
        `ec2:AttachVolume of the new volume at ${step.device}`,
        'ec2:StartInstances and wait until the status checks pass and the SSM agent is online',
      ];
    case 'replace-instance': {
      const groups = target.deploy?.loadBalancer?.targetGroups ?? [];
      const selecting = [
        ...(target.hosts.type === 'ec2' && 'tags' in target.hosts ? Object.keys(target.hosts.tags) : []),
        'stepops:target',
      ];
      const register = groups.length
        ? [
            `elasticloadbalancing:RegisterTargets of the new instance in ${groups.join(', ')}, and wait until it is healthy in each`,
          ]
        : [];
      const drain = groups.length
        ? [
            `elasticloadbalancing:DeregisterTargets of the old instance from ${groups.join(', ')}, and wait until it has drained`,
          ]
        : [];
      const launch = [
        step.launchTemplate
          ? `ec2:RunInstances from launch template ${step.launchTemplate.id} version ${step.launchTemplate.version}, in the old instance's subnet unless the template names its network interfaces`
          : step.amiId
            ? `ec2:RunInstances from ${step.amiId}`
            : `ec2:RunInstances from the newest AMI tagged stepops:target=${target.name} (ec2:DescribeImages)`,
        step.launchTemplate
          ? "  with the old instance's tags"
          : "  with the old instance's type, subnet, security groups, instance profile, key pair and tags",
        'wait until the new instance passes its status checks and its SSM agent is online',
      ];
      const address = `ec2:AssociateAddress of Elastic IP ${step.elasticIpAllocationId} to the new instance (AllowReassociation)`;
      const stop = ['ec2:StopInstances on the old instance and wait until stopped'];
      const days = Math.round((step.retainOldFor / 86_400) * 10) / 10;
      const retire = [
        `the old instance is retired: tagged stepops:replaced-by-run and stepops:terminate-after, its tags ${selecting.join(', ')} removed (no deploy, probe or runbook selects it again)`,
        `once the run has succeeded it waits ${step.retainOldFor} s (${days} days) and terminates the old instance (ec2:TerminateInstances); stopping the run before keeps it stopped`,
        ...(target.hosts.type === 'ec2' && 'instanceIds' in target.hosts
          ? ["the target lists its instances by id: put the new instance's id in the target file"]
          : []),
      ];
      return [
        `resolve ${hosts}: the instance the run names (--instance), or the only one`,
        ...launch,
        ...(step.dataVolumeDevice
          ? [
              ...drain,
              ...stop,
              `ec2:DetachVolume of the data volume at ${step.dataVolumeDevice}`,
              `ec2:AttachVolume of it to the new instance at ${step.dataVolumeDevice}`,
              address,
              ...register,
            ]
          : [...register, address, ...drain, ...stop]),
        ...retire,
      ];
    }
    case 'restore-rds': {
      const where = step.region ?? region ?? 'the hosts region';
      return [
        step.snapshot === 'latest'
          ? `find the newest stepops snapshot of DB instance ${step.dbInstance} in ${where} (rds:DescribeDBSnapshots); if it is still being created, stop and say so rather than restore an older one`
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
 * The batches a runbook's host steps roll in: its `rolling`, else one host at a time behind a load
 * balancer, every host at once otherwise.
 *
 * @example
 * rollingOf(target, 'restart-app') // { batchSize: 1, maxErrors: 0 } for a target behind a load balancer
 */
export function rollingOf(
  target: Target,
  runbook: string,
): { batchSize: number | string; maxErrors: number | string } {
  const declared = target.recovery?.[runbook]?.rolling;
  const balanced = (target.deploy?.loadBalancer?.targetGroups ?? []).length > 0;
  return {
    batchSize: declared?.batchSize ?? (balanced ? 1 : '100%'),
    maxErrors: declared?.maxErrors ?? 0,
  };
}

/** What a host step does beyond its script: how it rolls, what the hosts must agree on. */
function hostActions(target: Target, runbookName: string, step: RunbookStep): string[] {
  const { batchSize, maxErrors } = rollingOf(target, runbookName);
  const groups = target.deploy?.loadBalancer?.targetGroups ?? [];
  const actions: string[] = [];
  if (step.type === 'script' && step.agree?.before)
    actions.push(
      `every host must answer the same to: ${step.agree.before.split('\n')[0]} (nothing changes otherwise); the answer is $STEPOPS_AGREED`,
    );
  if (groups.length > 0 || batchSize !== '100%')
    actions.push(
      `rolls over the hosts ${batchSize} at a time${groups.length ? `: each batch leaves ${groups.join(', ')} and drains, runs, passes the health gate, joins again and is healthy before the next` : ', each batch passing the health gate before the next'}; stops once more than ${maxErrors} host(s) failed`,
    );
  if (step.type === 'script' && step.agree?.after)
    actions.push(`then every host must answer the same to: ${step.agree.after.split('\n')[0]}`);
  return actions;
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
          actions: hostActions(target, runbookName, step),
          script: render(
            step,
            step.script,
            step.timeout,
            options.agreed?.[step.name] !== undefined ? { AGREED: options.agreed[step.name] as string } : {},
          ),
          timeoutSeconds: step.timeout + SCRIPT_MARGIN_SECONDS,
        };
      case 'restart':
        return {
          ...base,
          runsOn: 'host',
          actions: hostActions(target, runbookName, step),
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
