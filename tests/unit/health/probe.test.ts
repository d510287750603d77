import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { DescribeInstanceStatusCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { probeSchema } from '../../../shared/config/schema.ts';
import { BashCommandRunner } from '../../../shared/drivers/local/bash-command-runner.ts';
import type { HostRef } from '../../../shared/drivers/ports.ts';
import {
  type CommandProbe,
  commandProbe,
  ec2StatusProbe,
  fieldAt,
  type HttpProbe,
  httpProbe,
  StandardProbeRunner,
  ssmAgentProbe,
  type TlsProbe,
  tlsProbe,
} from '../../../shared/health/probe.ts';
import { loopbackCertificate } from '../../helpers/tls.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function listen(
  server: Server | ReturnType<typeof createTlsServer> | ReturnType<typeof createNetServer>,
): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** A probe as a target file would declare it, defaults applied by the schema. */
function http(fields: Record<string, unknown>): HttpProbe {
  return probeSchema.parse({ name: 'site', type: 'http', ...fields }) as HttpProbe;
}

describe('httpProbe', () => {
  let server: Server;
  let base: string;
  const routes = new Map<string, Handler>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const handler = routes.get(req.url ?? '');
      if (handler) handler(req, res);
      else res.writeHead(404).end('not found');
    });
    base = `http://127.0.0.1:${await listen(server)}`;
    routes.set('/health', (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('all healthy'),
    );
    routes.set('/down', (_req, res) => res.writeHead(503).end('maintenance'));
    routes.set('/created', (req, res) => res.writeHead(req.method === 'POST' ? 201 : 405).end());
    routes.set('/es', (_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ cluster: { status: 'red' }, ok: true, nodes: 3 })),
    );
    routes.set('/not-json', (_req, res) => res.writeHead(200).end('<html>'));
    routes.set('/slow', (_req, res) => setTimeout(() => res.writeHead(200).end('late'), 300));
    routes.set('/hang', () => {});
    routes.set('/huge', (_req, res) => {
      res.writeHead(200);
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 40 && res.write(chunk)) sent++;
        if (sent < 40) res.once('drain', more);
        else res.end('needle');
      };
      more();
    });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('passes on an expected status and says what passed', async () => {
    const result = await httpProbe(http({ url: `${base}/health` }));
    expect(result).toMatchObject({ probe: 'site', ok: true });
    expect(result.detail).toMatch(/^200 in \d+ ms$/);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('fails on another status', async () => {
    const result = await httpProbe(http({ url: `${base}/down` }));
    expect(result).toMatchObject({ ok: false, detail: 'expected status 200, got 503' });
  });

  it('accepts any of several statuses and uses the method', async () => {
    expect(
      (await httpProbe(http({ url: `${base}/created`, method: 'POST', expectStatus: [200, 201] }))).ok,
    ).toBe(true);
    const get = await httpProbe(http({ url: `${base}/created`, expectStatus: [200, 201] }));
    expect(get.detail).toBe('expected status 200 or 201, got 405');
  });

  it('checks the body contains a text', async () => {
    expect((await httpProbe(http({ url: `${base}/health`, bodyContains: 'healthy' }))).ok).toBe(true);
    const result = await httpProbe(http({ url: `${base}/health`, bodyContains: 'ready' }));
    expect(result).toMatchObject({ ok: false, detail: 'body does not contain "ready"' });
  });

  it('checks a JSON field against one of several values', async () => {
    const pass = await httpProbe(
      http({ url: `${base}/es`, jsonField: { path: 'cluster.status', oneOf: ['green', 'yellow', 'red'] } }),
    );
    expect(pass.ok).toBe(true);
    const fail = await httpProbe(
      http({ url: `${base}/es`, jsonField: { path: 'cluster.status', oneOf: ['green', 'yellow'] } }),
    );
    expect(fail).toMatchObject({
      ok: false,
      detail: 'cluster.status is "red", expected one of green, yellow',
    });
  });

  it('checks a JSON field equals a value, of any JSON type', async () => {
    expect((await httpProbe(http({ url: `${base}/es`, jsonField: { path: 'ok', equals: true } }))).ok).toBe(
      true,
    );
    expect((await httpProbe(http({ url: `${base}/es`, jsonField: { path: 'nodes', equals: 3 } }))).ok).toBe(
      true,
    );
    const fail = await httpProbe(http({ url: `${base}/es`, jsonField: { path: 'nodes', equals: 5 } }));
    expect(fail.detail).toBe('nodes is 3, expected 5');
    const missing = await httpProbe(
      http({ url: `${base}/es`, jsonField: { path: 'cluster.name', equals: 'x' } }),
    );
    expect(missing.detail).toBe('field cluster.name is missing');
  });

  it('fails a JSON condition on a body that is not JSON', async () => {
    const result = await httpProbe(
      http({ url: `${base}/not-json`, jsonField: { path: 'status', equals: 'up' } }),
    );
    expect(result).toMatchObject({ ok: false, detail: 'body is not JSON, expected field status' });
  });

  it('reads at most PROBE_BODY_LIMIT bytes of a body', async () => {
    const result = await httpProbe(http({ url: `${base}/huge`, bodyContains: 'needle' }));
    expect(result).toMatchObject({ ok: false, detail: 'body does not contain "needle"' });
  });

  it('fails when slower than the latency limit, and passes within it', async () => {
    const slow = await httpProbe(http({ url: `${base}/slow`, maxLatencyMs: 100 }));
    expect(slow.ok).toBe(false);
    expect(slow.detail).toMatch(/^took \d+ ms, limit 100 ms$/);
    expect((await httpProbe(http({ url: `${base}/slow`, maxLatencyMs: 30_000 }))).ok).toBe(true);
  });

  it('times out a server that never answers', async () => {
    const result = await httpProbe(http({ url: `${base}/hang`, timeout: 1 }));
    expect(result).toMatchObject({ ok: false, detail: 'timed out after 1 s' });
  });

  it('says connection refused when nothing listens', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const result = await httpProbe(http({ url: `http://127.0.0.1:${port}/health` }));
    expect(result).toMatchObject({ ok: false, detail: 'connection refused' });
  });

  it('reads dotted paths only through objects', () => {
    expect(fieldAt({ a: { b: 1 } }, 'a.b')).toBe(1);
    expect(fieldAt({ a: 'text' }, 'a.length')).toBeUndefined();
    expect(fieldAt(null, 'a')).toBeUndefined();
  });
});

describe('tlsProbe', () => {
  let cert: string;
  let server: ReturnType<typeof createTlsServer>;
  let port: number;

  beforeAll(async () => {
    // A self-signed certificate valid for 30 days, made with openssl at test time.
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      throw new Error('the TLS probe tests need the openssl command to make a self-signed certificate');
    }
    let key: string;
    ({ key, cert } = loopbackCertificate(30));
    server = createTlsServer({ key, cert }, (socket) => socket.end());
    port = await listen(server);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const probe = (fields: Partial<TlsProbe> = {}): TlsProbe =>
    ({
      name: 'cert',
      type: 'tls',
      host: '127.0.0.1',
      port,
      minDaysLeft: 14,
      timeout: 5,
      ...fields,
    }) as TlsProbe;

  it('passes when the certificate has more days left than required', async () => {
    const result = await tlsProbe(probe(), { ca: cert });
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/^certificate valid for (29|30) more days \(until .+\)$/);
  });

  it('fails when the certificate expires sooner than required', async () => {
    const result = await tlsProbe(probe({ minDaysLeft: 60 }), { ca: cert });
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^certificate expires in (29|30) days \(.+\), limit 60$/);
  });

  it('fails on an expired certificate', async () => {
    const later = new Date(Date.now() + 40 * 86_400_000);
    const result = await tlsProbe(probe(), { ca: cert, now: () => later });
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^certificate expired on /);
  });

  it('fails on a certificate nobody trusts', async () => {
    const result = await tlsProbe(probe());
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('certificate not trusted: DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('says connection refused when nothing listens', async () => {
    const closed = createServer();
    const freePort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const result = await tlsProbe(probe({ port: freePort }), { ca: cert });
    expect(result).toMatchObject({ ok: false, detail: 'connection refused' });
  });

  it('times out a server that never completes the handshake', async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => sockets.push(socket));
    const silentPort = await listen(silent);
    const result = await tlsProbe(probe({ port: silentPort, timeout: 1 }), { ca: cert });
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    expect(result).toMatchObject({ ok: false, detail: 'timed out after 1 s' });
  });
});

describe('commandProbe on a local host', () => {
  let home: string;
  let host: HostRef;
  const previousHome = process.env.STEPOPS_HOME;

  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'stepops-home-'));
    process.env.STEPOPS_HOME = home;
    host = { kind: 'local', id: 'local:app', directory: home };
  });

  afterEach(async () => {
    if (previousHome === undefined) delete process.env.STEPOPS_HOME;
    else process.env.STEPOPS_HOME = previousHome;
    await rm(home, { recursive: true, force: true });
  });

  const probe = (fields: Record<string, unknown>): CommandProbe =>
    probeSchema.parse({ name: 'pm2', type: 'command', ...fields }) as CommandProbe;
  const run = (p: CommandProbe) => commandProbe(p, [host], new BashCommandRunner(), { pollIntervalMs: 50 });

  it('passes on the expected exit code and names the host', async () => {
    const [result] = await run(probe({ script: 'echo "backend online"' }));
    expect(result).toMatchObject({
      probe: 'pm2',
      host: 'local:app',
      ok: true,
      detail: 'exit code 0: backend online',
    });
  });

  it('fails on another exit code, with the last line of output', async () => {
    const [result] = await run(probe({ script: 'echo "backend errored" >&2; exit 3' }));
    expect(result).toMatchObject({ ok: false });
    expect(result?.detail).toBe('exit code 3, expected 0: backend errored');
  });

  it('accepts a non-zero expected exit code', async () => {
    const [result] = await run(probe({ script: 'exit 2', expectExitCode: 2 }));
    expect(result?.ok).toBe(true);
  });

  it('checks the output against a pattern', async () => {
    expect(
      (await run(probe({ script: 'echo "status: online"', outputMatches: '^status: online$' })))[0]?.ok,
    ).toBe(true);
    const [result] = await run(
      probe({ script: 'echo "status: stopped"', outputMatches: '^status: online$' }),
    );
    expect(result).toMatchObject({ ok: false, detail: 'output does not match /^status: online$/' });
  });

  it('runs through the standard probe runner too', async () => {
    const runner = new StandardProbeRunner({ commands: new BashCommandRunner(), pollIntervalMs: 50 });
    const results = await runner.run(probe({ script: 'true' }), [host]);
    expect(results).toEqual([expect.objectContaining({ probe: 'pm2', host: 'local:app', ok: true })]);
  });
});

describe('ec2StatusProbe and ssmAgentProbe', () => {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  const hosts: HostRef[] = [
    { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' },
    { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa2', region: 'eu-west-1' },
    { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa3', region: 'eu-west-1' },
  ];

  beforeEach(() => {
    ec2.reset();
    ssm.reset();
  });

  it('passes instances whose instance and system checks are ok', async () => {
    // Prepare
    ec2.on(DescribeInstanceStatusCommand).resolves({
      InstanceStatuses: [
        {
          InstanceId: 'i-0aaaaaaaaaaaaaaa1',
          InstanceState: { Name: 'running' },
          InstanceStatus: { Status: 'ok' },
          SystemStatus: { Status: 'ok' },
        },
        {
          InstanceId: 'i-0aaaaaaaaaaaaaaa2',
          InstanceState: { Name: 'running' },
          InstanceStatus: { Status: 'impaired' },
          SystemStatus: { Status: 'ok' },
        },
        { InstanceId: 'i-0aaaaaaaaaaaaaaa3', InstanceState: { Name: 'stopped' } },
      ],
    });

    // Act
    const results = await ec2StatusProbe({ name: 'ec2', type: 'ec2-status' }, hosts);

    // Assess
    expect(results).toEqual([
      { probe: 'ec2', host: 'i-0aaaaaaaaaaaaaaa1', ok: true, detail: 'instance status ok, system status ok' },
      {
        probe: 'ec2',
        host: 'i-0aaaaaaaaaaaaaaa2',
        ok: false,
        detail: 'instance status impaired, system status ok',
      },
      { probe: 'ec2', host: 'i-0aaaaaaaaaaaaaaa3', ok: false, detail: 'instance is stopped' },
    ]);
    expect(ec2.commandCalls(DescribeInstanceStatusCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa3'],
      IncludeAllInstances: true,
    });
  });

  it('asks EC2 about at most 100 instances per call (DescribeInstanceStatus takes no more)', async () => {
    // Prepare
    const fleet: HostRef[] = Array.from({ length: 250 }, (_, i) => ({
      kind: 'ec2',
      id: `i-${String(i).padStart(17, '0')}`,
      region: 'eu-west-1',
    }));
    ec2.on(DescribeInstanceStatusCommand).callsFake((input: { InstanceIds: string[] }) => ({
      InstanceStatuses: input.InstanceIds.map((id) => ({
        InstanceId: id,
        InstanceState: { Name: 'running' },
        InstanceStatus: { Status: 'ok' },
        SystemStatus: { Status: 'ok' },
      })),
    }));

    // Act
    const results = await ec2StatusProbe({ name: 'ec2', type: 'ec2-status' }, fleet);

    // Assess
    const calls = ec2
      .commandCalls(DescribeInstanceStatusCommand)
      .map((c) => c.args[0].input.InstanceIds ?? []);
    expect(calls.map((ids) => ids.length)).toEqual([100, 100, 50]);
    expect(calls.flat()).toEqual(fleet.map((h) => h.id));
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('fails the hosts, not the run, when EC2 does not know an instance', async () => {
    ec2
      .on(DescribeInstanceStatusCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'InvalidInstanceID.NotFound' }));
    const results = await ec2StatusProbe({ name: 'ec2', type: 'ec2-status' }, hosts);
    expect(results.map((r) => [r.ok, r.detail])).toEqual(
      hosts.map(() => [false, 'EC2 does not know the instance (InvalidInstanceID.NotFound)']),
    );
  });

  it('passes hosts whose SSM agent is online', async () => {
    // Prepare
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: 'i-0aaaaaaaaaaaaaaa1', PingStatus: 'Online' },
        { InstanceId: 'i-0aaaaaaaaaaaaaaa2', PingStatus: 'ConnectionLost' },
      ],
    });

    // Act
    const results = await ssmAgentProbe({ name: 'agent', type: 'ssm-agent' }, hosts);

    // Assess
    expect(results.map((r) => [r.ok, r.detail])).toEqual([
      [true, 'SSM agent online'],
      [false, 'SSM agent ConnectionLost'],
      [false, 'not registered with SSM'],
    ]);
    expect(ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: hosts.map((h) => h.id) }],
    });
  });

  it('fails local hosts for ec2-only probes without calling AWS', async () => {
    const local: HostRef = { kind: 'local', id: 'local:x', directory: '/tmp' };
    const [result] = await ssmAgentProbe({ name: 'agent', type: 'ssm-agent' }, [local]);
    expect(result).toMatchObject({ ok: false, detail: 'needs an ec2 host; local:x is local' });
    expect(ssm).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
  });
});
