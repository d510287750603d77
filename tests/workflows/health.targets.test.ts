/**
 * Each real target's `health` section as health rounds on the local engine: the real workflow and
 * handlers, EC2 and SSM mocked (aws-sdk-client-mock), the public HTTP endpoints answered by a
 * stubbed `fetch`. The instances are found by the `stepops:target` tag; every host probe goes out
 * in one Run Command whose script bash parses, and comes back as that host's results; a host probe
 * whose command fails is counted down.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DescribeInstanceStatusCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createLocalHealthEngine } from '../../functions/index.ts';
import { findTarget } from '../../shared/config/registry.ts';
import type { Probe, Target } from '../../shared/config/schema.ts';
import type { HealthRunSummary } from '../../shared/health/contracts.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';

const run = promisify(execFile);
const REAL = ['datizmo', 'docsai', 'shop', 'zmanim', 'ai-chat'] as const;
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

let root: string;
let forget: () => void;
let sent: string[];
/** Host probes whose command the simulated host fails. */
let failing: Set<string>;

/** Probes that run on the hosts, in one command. */
function hostProbes(target: Target): Probe[] {
  return (target.health?.probes ?? []).filter(
    (p) =>
      (p.type === 'http' && p.from === 'host') ||
      p.type === 'command' ||
      p.type === 'systemd' ||
      p.type === 'disk',
  );
}

/** What a healthy host prints for a probe: the body or output its conditions ask for. */
function healthyOutput(probe: Probe): string {
  if (probe.type === 'http') {
    // As the host-side curl prints it: status line, the bodyContains answer, then the body.
    const body = probe.jsonField
      ? JSON.stringify({ [probe.jsonField.path]: probe.jsonField.equals ?? probe.jsonField.oneOf?.[0] })
      : (probe.bodyContains ?? 'ok');
    const contains = probe.bodyContains !== undefined ? 'STEPOPS_CONTAINS yes\n' : '';
    return `STEPOPS_HTTP ${probe.expectStatus?.[0] ?? 200} 0.003 ${Buffer.byteLength(body)}\n${contains}${body}`;
  }
  if (probe.type === 'command' && probe.outputMatches) {
    const matching = ['1', 'active', 'ok'].find((c) => new RegExp(probe.outputMatches!).test(c));
    return `${matching ?? 'ok'}\n`;
  }
  return 'ok\n';
}

function resultLine(name: string, exitCode: number, output: string): string {
  return `STEPOPS_PROBE ${name} ${exitCode} ${Buffer.byteLength(output)} ${Buffer.from(output).toString('base64')}`;
}

function instanceOf(name: string): string {
  return `i-0${Buffer.from(name).toString('hex').padEnd(16, '0').slice(0, 16)}`;
}

function mockAccount(target: Target): void {
  const id = instanceOf(target.name);
  ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: { Name: string; Values: string[] }[] }) => {
    // Only the instance tagged stepops:target = the target is found.
    const tagged = input.Filters?.some(
      (f) => f.Name === 'tag:stepops:target' && f.Values.includes(target.name),
    );
    return { Reservations: tagged ? [{ Instances: [{ InstanceId: id, State: { Name: 'running' } }] }] : [] };
  });
  ec2.on(DescribeInstanceStatusCommand).resolves({
    InstanceStatuses: [
      {
        InstanceId: id,
        InstanceState: { Name: 'running' },
        InstanceStatus: { Status: 'ok' },
        SystemStatus: { Status: 'ok' },
      },
    ],
  });
  ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: [{ InstanceId: id, PingStatus: 'Online' }],
  });
  ssm.on(SendCommandCommand).callsFake((input: { Parameters?: { commands?: string[] } }) => {
    sent.push(input.Parameters?.commands?.join('\n') ?? '');
    return { Command: { CommandId: `cmd-${sent.length}` } };
  });
  ssm.on(GetCommandInvocationCommand).callsFake(() => ({
    Status: 'Success',
    ResponseCode: 0,
    StandardOutputContent: `${hostProbes(target)
      .map((p) =>
        failing.has(p.name)
          ? resultLine(p.name, 1, 'simulated failure\n')
          : resultLine(p.name, 0, healthyOutput(p)),
      )
      .join('\n')}\n`,
  }));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-health-targets-'));
  vi.stubEnv('STEPOPS_HOME', root);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  // The public endpoints: each answers 200 with what its probe looks for.
  vi.stubGlobal('fetch', async () => new Response('status: healthy', { status: 200 }));
  forget = registerFilledTargets();
});

afterAll(async () => {
  forget();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  ec2.reset();
  ssm.reset();
  sent = [];
  failing = new Set();
});

describe.each(REAL)('health rounds of %s', (name) => {
  const engine = createLocalHealthEngine();
  let round = 0;

  /** As many rounds as the target needs to call a probe down; the summaries in order. */
  async function rounds(target: Target): Promise<HealthRunSummary[]> {
    const summaries: HealthRunSummary[] = [];
    for (let i = 0; i < (target.health?.failureThreshold ?? 1); i++) {
      round += 1;
      const result = await engine.start({ target: name }, { executionName: `${name}-round-${round}` }).result;
      expect(result.status).toBe('SUCCEEDED');
      summaries.push(result.output as HealthRunSummary);
    }
    return summaries;
  }

  it('finds the instance by its stepops:target tag and sends every host probe in one command bash parses', async () => {
    // Prepare
    const target = findTarget(name);
    mockAccount(target);

    // Act
    const summaries = await rounds(target);

    // Assess: every probe counted once on the one host; only TLS (no network here) may go down.
    const last = summaries.at(-1)!;
    expect(last.up + last.down).toBe(target.health?.probes.length);
    const events = summaries.flatMap((s) => s.events);
    const tls = new Set((target.health?.probes ?? []).filter((p) => p.type === 'tls').map((p) => p.name));
    expect(events.filter((e) => !tls.has(e.probe))).toEqual([]);
    expect(last.down).toBe(events.filter((e) => e.kind === 'down').length);
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: expect.arrayContaining([{ Name: 'tag:stepops:target', Values: [name] }]),
    });
    expect(sent).toHaveLength(summaries.length); // one command a round
    const file = path.join(root, `${name}-probes.sh`);
    await writeFile(file, sent[0] ?? '');
    await expect(run('bash', ['-n', file])).resolves.toBeDefined();
    for (const probe of hostProbes(target)) expect(sent[0]).toContain(probe.name);
  });

  it('counts a host probe whose command fails as down', async () => {
    // Prepare
    const target = findTarget(name);
    const probe = hostProbes(target).find((p) => p.type === 'command');
    if (!probe) throw new Error(`${name} has no command probe`);
    failing.add(probe.name);
    mockAccount(target);

    // Act
    const summaries = await rounds(target);

    // Assess
    const events = summaries.flatMap((s) => s.events);
    expect(events.filter((e) => e.kind === 'down').map((e) => e.probe)).toContain(probe.name);
    expect(events.find((e) => e.probe === probe.name)?.detail).toContain('simulated failure');
  });
});
