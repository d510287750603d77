import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, get as httpsGet, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeInstanceStatusCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { probeSchema, type Target } from '../../../shared/config/schema.ts';
import { hostDirectoryFor } from '../../../shared/drivers/hosts.ts';
import type { ProbeRunner } from '../../../shared/drivers/ports.ts';
import { type HealthDeps, probeTargetStep } from '../../../shared/health/check.ts';
import { type HttpProbe, httpWithCertificate } from '../../../shared/health/probe.ts';
import { probeRunnerFor } from '../../../shared/health/probe-runner.ts';
import { runProbeRound } from '../../../shared/health/round.ts';
import { loopbackCertificate } from '../../helpers/tls.ts';

const ONLINE = 'i-0aaaaaaaaaaaaaaa1';
const OFFLINE = 'i-0aaaaaaaaaaaaaaa2';

function deps(target: Target): HealthDeps {
  const none = () => {
    throw new Error('not used');
  };
  return {
    findTarget: () => target,
    hosts: (t) => hostDirectoryFor(t),
    probes: (t) => probeRunnerFor(t),
    store: none,
    leases: none,
    recoveries: none,
    notifier: none,
    fallbackNotifier: none,
    now: () => Date.parse('2026-03-02T10:00:00Z'),
  };
}

describe('the probe round of check-target on an ec2 target', () => {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  afterEach(() => {
    ec2.reset();
    ssm.reset();
    clearRegisteredTargets();
  });

  it('shows an offline SSM agent as its own down probe and runs host probes on the online instance only', async () => {
    // Prepare
    registerTarget({
      name: 'agent-offline',
      description: 'two instances, one agent offline',
      hosts: {
        type: 'ec2',
        region: 'eu-west-1',
        instanceIds: [ONLINE, OFFLINE],
        workingDirectory: '/opt/app',
      },
      health: {
        schedule: 'rate(1 minute)',
        probes: [
          { name: 'api', type: 'http', from: 'host', url: 'http://127.0.0.1:8080/health' },
          { name: 'units', type: 'systemd', units: ['zmanim-api'] },
          { name: 'agent', type: 'ssm-agent' },
          { name: 'status', type: 'ec2-status' },
        ],
      },
    });
    const target = findTarget('agent-offline');
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: ONLINE }, { InstanceId: OFFLINE }] }],
    });
    ec2.on(DescribeInstanceStatusCommand).resolves({
      InstanceStatuses: [ONLINE, OFFLINE].map((id) => ({
        InstanceId: id,
        InstanceState: { Name: 'running' },
        InstanceStatus: { Status: 'ok' },
        SystemStatus: { Status: 'ok' },
      })),
    });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: ONLINE, PingStatus: 'Online' },
        { InstanceId: OFFLINE, PingStatus: 'ConnectionLost' },
      ],
    });
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const line = (name: string, output: string) =>
      `STEPOPS_PROBE ${name} 0 ${Buffer.byteLength(output)} ${Buffer.from(output).toString('base64')}`;
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${line('api', 'STEPOPS_HTTP 200 0.003 2\nok')}\n${line('units', 'active: zmanim-api\n')}\n`,
    });

    // Act
    const round = await probeTargetStep({ target: target.name, runId: 'r1' }, deps(target));

    // Assess
    expect(round.hosts).toBe(1);
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { InstanceIds: [ONLINE] });
    expect(round.results.map((r) => [r.probe, r.host, r.ok, r.detail])).toEqual([
      ['api', ONLINE, true, '200 in 3 ms'],
      ['units', ONLINE, true, 'exit code 0: active: zmanim-api'],
      ['agent', ONLINE, true, 'SSM agent online'],
      ['agent', OFFLINE, false, 'SSM agent ConnectionLost'],
      ['status', ONLINE, true, 'instance status ok, system status ok'],
      ['status', OFFLINE, true, 'instance status ok, system status ok'],
    ]);
  });

  it('on a target without an ssm-agent probe, reports the host probes of a host whose agent is offline down (not skipped), and sends the round with a 30 s delivery timeout', async () => {
    // Prepare: DescribeInstanceInformation reports PingStatus Online | ConnectionLost | Inactive
    // (SSM API reference, InstanceInformation); an instance SSM does not know is not listed.
    const UNKNOWN = 'i-0aaaaaaaaaaaaaaa3';
    registerTarget({
      name: 'agent-lost',
      description: 'three instances, one agent lost, one never registered',
      hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'lost' }, workingDirectory: '/opt/app' },
      health: { schedule: 'rate(1 minute)', probes: [{ name: 'units', type: 'systemd', units: ['api'] }] },
    });
    const target = findTarget('agent-lost');
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [{ InstanceId: ONLINE }, { InstanceId: OFFLINE }, { InstanceId: UNKNOWN }] },
      ],
    });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: ONLINE, PingStatus: 'Online' },
        { InstanceId: OFFLINE, PingStatus: 'ConnectionLost' },
      ],
    });
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-2' } });
    const output = 'active: api\n';
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `STEPOPS_PROBE units 0 ${Buffer.byteLength(output)} ${Buffer.from(output).toString('base64')}\n`,
    });

    // Act
    const round = await probeTargetStep({ target: target.name, runId: 'r2' }, deps(target));

    // Assess
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { InstanceIds: [ONLINE], TimeoutSeconds: 30 });
    expect(round.results.map((r) => [r.probe, r.host, r.ok, r.detail])).toEqual([
      ['units', ONLINE, true, 'exit code 0: active: api'],
      ['units', OFFLINE, false, 'the host cannot take commands: its SSM agent is ConnectionLost'],
      [
        'units',
        UNKNOWN,
        false,
        'the host cannot take commands: it is not registered with Systems Manager (no SSM agent reporting)',
      ],
    ]);
  });
});

describe('the probe round of check-target while the hosts are looked up', () => {
  afterEach(() => clearRegisteredTargets());

  it('sends the probes that need no host before the host lookup answers, and runs host probes on what it found', async () => {
    // Prepare: the lookup answers only once the HTTP probe has reached the endpoint (or after 20 s,
    // which a round that waited for the lookup first would take, and fail on)
    let endpointReached: () => void = () => {};
    const reached = new Promise<'probed'>((resolve) => {
      endpointReached = () => resolve('probed');
    });
    const server = createHttpServer((_req, res) => {
      endpointReached();
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    registerTarget({
      name: 'lookup-overlap',
      description: 'an endpoint and a host command',
      hosts: { type: 'local', directory: '.' },
      health: {
        schedule: 'rate(1 minute)',
        probes: [
          { name: 'site', type: 'http', url },
          { name: 'uptime', type: 'command', script: 'true' },
        ],
      },
    });
    const target = findTarget('lookup-overlap');
    const host = { kind: 'local' as const, id: 'local:.', directory: '.' };
    const seenByLookup: string[] = [];
    const lookup = async () => {
      seenByLookup.push(await Promise.race([reached, sleep(20_000).then(() => 'timed out' as const)]));
      return [host];
    };
    const probed: string[][] = [];
    const runner: ProbeRunner = {
      run: async (probe, hosts) => {
        probed.push([probe.name, ...hosts.map((h) => h.id)]);
        return probeRunnerFor(target).run(probe, hosts);
      },
    };

    // Act
    try {
      const round = await probeTargetStep(
        { target: 'lookup-overlap', runId: 'r1' },
        { ...deps(target), hosts: () => ({ resolve: lookup }), probes: () => runner },
      );

      // Assess
      expect(seenByLookup).toEqual(['probed']);
      expect(probed).toEqual([['site'], ['uptime', 'local:.']]);
      expect(round.hosts).toBe(1);
      expect(round.results.map((r) => [r.probe, r.ok])).toEqual([
        ['site', true],
        ['uptime', true],
      ]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('runProbeRound', () => {
  it('cuts a probe that hangs at its bound and keeps the other results', async () => {
    // Prepare
    const hang = probeSchema.parse({ name: 'hang', type: 'http', url: 'https://x.example/', timeout: 1 });
    const quick = probeSchema.parse({ name: 'quick', type: 'http', url: 'https://y.example/', timeout: 1 });
    const runner: ProbeRunner = {
      run: (probe) =>
        probe.name === 'hang'
          ? new Promise(() => undefined)
          : Promise.resolve([{ probe: probe.name, ok: true, detail: '200 in 1 ms' }]),
    };

    // Act
    const results = await runProbeRound(runner, [hang, quick], []);

    // Assess
    expect(results).toEqual([
      { probe: 'hang', ok: false, detail: 'timed out after 3 s' },
      { probe: 'quick', ok: true, detail: '200 in 1 ms' },
    ]);
  });
});

describe('httpWithCertificate', () => {
  let cert: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    let key: string;
    ({ key, cert } = loopbackCertificate(20));
    server = createHttpsServer({ key, cert }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('status: healthy'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** A fetch that trusts the test certificate (the global one trusts the system roots only). */
  const trustingFetch = ((url: string | URL) =>
    new Promise<Response>((resolve, reject) => {
      httpsGet(url, { ca: cert }, (res) =>
        resolve(new Response(Readable.toWeb(res) as ReadableStream, { status: res.statusCode ?? 0 })),
      ).on('error', reject);
    })) as typeof fetch;

  const probe = (fields: Record<string, unknown>) =>
    probeSchema.parse({
      name: 'site',
      type: 'http',
      url: `https://127.0.0.1:${port}/`,
      timeout: 5,
      ...fields,
    }) as HttpProbe;

  it('passes the body and certificate conditions together, and fails on too few days left', async () => {
    // Act
    const ok = await httpWithCertificate(
      probe({ bodyMatches: '^status: (healthy|ok)$', minCertDaysLeft: 7 }),
      { fetch: trustingFetch, ca: cert },
    );
    const short = await httpWithCertificate(probe({ minCertDaysLeft: 30 }), {
      fetch: trustingFetch,
      ca: cert,
    });
    const body = await httpWithCertificate(probe({ bodyMatches: '^down$' }), {
      fetch: trustingFetch,
      ca: cert,
    });

    // Assess
    expect(ok).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^200 in \d+ ms, certificate valid for 19 more days/),
    });
    expect(short).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^certificate expires in 19 days .*, limit 30$/),
    });
    expect(body).toMatchObject({ ok: false, detail: 'body does not match /^down$/' });
  });
});
