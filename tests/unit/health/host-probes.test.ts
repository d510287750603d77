/**
 * Host-side probes (`command`, and `http` declared `from: 'host'`) run on the host through the
 * target's command runner, as one command per round: on ec2 hosts through SSM (mocked at the
 * command level, and the prober itself opening no socket), on local hosts with bash against real
 * HTTP servers on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SendCommandCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { probeSchema, type Target, type TargetInput } from '../../../shared/config/schema.ts';
import { INITIAL_GATE } from '../../../shared/deploy/contracts.ts';
import type { DeployDeps } from '../../../shared/deploy/deps.ts';
import { checkHealthStep } from '../../../shared/deploy/steps/check-health.ts';
import { SsmCommandRunner } from '../../../shared/drivers/aws/ssm-command-runner.ts';
import type { Drivers } from '../../../shared/drivers/index.ts';
import { BashCommandRunner } from '../../../shared/drivers/local/bash-command-runner.ts';
import type { HostRef } from '../../../shared/drivers/ports.ts';
import { createLambdaContext } from '../../../shared/engine/lambda.ts';
import {
  type HostSideProbe,
  keptBytes,
  parseHostProbeOutput,
  renderHostProbeBatch,
  runHostProbes,
} from '../../../shared/health/host-probes.ts';
import { StandardProbeRunner } from '../../../shared/health/probe.ts';
import { probeRunnerFor } from '../../../shared/health/probe-runner.ts';
import { freePort } from '../../helpers/net.ts';
import { shellcheck } from '../../helpers/shellcheck.ts';

const INSTANCES = ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2'];
const EC2_HOSTS: HostRef[] = INSTANCES.map((id) => ({ kind: 'ec2', id, region: 'eu-west-1' }));

function hostProbe(fields: Record<string, unknown>): HostSideProbe {
  return probeSchema.parse(fields) as HostSideProbe;
}

/** A result line as the batch script prints it (see renderHostProbeBatch). */
function resultLine(name: string, code: number, output: string): string {
  const bytes = Buffer.from(output);
  return `STEPOPS_PROBE ${name} ${code} ${bytes.length} ${bytes.toString('base64')}`;
}

/** What stdout of the batch looks like on a host: the step marker, then one line per probe. */
function batchStdout(lines: string[]): string {
  return `==> step 1/1: probes\n${lines.join('\n')}\n`;
}

/** Runs a script with bash without blocking this process (its HTTP servers must answer curl). */
function runBash(script: string): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.on('close', (status) => resolve({ status, stdout }));
  });
}

function fakeDeps(target: Target, drivers: Partial<Drivers>): DeployDeps & { clock: { t: number } } {
  const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
  return {
    clock,
    findTarget: (name) => {
      if (name !== target.name) throw new Error(`unexpected target ${name}`);
      return target;
    },
    driversFor: () => drivers as Drivers,
    fallbackNotifier: () => ({ publish: async () => undefined }),
    now: () => clock.t,
    sleep: async (ms) => {
      clock.t += ms;
    },
  };
}

const SHOP_LIKE: TargetInput = {
  name: 'host-probe-ec2',
  description: 'an ec2 target whose endpoints listen only on the host',
  hosts: {
    type: 'ec2',
    region: 'eu-west-1',
    instanceIds: INSTANCES,
    user: 'ubuntu',
    workingDirectory: '/opt/shop',
  },
  deploy: {
    steps: [{ name: 'up', script: 'docker compose up -d', timeout: 300 }],
    rollback: [{ name: 'up', script: 'docker compose up -d', timeout: 300 }],
    healthGate: {
      probes: ['gateway', 'elasticsearch', 'containers'],
      timeout: 120,
      interval: 5,
      successes: 2,
    },
  },
  health: {
    schedule: 'rate(1 minute)',
    probes: [
      {
        name: 'gateway',
        type: 'http',
        from: 'host',
        url: 'http://127.0.0.1:5921/health',
        bodyContains: 'ok',
      },
      {
        name: 'elasticsearch',
        type: 'http',
        from: 'host',
        url: 'http://127.0.0.1:9200/_cluster/health',
        jsonField: { path: 'status', oneOf: ['green', 'yellow'] },
      },
      { name: 'containers', type: 'command', script: 'docker compose ps --status running -q | grep -q .' },
    ],
  },
};

describe('host-side probes of an ec2 target, through SSM', () => {
  const ssm = mockClient(SSMClient);
  let target: Target;
  const opened: string[] = [];

  beforeEach(() => {
    ssm.reset();
    opened.length = 0;
    registerTarget(SHOP_LIKE);
    target = findTarget('host-probe-ec2');
    // The prober must not open a socket of its own: every request is made on the host.
    vi.stubGlobal('fetch', async (url: unknown) => {
      opened.push(`fetch ${String(url)}`);
      throw new Error('the prober opened a connection');
    });
    vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (
      this: net.Socket,
      ...args: unknown[]
    ) {
      opened.push(`connect ${JSON.stringify(args[0])}`);
      throw new Error('the prober opened a socket');
    });
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    clearRegisteredTargets();
  });

  /** SSM lists every command as finished on both instances (a command of several is read whole first). */
  function listFinished(status: 'Success' | 'Failed' = 'Success'): void {
    ssm.on(ListCommandsCommand).callsFake(async (input: { CommandId?: string }) => ({
      Commands: [{ CommandId: input.CommandId, Status: status, TargetCount: 2, CompletedCount: 2 }],
    }));
  }

  function answerEveryInstance(stdout: string, status: 'Success' | 'Failed' = 'Success', code = 0): void {
    listFinished(status);
    let sent = 0;
    ssm.on(SendCommandCommand).callsFake(async () => ({ Command: { CommandId: `cmd-${++sent}` } }));
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: status,
      ResponseCode: code,
      StandardOutputContent: stdout,
      StandardErrorContent: '',
    });
  }

  it('sends one curl script per round to the instances and passes the gate, opening no socket', async () => {
    // Prepare
    answerEveryInstance(
      batchStdout([
        resultLine('gateway', 0, 'STEPOPS_HTTP 200 0.004 2\nSTEPOPS_CONTAINS yes\nok'),
        resultLine('elasticsearch', 0, 'STEPOPS_HTTP 200 0.011 18\n{"status":"green"}'),
        resultLine('containers', 0, ''),
      ]),
    );
    const deps = fakeDeps(target, { probes: probeRunnerFor(target) });
    const healthGate = {
      probes: ['gateway', 'elasticsearch', 'containers'],
      timeoutSeconds: 120,
      intervalSeconds: 5,
      successes: 2,
    };

    // Act
    const gate = await checkHealthStep(
      { target: target.name, hosts: EC2_HOSTS, healthGate, gate: INITIAL_GATE },
      deps,
      () => 85_000,
    );

    // Assess
    expect(opened).toEqual([]);
    expect(gate).toMatchObject({ status: 'healthy', rounds: 2, consecutive: 2 });
    expect(gate.last?.filter((r) => r.ok)).toHaveLength(6);
    const sends = ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input as SendCommandCommandInput);
    expect(sends).toHaveLength(2);
    const [first] = sends;
    expect(first).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: INSTANCES,
      Comment: 'stepops probes host-probe-ec2',
    });
    expect(first?.Parameters?.workingDirectory).toEqual(['/opt/shop']);
    const script = first?.Parameters?.commands?.[0] ?? '';
    expect(script).toBe(
      renderHostProbeBatch(target.health!.probes as HostSideProbe[], {
        target: target.name,
        workingDirectory: '/opt/shop',
        user: 'ubuntu',
      }).script,
    );
    expect(script).toContain('curl --silent --show-error --max-time 10 --request GET');
    expect(script).toContain('http://127.0.0.1:5921/health');
    expect(script).toContain('http://127.0.0.1:9200/_cluster/health');
    expect(script).toContain("sudo -u 'ubuntu'");
    expect(
      ssm
        .commandCalls(GetCommandInvocationCommand)
        .map((c) => c.args[0].input.InstanceId)
        .sort(),
    ).toEqual([...INSTANCES, ...INSTANCES].sort());
  });

  it('the check-health Lambda itself sends the probe command over SSM and opens no socket', async () => {
    // Prepare
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    answerEveryInstance(
      batchStdout([
        resultLine('gateway', 0, 'STEPOPS_HTTP 200 0.004 2\nSTEPOPS_CONTAINS yes\nok'),
        resultLine('elasticsearch', 0, 'STEPOPS_HTTP 200 0.011 18\n{"status":"green"}'),
        resultLine('containers', 0, ''),
      ]),
    );
    const { handler } = await import('../../../functions/check-health/handler.ts');
    const context = createLambdaContext({
      arn: 'arn:aws:lambda:eu-west-1:123456789012:function:check-health',
      timeoutSeconds: 90,
    });
    const event = {
      target: target.name,
      hosts: EC2_HOSTS,
      healthGate: {
        probes: ['gateway', 'elasticsearch', 'containers'],
        timeoutSeconds: 120,
        intervalSeconds: 5,
        successes: 1,
      },
      gate: INITIAL_GATE,
    };

    // Act
    const gate = (await handler(event as never, context)) as { status: string; last: unknown[] };

    // Assess
    expect(opened).toEqual([]);
    expect(gate.status).toBe('healthy');
    expect(gate.last).toHaveLength(6);
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: INSTANCES,
    });
  });

  it('checks the conditions on what the host read back, per instance', async () => {
    // Prepare
    listFinished();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssm
      .on(GetCommandInvocationCommand, { InstanceId: INSTANCES[0] })
      .resolves({
        Status: 'Success',
        ResponseCode: 0,
        StandardOutputContent: batchStdout([
          resultLine('gateway', 0, 'STEPOPS_HTTP 503 0.002 11\nSTEPOPS_CONTAINS no\nmaintenance'),
          resultLine('elasticsearch', 0, 'STEPOPS_HTTP 200 0.011 16\n{"status":"red"}'),
          resultLine('containers', 1, 'no container running\n'),
        ]),
      })
      .on(GetCommandInvocationCommand, { InstanceId: INSTANCES[1] })
      .resolves({
        Status: 'Success',
        ResponseCode: 0,
        StandardOutputContent: batchStdout([
          resultLine(
            'gateway',
            7,
            'curl: (7) Failed to connect to 127.0.0.1 port 5921: Connection refused\n',
          ),
          resultLine('elasticsearch', 28, 'curl: (28) Operation timed out after 10001 milliseconds\n'),
          resultLine('containers', 124, ''),
        ]),
      });
    const runner = probeRunnerFor(target);

    // Act
    const results = await runner.runAll!(target.health!.probes, EC2_HOSTS);

    // Assess
    expect(opened).toEqual([]);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(results.map((r) => [r.probe, r.host, r.ok, r.detail])).toEqual([
      ['gateway', INSTANCES[0], false, 'expected status 200, got 503'],
      ['gateway', INSTANCES[1], false, 'connection refused'],
      ['elasticsearch', INSTANCES[0], false, 'status is "red", expected one of green, yellow'],
      ['elasticsearch', INSTANCES[1], false, 'timed out after 10 s'],
      ['containers', INSTANCES[0], false, 'exit code 1, expected 0: no container running'],
      ['containers', INSTANCES[1], false, 'timed out after 30 s'],
    ]);
  });

  it('says the host did not answer when the command is never delivered (agent offline)', async () => {
    // Prepare
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Pending', ResponseCode: -1 });
    let clock = 0;
    const probe = hostProbe({
      name: 'gateway',
      type: 'http',
      from: 'host',
      url: 'http://127.0.0.1:5921/health',
      timeout: 2,
    });

    // Act
    const results = await runHostProbes([probe], EC2_HOSTS.slice(0, 1), new SsmCommandRunner(), {
      target: target.name,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });

    // Assess
    expect(results).toEqual([
      expect.objectContaining({
        probe: 'gateway',
        host: INSTANCES[0],
        ok: false,
        detail: 'the host did not take the probe command within 27 s (is its agent online?)',
      }),
    ]);
  });

  it('fails every probe of the batch when SSM refuses the command', async () => {
    // Prepare
    ssm
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error('instances not in a valid state'), { name: 'InvalidInstanceId' }));

    // Act
    const results = await probeRunnerFor(target).runAll!(target.health!.probes, EC2_HOSTS.slice(0, 1));

    // Assess
    expect(results.map((r) => [r.probe, r.ok, r.detail])).toEqual(
      ['gateway', 'elasticsearch', 'containers'].map((p) => [
        p,
        false,
        'the probe command could not run: instances not in a valid state',
      ]),
    );
  });
});

describe('host-side probes on a local host, for real', () => {
  let server: Server;
  let base: string;
  let home: string;
  let host: HostRef;
  const previousHome = process.env.STEPOPS_HOME;

  beforeAll(async () => {
    server = createServer((req, res) => {
      switch (req.url) {
        case '/health':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('all healthy');
          return;
        case '/es':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"yellow","nodes":3}');
          return;
        case '/huge': {
          res.writeHead(200);
          res.end(`${'x'.repeat(200_000)}needle`);
          return;
        }
        case '/hang':
          return;
        default:
          res.writeHead(503).end('down');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'stepops-hostprobe-'));
    process.env.STEPOPS_HOME = home;
    host = { kind: 'local', id: 'local:app', directory: home };
  });
  afterEach(async () => {
    if (previousHome === undefined) delete process.env.STEPOPS_HOME;
    else process.env.STEPOPS_HOME = previousHome;
    await rm(home, { recursive: true, force: true });
  });

  const run = (probes: HostSideProbe[]) =>
    runHostProbes(probes, [host], new BashCommandRunner(), { target: 'lab', pollIntervalMs: 50 });

  it('runs HTTP and command probes as one bash command and checks every condition', async () => {
    // Prepare
    await writeFile(path.join(home, 'state'), 'running\n');
    const closed = await freePort();
    const probes = [
      hostProbe({
        name: 'health',
        type: 'http',
        from: 'host',
        url: `${base}/health`,
        bodyContains: 'healthy',
      }),
      hostProbe({
        name: 'es',
        type: 'http',
        from: 'host',
        url: `${base}/es`,
        jsonField: { path: 'status', oneOf: ['green', 'yellow'] },
      }),
      hostProbe({ name: 'down', type: 'http', from: 'host', url: `${base}/down` }),
      hostProbe({ name: 'refused', type: 'http', from: 'host', url: `http://127.0.0.1:${closed}/` }),
      hostProbe({ name: 'hang', type: 'http', from: 'host', url: `${base}/hang`, timeout: 1 }),
      hostProbe({ name: 'huge', type: 'http', from: 'host', url: `${base}/huge`, bodyContains: 'needle' }),
      hostProbe({ name: 'state', type: 'command', script: 'cat state', outputMatches: '^running$' }),
      hostProbe({ name: 'failing', type: 'command', script: 'echo "unit gunicorn inactive" >&2; exit 3' }),
    ];

    // Act
    const results = await run(probes);

    // Assess
    expect(results.map((r) => [r.probe, r.ok, r.ok ? '' : r.detail])).toEqual([
      ['health', true, ''],
      ['es', true, ''],
      ['down', false, 'expected status 200, got 503'],
      ['refused', false, 'connection refused'],
      ['hang', false, 'timed out after 1 s'],
      ['huge', true, ''],
      ['state', true, ''],
      ['failing', false, 'exit code 3, expected 0: unit gunicorn inactive'],
    ]);
    expect(results.every((r) => r.host === 'local:app')).toBe(true);
    expect(await readdir(path.join(home, 'commands'))).toHaveLength(1);
  });

  it('runs a round of mixed probes with host-side ones batched, through the standard runner', async () => {
    // Prepare
    const runner = new StandardProbeRunner({
      commands: new BashCommandRunner(),
      pollIntervalMs: 50,
      target: 'lab',
    });
    const probes = [
      probeSchema.parse({ name: 'outside', type: 'http', url: `${base}/health` }),
      hostProbe({ name: 'inside', type: 'http', from: 'host', url: `${base}/health` }),
      hostProbe({ name: 'cmd', type: 'command', script: 'true' }),
    ];

    // Act
    const results = await runner.runAll(probes, [host]);

    // Assess
    expect(results.map((r) => [r.probe, r.ok, r.host])).toEqual([
      ['outside', true, undefined],
      ['inside', true, 'local:app'],
      ['cmd', true, 'local:app'],
    ]);
    expect(await readdir(path.join(home, 'commands'))).toHaveLength(1);
  });

  it('renders a batch that passes shellcheck and keeps its output within what SSM returns', async () => {
    // Prepare
    const probes = Array.from({ length: 30 }, (_, i) =>
      i % 2
        ? hostProbe({
            name: `p${i}`,
            type: 'command',
            script: `head -c 100000 /dev/zero | tr '\\0' x; echo; exit ${i % 3}`,
          })
        : hostProbe({
            name: `p${i}`,
            type: 'http',
            from: 'host',
            url: `${base}/huge`,
            bodyContains: 'needle',
          }),
    );
    const batch = renderHostProbeBatch(probes, {
      target: 'lab',
      workingDirectory: '/opt/lab',
      user: 'ubuntu',
    });

    // Act
    const check = await shellcheck({ script: batch.script });
    const local = renderHostProbeBatch(probes, { target: 'lab' });
    const ran = await runBash(local.script);

    // Assess
    expect(check.findings).toBe('');
    expect(check.code).toBe(0);
    expect(batch.keptBytes).toBe(keptBytes(30));
    expect(ran.stdout.length).toBeLessThan(24_000);
    expect([...parseHostProbeOutput(ran.stdout).keys()]).toEqual(probes.map((p) => p.name));
  });
});
