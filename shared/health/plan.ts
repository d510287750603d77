/**
 * The health plan: which probes a target's health check runs, where each runs, what it checks, and
 * the exact script of the probes that run on the host. Pure: nothing is probed here.
 */

import type { Probe, Target } from '../config/schema.ts';
import { InvalidInputError } from '../errors.ts';
import { hostScriptOptions, renderScript, shellQuote } from '../shell/script.ts';
import { isFleetProbe } from './fleet.ts';
import { asCommandProbe, describeHostCheck, isHostCheck } from './host-checks.ts';
import {
  type HostSideProbe,
  hostProbeSeconds,
  isHostSideProbe,
  renderHostProbeBatch,
} from './host-probes.ts';
import { describeNetworkProbe, isHostNetworkProbe, networkCommandProbe } from './network.ts';
import { recoveryRoutes } from './routing.ts';

/** Where a probe runs: the prober (Lambda or local engine), the host (command runner), or AWS APIs. */
export type ProbeLocation = 'prober' | 'host' | 'aws';

/** One probe as the health check will run it. */
export interface ProbePlan {
  name: string;
  type: Probe['type'];
  runsOn: ProbeLocation;
  /** What passes, in words: `GET https://… → status 200, body contains "healthy"`. */
  check: string;
  /** For probes that run on the host: the script, exactly as the host runs it. */
  script?: string;
  timeoutSeconds: number;
  /** The runbook its failure requests; absent: it only alerts. */
  runbook?: string;
  /** For a probe on the hosts: on each host, or once per round on one healthy host (`fleet`). */
  scope?: 'host' | 'fleet';
  /** The validated probe, defaults applied. */
  probe: Probe;
}

/** Everything a health check of a target does, decided before anything runs. */
export interface HealthPlan {
  target: string;
  schedule: string;
  /** Consecutive failing checks before the target is declared unhealthy (and alerted). */
  failureThreshold: number;
  /** Consecutive passing checks before an unhealthy target is declared healthy again. */
  successThreshold: number;
  /** Runbook requested by a probe that names none (and is in no group). */
  onFailureRunbook?: string;
  /** Each runbook a probe requests: the probes, the cooldown and the daily cap. */
  runbooks: { runbook: string; probes: string[]; cooldownMinutes: number; maxPerDay: number }[];
  /** The command the fleet-wide probes send to the one host chosen each round. */
  fleetScript?: string;
  probes: ProbePlan[];
  /**
   * The one command each round sends to every host for all its host-side probes (see
   * `renderHostProbeBatch`), exactly as the hosts run it; absent when no probe runs on the host.
   */
  hostScript?: string;
}

/** The last line a host-side HTTP probe prints: `STEPOPS_HTTP <status> <seconds>`. */
const HTTP_MARKER = 'STEPOPS_HTTP';

/**
 * Describes what a probe checks, in one line.
 *
 * @example
 * describeProbe({ name: 'api', type: 'http', url: 'https://x.io/health', method: 'GET', expectStatus: [200], bodyContains: 'healthy', from: 'outside', timeout: 10 });
 * // 'GET https://x.io/health → status 200, body contains "healthy" (timeout 10 s)'
 */
export function describeProbe(probe: Probe): string {
  switch (probe.type) {
    case 'http': {
      const conditions = [`status ${probe.expectStatus.join(' or ')}`];
      if (probe.bodyContains !== undefined)
        conditions.push(`body contains ${JSON.stringify(probe.bodyContains)}`);
      if (probe.jsonField) {
        conditions.push(
          probe.jsonField.oneOf !== undefined
            ? `JSON ${probe.jsonField.path} is one of ${probe.jsonField.oneOf.map((v) => JSON.stringify(v)).join(', ')}`
            : probe.jsonField.compare !== undefined
              ? `JSON ${probe.jsonField.path} ${probe.jsonField.compare}`
              : `JSON ${probe.jsonField.path} = ${JSON.stringify(probe.jsonField.equals)}`,
        );
      }
      if (probe.bodyMatches !== undefined) conditions.push(`body matches /${probe.bodyMatches}/`);
      if (probe.maxLatencyMs !== undefined) conditions.push(`within ${probe.maxLatencyMs} ms`);
      if (probe.minCertDaysLeft !== undefined)
        conditions.push(`certificate valid ${probe.minCertDaysLeft}+ more days`);
      const where = probe.from === 'host' ? ' from the host' : '';
      return `${probe.method} ${probe.url}${where} → ${conditions.join(', ')} (timeout ${probe.timeout} s)`;
    }
    case 'tcp':
    case 'dns':
      return describeNetworkProbe(probe);
    case 'tls':
      return `TLS certificate of ${probe.host}:${probe.port} valid for at least ${probe.minDaysLeft} more days (timeout ${probe.timeout} s)`;
    case 'ec2-status':
      return 'EC2 instance and system status checks "ok" (ec2:DescribeInstanceStatus)';
    case 'ssm-agent':
      return 'SSM agent "Online" (ssm:DescribeInstanceInformation)';
    case 'command': {
      const conditions = [`exit code ${probe.expectExitCode}`];
      if (probe.outputMatches !== undefined) conditions.push(`output matches /${probe.outputMatches}/`);
      if (probe.outputCompare !== undefined) conditions.push(`output ${probe.outputCompare}`);
      return `command on the host → ${conditions.join(', ')} (timeout ${probe.timeout} s)`;
    }
    case 'systemd':
    case 'docker':
    case 'disk':
    case 'memory':
      return describeHostCheck(probe);
  }
}

/**
 * Where a probe runs.
 *
 * @example
 * probeLocation({ name: 'disk', type: 'command', script: 'df /', expectExitCode: 0, timeout: 15 }) // 'host'
 */
export function probeLocation(probe: Probe): ProbeLocation {
  switch (probe.type) {
    case 'command':
    case 'systemd':
    case 'docker':
    case 'disk':
    case 'memory':
      return 'host';
    case 'http':
    case 'tcp':
    case 'dns':
      return probe.from === 'host' ? 'host' : 'prober';
    case 'tls':
      return 'prober';
    case 'ec2-status':
    case 'ssm-agent':
      return 'aws';
  }
}

/**
 * The body of a host-side HTTP probe: one curl request that prints the response body, then a last
 * line `STEPOPS_HTTP <status> <seconds>` read back by {@link parseHostHttpOutput}. A connection
 * failure or timeout makes it exit non-zero with curl's message on stderr.
 *
 * @example
 * hostHttpCommand({ ...probe, url: 'http://127.0.0.1:9200/_cluster/health' });
 */
export function hostHttpCommand(probe: Extract<Probe, { type: 'http' }>): string {
  const method = probe.method === 'HEAD' ? '--head' : `--request ${probe.method}`;
  return [
    'body=$(mktemp)',
    `trap 'rm -f "$body"' EXIT`,
    `meta=$(curl --silent --show-error --max-time ${probe.timeout} ${method} --output "$body" --write-out '%{http_code} %{time_total}' ${shellQuote(probe.url)})`,
    'cat "$body"',
    `printf '\\n%s %s\\n' ${HTTP_MARKER} "$meta"`,
  ].join('\n');
}

/** A response read back from a host-side HTTP probe. */
export interface HostHttpResponse {
  status: number;
  latencyMs: number;
  body: string;
}

/**
 * Reads the output of a host-side HTTP probe's script (see {@link hostHttpCommand}); lines the
 * script wrapper prints before the body (`==> step …`) are dropped.
 *
 * @example
 * parseHostHttpOutput('==> step 1/1: es\n{"status":"green"}\nSTEPOPS_HTTP 200 0.012\n');
 * // { status: 200, latencyMs: 12, body: '{"status":"green"}' }
 * @returns the response, or undefined when the output has no status line
 */
export function parseHostHttpOutput(output: string): HostHttpResponse | undefined {
  const match = /\n?STEPOPS_HTTP (\d{3}) (\d+(?:[.,]\d+)?)\s*$/.exec(output);
  if (!match) return undefined;
  const body = output.slice(0, match.index).replace(/^==> step \d+\/\d+: [^\n]*\n/, '');
  return {
    status: Number(match[1]),
    latencyMs: Math.round(Number(match[2]!.replace(',', '.')) * 1000),
    body,
  };
}

/**
 * Renders the script of a probe that runs on the host (command probes, and HTTP probes `from:
 * 'host'`), exactly as the host runs it; undefined for probes that do not run on the host.
 *
 * @example
 * renderProbeScript(target, target.health!.probes[0]!);
 */
export function renderProbeScript(target: Target, probe: Probe): string | undefined {
  if (!isHostSideProbe(probe)) return undefined;
  let body: string;
  if (probe.type === 'command') body = probe.script;
  else if (isHostCheck(probe)) body = asCommandProbe(probe).script;
  else if (isHostNetworkProbe(probe)) body = networkCommandProbe(probe).script;
  else body = hostHttpCommand(probe);
  const hostOptions = hostScriptOptions(target.hosts);
  return renderScript({
    title: `probe ${target.name} ${probe.name}`,
    env: { TARGET: target.name, PROBE: probe.name },
    steps: [{ name: probe.name, script: body, timeout: hostProbeSeconds(probe) }],
    ...hostOptions,
  });
}

/**
 * Plans a target's health check: every probe with its condition, where it runs and (for the host)
 * its exact script, plus the schedule and the thresholds.
 *
 * @example
 * const plan = planHealth(findTarget('zmanim'));
 * plan.schedule; // 'rate(1 minute)'
 * @throws InvalidInputError when the target has no health section, or names no such probe
 */
export function planHealth(target: Target, probeNames?: readonly string[]): HealthPlan {
  const health = target.health;
  if (!health) throw new InvalidInputError(`target "${target.name}" has no health section`);
  let probes = health.probes;
  if (probeNames) {
    const unknown = probeNames.filter((n) => !probes.some((p) => p.name === n));
    if (unknown.length > 0) {
      throw new InvalidInputError(
        `target "${target.name}" has no probe named ${unknown.map((n) => `"${n}"`).join(', ')} (probes: ${probes.map((p) => p.name).join(', ')})`,
      );
    }
    probes = probes.filter((p) => probeNames.includes(p.name));
  }
  const hostSide = probes.filter(isHostSideProbe).filter((p) => !isFleetProbe(p));
  const fleet = probes.filter(isHostSideProbe).filter(isFleetProbe);
  const batch = (some: HostSideProbe[]) =>
    some.length > 0
      ? renderHostProbeBatch(some, { target: target.name, ...hostScriptOptions(target.hosts) }).script
      : undefined;
  const hostScript = batch(hostSide);
  const fleetScript = batch(fleet);
  const routes = recoveryRoutes(health);
  return {
    target: target.name,
    schedule: health.schedule,
    ...(hostScript !== undefined ? { hostScript } : {}),
    ...(fleetScript !== undefined ? { fleetScript } : {}),
    runbooks: Object.entries(routes.limits).map(([runbook, limits]) => ({
      runbook,
      probes: probes.filter((p) => routes.byProbe[p.name] === runbook).map((p) => p.name),
      ...limits,
    })),
    failureThreshold: health.failureThreshold,
    successThreshold: health.successThreshold,
    ...(health.onFailure ? { onFailureRunbook: health.onFailure.runbook } : {}),
    probes: probes.map((probe) => {
      const script = renderProbeScript(target, probe);
      return {
        name: probe.name,
        type: probe.type,
        runsOn: probeLocation(probe),
        check: describeProbe(probe),
        ...(script !== undefined ? { script } : {}),
        timeoutSeconds: 'timeout' in probe ? probe.timeout : 60,
        ...(routes.byProbe[probe.name] ? { runbook: routes.byProbe[probe.name] } : {}),
        ...(isHostSideProbe(probe)
          ? { scope: isFleetProbe(probe) ? ('fleet' as const) : ('host' as const) }
          : {}),
        probe,
      };
    }),
  };
}
