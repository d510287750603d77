/**
 * `stepops check`, end to end: finds the hosts (EC2 and SSM for ec2 hosts, the directories for local
 * ones), sends each the check script through the target's command runner (SSM Run Command, or bash
 * on this machine, as a deploy does), reads the answers, and adds the stage's resources.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Target } from '../config/schema.ts';
import { SsmCommandRunner } from '../drivers/aws/ssm-command-runner.ts';
import { BashCommandRunner } from '../drivers/local/bash-command-runner.ts';
import type { CommandRunner, HostRef, InvocationResult } from '../drivers/ports.ts';
import {
  bucketItem,
  type CheckClients,
  defaultCheckClients,
  findInstances,
  instanceItems,
  slackItems,
} from './aws.ts';
import {
  type CheckHost,
  type CheckItem,
  checkItems,
  checkScriptSeconds,
  parseCheckOutput,
  renderCheckScript,
} from './host-script.ts';
import { hostNeeds } from './needs.ts';

/** What a check needs besides the target; every part injectable for tests. */
export interface CheckOptions {
  /** The stage whose resources are checked (ec2 targets). */
  stage?: { name: string; region: string; env?: NodeJS.ProcessEnv };
  clients?: CheckClients;
  /** The command runner (SSM or bash, as the target's hosts are). */
  runner?: CommandRunner;
  /** Where relative local host directories are (the current directory by default, as deploys resolve them). */
  root?: string;
  sleep?: (ms: number) => Promise<void>;
}

const FINISHED = new Set(['succeeded', 'failed', 'timed-out', 'cancelled']);

/** Sends the script and waits for every host's answer (the script's own time bounds the wait). */
async function runScript(
  runner: CommandRunner,
  hosts: HostRef[],
  script: string,
  seconds: number,
  target: string,
  sleep: (ms: number) => Promise<void>,
): Promise<InvocationResult[]> {
  const handle = await runner.send({
    hosts,
    script,
    timeoutSeconds: seconds,
    comment: `stepops check ${target}`,
    maxConcurrency: String(hosts.length),
    maxErrors: String(hosts.length),
  });
  const deadline = Date.now() + (seconds + 60) * 1000;
  let results = await runner.status(handle);
  while (!results.every((r) => FINISHED.has(r.state)) && Date.now() < deadline) {
    await sleep(runner.statusPaceMs ?? 200);
    results = await runner.status(handle);
  }
  return results;
}

function hostItems(
  target: Target,
  checkHost: CheckHost,
  needs: ReturnType<typeof hostNeeds>,
  result: InvocationResult | undefined,
  hostId: string,
): CheckItem[] {
  if (!result || !FINISHED.has(result.state)) {
    return [
      {
        host: hostId,
        name: 'check script',
        status: 'fail',
        detail: `no answer (${result?.state ?? 'not sent'})`,
      },
    ];
  }
  const lines = parseCheckOutput(result.outputTail);
  if (lines.length === 0) {
    return [
      {
        host: hostId,
        name: 'check script',
        status: 'fail',
        detail: `the script did not run: ${result.outputTail.trim().slice(-500) || result.state}`,
      },
    ];
  }
  return checkItems(target, needs, checkHost, hostId, lines);
}

/**
 * Checks that a target's hosts (and, with a stage, its stage's resources) are ready for its first
 * deploy, and reports each item.
 *
 * @example
 * const items = await runCheck(await loadTarget('demo'));
 * items.filter((i) => i.status === 'fail') // what to fix, each with its fix
 */
export async function runCheck(target: Target, options: CheckOptions = {}): Promise<CheckItem[]> {
  const needs = hostNeeds(target);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const seconds = checkScriptSeconds(needs);
  const items: CheckItem[] = [];
  if (target.hosts.type === 'local') {
    const root = options.root ?? process.cwd();
    const runner = options.runner ?? new BashCommandRunner();
    const user = userInfo().username;
    const directories = Array.isArray(target.hosts.directory)
      ? target.hosts.directory
      : [target.hosts.directory];
    for (const entry of directories) {
      const directory = path.resolve(root, entry);
      const id = `local:${entry}`;
      if (!existsSync(directory)) {
        // The local runner runs in the host's directory: without it, nothing can run there.
        items.push({
          host: id,
          name: 'working directory',
          status: 'fail',
          detail: `${directory} does not exist`,
          fix: needs.deploys
            ? `clone the repository there: git clone <repository URL> ${directory}`
            : `mkdir -p ${directory}`,
        });
        continue;
      }
      const host: CheckHost = { workingDirectory: directory, user };
      const script = renderCheckScript(target, needs, host);
      const [result] = await runScript(
        runner,
        [{ kind: 'local', id, directory }],
        script,
        seconds,
        target.name,
        sleep,
      );
      items.push(...hostItems(target, host, needs, result, id));
    }
    return items;
  }
  const hosts = target.hosts;
  const clients = options.clients ?? defaultCheckClients;
  const instances = await findInstances(hosts, clients);
  items.push(...instanceItems(target as Target & { hosts: { type: 'ec2' } }, instances));
  const online = instances.filter((i) => i.state === 'running' && i.ping === 'Online');
  if (online.length > 0) {
    const host: CheckHost = { workingDirectory: hosts.workingDirectory, user: hosts.user };
    const runner =
      options.runner ?? new SsmCommandRunner({ client: clients.ssm, deliveryTimeoutSeconds: 60 });
    const refs: HostRef[] = online.map((i) => ({ kind: 'ec2', id: i.id, region: hosts.region }));
    const script = renderCheckScript(target, needs, host);
    const results = await runScript(runner, refs, script, seconds, target.name, sleep);
    for (const ref of refs) {
      items.push(
        ...hostItems(
          target,
          host,
          needs,
          results.find((r) => r.hostId === ref.id),
          ref.id,
        ),
      );
    }
  }
  if (options.stage) {
    items.push(...(await slackItems(target, options.stage, clients.ssm)));
    for (const job of target.backup ?? []) {
      if (job.type === 'dump') items.push(await bucketItem(target, job, options.stage.name, clients));
    }
  }
  return items;
}

/**
 * The report: one line per item (✓, ✗ or !), its host, what was found, and under each failure how
 * to fix it; then a count.
 *
 * @example
 * formatReport([{ name: 'git clone', host: 'i-0abc', status: 'fail', detail: '…', fix: '…' }])
 */
export function formatReport(items: readonly CheckItem[]): string[] {
  const mark = { pass: '✓', fail: '✗', warn: '!' } as const;
  const lines = items.flatMap((item) => [
    `${mark[item.status]} ${item.host ? `${item.host}: ` : ''}${item.name}: ${item.detail}`,
    ...(item.fix && item.status !== 'pass' ? [`    fix: ${item.fix}`] : []),
  ]);
  const failed = items.filter((i) => i.status === 'fail').length;
  const warned = items.filter((i) => i.status === 'warn').length;
  lines.push(
    failed === 0
      ? `ready: ${items.length} checks passed${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}`
      : `not ready: ${failed} of ${items.length} checks failed${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}`,
  );
  return lines;
}
