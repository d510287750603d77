/**
 * Probes: one check of one endpoint or host, with a detail a human can act on when it fails.
 *
 * - `http`: a real `fetch` with a timeout; status, body, JSON field and latency conditions.
 * - `tls`: the peer certificate's expiry against `minDaysLeft`.
 * - `command`: the probe's script, rendered like any stepops script, run on each host through the
 *   command runner of the target (SSM or bash).
 * - `ec2-status`: EC2 instance and system status checks (IAM: `ec2:DescribeInstanceStatus`).
 * - `ssm-agent`: the SSM agent's ping status (IAM: `ssm:DescribeInstanceInformation`).
 */
import { isIP } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import type { DescribeInstanceStatusCommandOutput, EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Probe } from '../config/schema.ts';
import { loadOnce } from '../drivers/lazy.ts';
import type { CommandRunner, HostRef, ProbeResult, ProbeRunner } from '../drivers/ports.ts';
import { httpVerdict } from './conditions.ts';
import { networkFailure, rejectionName, rejectionReason } from './failure.ts';
import { isHostSideProbe, type RunHostProbesOptions, runHostProbes } from './host-probes.ts';
import { dnsProbe, isHostNetworkProbe, tcpProbe } from './network.ts';

export { fieldAt, httpVerdict } from './conditions.ts';

/**
 * The EC2 and SSM calls of the instance probes, loaded when such a probe first runs (dynamic
 * `import()`): most targets probe over HTTP, so a function that bundles these probes does not
 * evaluate the EC2 or SSM client at cold start for them. Loaded once per container.
 */
const ec2StatusApi = loadOnce(() => import('../drivers/aws/ec2-status-api.ts'));
const ssmAgentApi = loadOnce(() => import('../drivers/aws/ssm-agent-api.ts'));

export type HttpProbe = Extract<Probe, { type: 'http' }>;
export type TlsProbe = Extract<Probe, { type: 'tls' }>;
export type CommandProbe = Extract<Probe, { type: 'command' }>;
export type Ec2StatusProbe = Extract<Probe, { type: 'ec2-status' }>;
export type SsmAgentProbe = Extract<Probe, { type: 'ssm-agent' }>;

const DAY_MS = 86_400_000;

function isTimeout(error: unknown): boolean {
  const name = rejectionName(error);
  return name === 'TimeoutError' || name === 'AbortError';
}

/** Bodies are read up to this many bytes: enough for any health document, bounded for a Lambda. */
export const PROBE_BODY_LIMIT = 1024 * 1024;

async function readBody(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < PROBE_BODY_LIMIT) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= PROBE_BODY_LIMIT) await reader.cancel();
  return Buffer.concat(chunks).subarray(0, PROBE_BODY_LIMIT).toString('utf8');
}

/** Redirects an HTTP probe that allows them follows at most. */
export const MAX_REDIRECTS = 5;

function request(doFetch: typeof fetch, url: string, method: string, signal: AbortSignal) {
  // `manual`: a redirect is answered as itself; only a probe that allows it follows, same origin only.
  return doFetch(url, { method, signal, redirect: 'manual', headers: { 'user-agent': 'stepops-probe' } });
}

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}

/**
 * Where a redirect leads, when it stays on the origin (scheme, host and port) of `from`.
 *
 * @example
 * sameOriginLocation('https://a.example/health', '/login') // 'https://a.example/login'
 * sameOriginLocation('https://a.example/health', 'http://169.254.169.254/') // undefined
 */
export function sameOriginLocation(from: string, location: string | null): string | undefined {
  if (!location) return undefined;
  try {
    const next = new URL(location, from);
    return next.origin === new URL(from).origin ? next.href : undefined;
  } catch {
    return undefined;
  }
}

export interface HttpProbeOptions {
  /** The fetch to use; the global `fetch` by default. */
  fetch?: typeof fetch;
}

/**
 * Probes an HTTP(S) endpoint once: expected status, body content, a JSON field, latency.
 *
 * @example
 * const result = await httpProbe({ name: 'api', type: 'http', url: 'https://zmanim.shtetl.io/backend/api/v1/health', method: 'GET', expectStatus: [200], bodyContains: 'healthy', timeout: 10 });
 * // { probe: 'api', ok: false, detail: 'expected status 200, got 503', latencyMs: 41 }
 */
export async function httpProbe(probe: HttpProbe, options: HttpProbeOptions = {}): Promise<ProbeResult> {
  const doFetch = options.fetch ?? fetch;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const fail = (detail: string): ProbeResult => ({
    probe: probe.name,
    ok: false,
    detail,
    latencyMs: elapsed(),
  });
  let status: number;
  let body = '';
  try {
    const signal = AbortSignal.timeout(probe.timeout * 1000);
    let url = probe.url;
    let response = await request(doFetch, url, probe.method, signal);
    for (let hops = 0; probe.followRedirects && isRedirect(response.status); hops++) {
      const next = sameOriginLocation(url, response.headers.get('location'));
      if (!next) return fail(`redirected (${response.status}) to another origin, not followed`);
      if (hops >= MAX_REDIRECTS) return fail(`more than ${MAX_REDIRECTS} redirects`);
      await response.body?.cancel();
      url = next;
      response = await request(doFetch, url, probe.method === 'HEAD' ? 'HEAD' : 'GET', signal);
    }
    status = response.status;
    if (probe.bodyContains !== undefined || probe.bodyMatches !== undefined || probe.jsonField !== undefined)
      body = await readBody(response);
    else await response.body?.cancel();
  } catch (error) {
    if (isTimeout(error)) return fail(`timed out after ${probe.timeout} s`);
    return fail(networkFailure(error));
  }
  const latencyMs = elapsed();
  const verdict = httpVerdict(probe, { status, body, latencyMs });
  return { probe: probe.name, ...verdict, latencyMs };
}

export interface TlsProbeOptions {
  /** Extra trusted certificates (PEM), e.g. a test's self-signed one; the system roots otherwise. */
  ca?: string | string[];
  /** Now, for days-left arithmetic; injectable for tests. */
  now?: () => Date;
}

/**
 * Connects with TLS and checks how many days the peer certificate has left. An untrusted or
 * mismatched certificate fails too: it would fail the users first.
 *
 * @example
 * await tlsProbe({ name: 'cert', type: 'tls', host: 'datizmo.com', port: 443, minDaysLeft: 14, timeout: 10 });
 * // { probe: 'cert', ok: true, detail: 'certificate valid for 61 more days (until 2026-05-01T00:00:00.000Z)' }
 */
export function tlsProbe(probe: TlsProbe, options: TlsProbeOptions = {}): Promise<ProbeResult> {
  const started = performance.now();
  const now = options.now ?? (() => new Date());
  return new Promise((resolve) => {
    let settled = false;
    const finish = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ probe: probe.name, ok, detail, latencyMs: Math.round(performance.now() - started) });
    };
    const socket = connect({
      host: probe.host,
      port: probe.port,
      ...(isIP(probe.host) ? {} : { servername: probe.host }),
      ...(options.ca ? { ca: options.ca } : {}),
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => finish(false, `timed out after ${probe.timeout} s`), probe.timeout * 1000);
    socket.once('secureConnect', () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      if (!cert?.valid_to) return finish(false, 'the server sent no certificate');
      const validTo = new Date(cert.valid_to);
      const daysLeft = Math.floor((validTo.getTime() - now().getTime()) / DAY_MS);
      if (!socket.authorized) {
        return finish(false, `certificate not trusted: ${String(socket.authorizationError)}`);
      }
      if (daysLeft < 0) return finish(false, `certificate expired on ${validTo.toISOString()}`);
      if (daysLeft < probe.minDaysLeft) {
        return finish(
          false,
          `certificate expires in ${daysLeft} days (${validTo.toISOString()}), limit ${probe.minDaysLeft}`,
        );
      }
      finish(true, `certificate valid for ${daysLeft} more days (until ${validTo.toISOString()})`);
    });
    socket.once('error', (error) => finish(false, networkFailure(error)));
  });
}

/**
 * An HTTP probe from outside, and when it declares `minCertDaysLeft`, the certificate of its
 * `https://` URL checked at the same time: both must pass.
 *
 * @example
 * await httpWithCertificate({ ...probe, url: 'https://zmanim.shtetl.io/health', minCertDaysLeft: 14 })
 */
export async function httpWithCertificate(
  probe: HttpProbe,
  options: HttpProbeOptions & TlsProbeOptions = {},
): Promise<ProbeResult> {
  if (probe.minCertDaysLeft === undefined || !probe.url.startsWith('https://'))
    return httpProbe(probe, options);
  const url = new URL(probe.url);
  const [http, tls] = await Promise.all([
    httpProbe(probe, options),
    tlsProbe(
      {
        name: probe.name,
        type: 'tls',
        host: url.hostname,
        port: url.port ? Number(url.port) : 443,
        minDaysLeft: probe.minCertDaysLeft,
        timeout: probe.timeout,
      },
      options,
    ),
  ]);
  if (!http.ok) return http;
  if (!tls.ok) return { ...tls, ...(http.latencyMs !== undefined ? { latencyMs: http.latencyMs } : {}) };
  return { ...http, detail: `${http.detail}, ${tls.detail}` };
}

export interface CommandProbeOptions {
  /** Directory the probe runs in on ec2 hosts (local hosts run in their own directory). */
  workingDirectory?: string;
  /** Unix user the probe runs as on ec2 hosts. */
  user?: string;
  /** The hosts' login shell and extra `PATH` entries (`hosts.loginShell`, `hosts.path`). */
  loginShell?: boolean;
  path?: readonly string[];
  /** Milliseconds between status reads (default 1000). */
  pollIntervalMs?: number;
  /** The target's name, exported to host-side probes as `STEPOPS_TARGET`. */
  target?: string;
}

function hostBatchOptions(options: CommandProbeOptions): RunHostProbesOptions {
  return {
    target: options.target ?? 'stepops',
    ...(options.workingDirectory ? { workingDirectory: options.workingDirectory } : {}),
    ...(options.user ? { user: options.user } : {}),
    ...(options.loginShell ? { loginShell: true } : {}),
    ...(options.path?.length ? { path: options.path } : {}),
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
  };
}

/**
 * Runs a command probe's script on each host through a command runner and checks the exit code
 * and, when asked, that the output matches a pattern (see {@link runHostProbes}). Waits at most
 * the probe's timeout plus a margin for delivery.
 *
 * @example
 * const results = await commandProbe(probe, hosts, new BashCommandRunner());
 * // [{ probe: 'pm2-online', host: 'local:lab/app', ok: false, detail: 'exit code 1, expected 0: backend errored' }]
 */
export async function commandProbe(
  probe: CommandProbe,
  hosts: HostRef[],
  runner: CommandRunner,
  options: CommandProbeOptions = {},
): Promise<ProbeResult[]> {
  if (hosts.length === 0) return [{ probe: probe.name, ok: false, detail: 'no hosts to run on' }];
  return runHostProbes([probe], hosts, runner, hostBatchOptions(options));
}

function byRegion(hosts: HostRef[]): Map<string, string[]> {
  const regions = new Map<string, string[]>();
  for (const host of hosts) {
    if (host.kind !== 'ec2') continue;
    regions.set(host.region, [...(regions.get(host.region) ?? []), host.id]);
  }
  return regions;
}

/** Instance ids one `DescribeInstanceStatus` call accepts. */
export const DESCRIBE_INSTANCE_STATUS_MAX_IDS = 100;

/** The ids of each region in slices of at most `size`: one API call each. */
function inSlices(regions: Map<string, string[]>, size: number): [string, string[]][] {
  return [...regions].flatMap(([region, ids]) =>
    Array.from({ length: Math.ceil(ids.length / size) }, (_, i): [string, string[]] => [
      region,
      ids.slice(i * size, (i + 1) * size),
    ]),
  );
}

function notEc2(probe: string, host: HostRef): ProbeResult {
  return { probe, host: host.id, ok: false, detail: `needs an ec2 host; ${host.id} is ${host.kind}` };
}

/**
 * Checks EC2's instance and system status checks for each host; both must be `ok`.
 *
 * @example
 * await ec2StatusProbe(probe, hosts) // [{ probe: 'ec2', host: 'i-0abc…', ok: false, detail: 'instance status impaired, system status ok' }]
 */
export async function ec2StatusProbe(
  probe: Ec2StatusProbe,
  hosts: HostRef[],
  client?: (region: string) => EC2Client,
): Promise<ProbeResult[]> {
  const found = new Map<string, ProbeResult>();
  for (const [region, ids] of inSlices(byRegion(hosts), DESCRIBE_INSTANCE_STATUS_MAX_IDS)) {
    const api = await ec2StatusApi();
    let output: DescribeInstanceStatusCommandOutput;
    try {
      output = await (client ?? api.ec2Client)(region).send(
        new api.DescribeInstanceStatusCommand({ InstanceIds: ids, IncludeAllInstances: true }),
      );
    } catch (error) {
      // One unknown or terminated id fails the whole call: fail the hosts, not the probe run.
      const name = rejectionName(error) ?? '';
      if (!name.startsWith('InvalidInstanceID')) throw error;
      for (const id of ids) {
        found.set(id, {
          probe: probe.name,
          host: id,
          ok: false,
          detail: `EC2 does not know the instance (${name})`,
        });
      }
      continue;
    }
    for (const status of output.InstanceStatuses ?? []) {
      if (!status.InstanceId) continue;
      const state = status.InstanceState?.Name ?? 'unknown';
      const instance = status.InstanceStatus?.Status ?? 'unknown';
      const system = status.SystemStatus?.Status ?? 'unknown';
      const ok = state === 'running' && instance === 'ok' && system === 'ok';
      found.set(status.InstanceId, {
        probe: probe.name,
        host: status.InstanceId,
        ok,
        detail:
          state !== 'running'
            ? `instance is ${state}`
            : `instance status ${instance}, system status ${system}`,
      });
    }
  }
  return hosts.map(
    (host) =>
      (host.kind === 'ec2' ? found.get(host.id) : notEc2(probe.name, host)) ?? {
        probe: probe.name,
        host: host.id,
        ok: false,
        detail: 'EC2 reports no status for this instance',
      },
  );
}

/**
 * Checks that each host's SSM agent is online (a host that is not cannot be deployed to).
 *
 * @example
 * await ssmAgentProbe(probe, hosts) // [{ probe: 'agent', host: 'i-0abc…', ok: false, detail: 'SSM agent ConnectionLost' }]
 */
export async function ssmAgentProbe(
  probe: SsmAgentProbe,
  hosts: HostRef[],
  client?: (region: string) => SSMClient,
): Promise<ProbeResult[]> {
  const found = new Map<string, string>();
  for (const [region, ids] of byRegion(hosts)) {
    const api = await ssmAgentApi();
    for (let i = 0; i < ids.length; i += 50) {
      let nextToken: string | undefined;
      do {
        const page = await (client ?? api.ssmClient)(region).send(
          new api.DescribeInstanceInformationCommand({
            Filters: [{ Key: 'InstanceIds', Values: ids.slice(i, i + 50) }],
            MaxResults: 50,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
        for (const info of page.InstanceInformationList ?? []) {
          if (info.InstanceId) found.set(info.InstanceId, info.PingStatus ?? 'unknown');
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
  }
  return hosts.map((host): ProbeResult => {
    if (host.kind !== 'ec2') return notEc2(probe.name, host);
    const ping = found.get(host.id);
    if (ping === undefined)
      return { probe: probe.name, host: host.id, ok: false, detail: 'not registered with SSM' };
    return {
      probe: probe.name,
      host: host.id,
      ok: ping === 'Online',
      detail: ping === 'Online' ? 'SSM agent online' : `SSM agent ${ping}`,
    };
  });
}

export interface StandardProbeRunnerOptions extends CommandProbeOptions, HttpProbeOptions, TlsProbeOptions {
  /** Runs host-side probes: the target's command runner (SSM for ec2 hosts, bash for local ones). */
  commands: CommandRunner;
  ec2?: (region: string) => EC2Client;
  ssm?: (region: string) => SSMClient;
}

/**
 * Runs any probe of the target model: probes from the prober (`http` from outside, `tls`) here,
 * probes of the instance through the AWS APIs, and host-side probes (`command`, `http` from the
 * host) on the hosts through the command runner, all of a round's host-side probes in ONE command
 * per host set ({@link StandardProbeRunner.runAll}).
 *
 * @example
 * const probes = new StandardProbeRunner({ commands: new BashCommandRunner() });
 * const results = await probes.runAll(target.health.probes, hosts);
 */
export class StandardProbeRunner implements ProbeRunner {
  readonly #options: StandardProbeRunnerOptions;

  constructor(options: StandardProbeRunnerOptions) {
    this.#options = options;
  }

  async run(probe: Probe, hosts: HostRef[]): Promise<ProbeResult[]> {
    const options = this.#options;
    switch (probe.type) {
      case 'http':
        if (probe.from === 'host')
          return runHostProbes([probe], hosts, options.commands, hostBatchOptions(options));
        return [await httpWithCertificate(probe, options)];
      case 'tls':
        return [await tlsProbe(probe, options)];
      case 'tcp':
      case 'dns':
        if (isHostNetworkProbe(probe))
          return runHostProbes([probe], hosts, options.commands, hostBatchOptions(options));
        return [await (probe.type === 'tcp' ? tcpProbe(probe) : dnsProbe(probe))];
      case 'command':
        return commandProbe(probe, hosts, options.commands, options);
      case 'systemd':
      case 'docker':
      case 'disk':
      case 'memory':
        return runHostProbes([probe], hosts, options.commands, hostBatchOptions(options));
      case 'ec2-status':
        return ec2StatusProbe(probe, hosts, options.ec2);
      case 'ssm-agent':
        return ssmAgentProbe(probe, hosts, options.ssm);
    }
  }

  /**
   * Runs a round of probes: the host-side ones as one command, the others each on its own, all at
   * once. Results come in the order of the probes; a probe that throws gives a failed result.
   */
  async runAll(probes: readonly Probe[], hosts: HostRef[]): Promise<ProbeResult[]> {
    const hostSide = probes.filter(isHostSideProbe);
    const others = probes.filter((p) => !isHostSideProbe(p));
    const [hostResults, ...otherResults] = await Promise.all([
      runHostProbes(hostSide, hosts, this.#options.commands, hostBatchOptions(this.#options)),
      ...others.map((probe) =>
        this.run(probe, hosts).catch((error: unknown): ProbeResult[] => [
          { probe: probe.name, ok: false, detail: `the probe could not run: ${rejectionReason(error)}` },
        ]),
      ),
    ]);
    const byProbe = new Map<string, ProbeResult[]>();
    for (const result of [...(hostResults ?? []), ...otherResults.flat()]) {
      byProbe.set(result.probe, [...(byProbe.get(result.probe) ?? []), result]);
    }
    return probes.flatMap((probe) => byProbe.get(probe.name) ?? []);
  }
}
