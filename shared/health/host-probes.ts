/**
 * Probes that run on the host (`command` probes, and `http` probes declared `from: 'host'`): all of
 * a round's host-side probes go to the hosts as ONE script through the target's command runner (SSM
 * Run Command on ec2 hosts, bash on local hosts), never from where the prober runs.
 *
 * The script runs every probe in parallel, each under its own `timeout`, and prints one line per
 * probe, small and structured so that it fits in what SSM returns inline (the first 24,000
 * characters of stdout):
 *
 * ```
 * STEPOPS_PROBE <name> <exit code> <bytes of output> <base64 of the kept bytes>
 * ```
 *
 * An HTTP probe keeps the first bytes of its output (the status line curl's `--write-out` prints,
 * then the body); a command probe keeps the last bytes (where a failure says why).
 */
import type { CommandProbe, HttpProbe, Probe } from '../config/schema.ts';
import type { CommandRunner, HostRef, InvocationResult, ProbeResult } from '../drivers/ports.ts';
import { renderScript, shellQuote } from '../shell/script.ts';
import { httpVerdict, SHOWN_VALUE_LIMIT } from './conditions.ts';
import { rejectionReason } from './failure.ts';
import { asCommandProbe, type HostCheckProbe, isHostCheck } from './host-checks.ts';
import { type HostNetworkProbe, isHostNetworkProbe, networkCommandProbe } from './network.ts';
import { numericVerdict } from './numeric.ts';

/** A probe that runs on the host. */
export type HostSideProbe = CommandProbe | HttpProbe | HostCheckProbe | HostNetworkProbe;

/** Seconds a host-side HTTP or TCP probe's wrapper allows beyond its own timeout, so that it reports it. */
export const HOST_HTTP_GRACE_SECONDS = 5;
/** Seconds beyond the slowest probe's timeout a host is given to deliver the command and answer. */
export const HOST_PROBE_MARGIN_SECONDS = 10;
/** Characters of stdout the result lines of one command may take together (SSM keeps 24,000). */
export const HOST_PROBE_OUTPUT_BUDGET = 20_000;
/** Bytes of output kept per probe: at least this many, and at most {@link MAX_KEPT_BYTES}. */
export const MIN_KEPT_BYTES = 64;
export const MAX_KEPT_BYTES = 4_096;
/** Characters of a result line besides its base64 part. */
const LINE_OVERHEAD = 100;

const RESULT_MARKER = 'STEPOPS_PROBE';
const HTTP_MARKER = 'STEPOPS_HTTP';
const CONTAINS_MARKER = 'STEPOPS_CONTAINS';
/** Exit code of `timeout` when it killed the command. */
const TIMEOUT_EXIT = 124;

/**
 * Whether a probe runs on the host.
 *
 * @example
 * isHostSideProbe({ name: 'es', type: 'http', from: 'host', … }) // true
 */
export function isHostSideProbe(probe: Probe): probe is HostSideProbe {
  return (
    probe.type === 'command' ||
    (probe.type === 'http' && probe.from === 'host') ||
    isHostCheck(probe) ||
    isHostNetworkProbe(probe)
  );
}

/** The command a non-HTTP host-side probe runs. */
function commandOf(probe: Exclude<HostSideProbe, HttpProbe>): CommandProbe {
  if (probe.type === 'command') return probe;
  return isHostNetworkProbe(probe) ? networkCommandProbe(probe) : asCommandProbe(probe);
}

/**
 * Bytes of output kept per probe when `count` probes share one command: their base64 lines stay
 * within {@link HOST_PROBE_OUTPUT_BUDGET}.
 *
 * @example
 * keptBytes(1) // 4096
 * keptBytes(9) // 1591
 */
export function keptBytes(count: number): number {
  const perLine = Math.floor(HOST_PROBE_OUTPUT_BUDGET / Math.max(1, count)) - LINE_OVERHEAD;
  return Math.max(MIN_KEPT_BYTES, Math.min(MAX_KEPT_BYTES, Math.floor((perLine * 3) / 4)));
}

/**
 * Seconds a host-side probe may run on the host: its timeout, plus a grace for HTTP and TCP so that
 * curl, or the TCP probe's read, reports its own timeout first.
 *
 * @example
 * hostProbeSeconds({ type: 'http', timeout: 10, … }) // 15
 */
export function hostProbeSeconds(probe: HostSideProbe): number {
  return probe.type === 'http' || probe.type === 'tcp'
    ? probe.timeout + HOST_HTTP_GRACE_SECONDS
    : probe.timeout;
}

/**
 * The body of a host-side HTTP probe in a batch: curl prints a status line first, then (when the
 * probe checks the body and the body may be cut) whether the whole body contains the text, then the
 * body. A connection failure or timeout exits with curl's code and message.
 *
 * @example
 * hostHttpProbeBody(probe, 1024)
 */
export function hostHttpProbeBody(probe: HttpProbe, keep: number): string {
  const method = probe.method === 'HEAD' ? '--head' : `--request ${probe.method}`;
  const lines = [
    'body=$(mktemp)',
    `trap 'rm -f "$body"' EXIT`,
    `meta=$(curl --silent --show-error --max-time ${probe.timeout} ${method} --user-agent stepops-probe --output "$body" --write-out '%{http_code} %{time_total} %{size_download}' ${shellQuote(probe.url)})`,
    `printf '%s %s\\n' ${HTTP_MARKER} "$meta"`,
  ];
  if (probe.bodyContains !== undefined) {
    lines.push(
      `if grep -qF -e ${shellQuote(probe.bodyContains)} -- "$body"; then echo '${CONTAINS_MARKER} yes'; else echo '${CONTAINS_MARKER} no'; fi`,
    );
  }
  lines.push(`head -c ${keep} -- "$body"`);
  return lines.join('\n');
}

/** Where and as whom the batch runs. */
export interface HostProbeBatchOptions {
  /** The target's name, exported as `STEPOPS_TARGET`. */
  target: string;
  /** Directory the probes run in on ec2 hosts (local hosts run in their own directory). */
  workingDirectory?: string;
  /** Unix user the probes run as on ec2 hosts. */
  user?: string;
  /** The hosts' login shell and extra `PATH` entries (`hosts.loginShell`, `hosts.path`). */
  loginShell?: boolean;
  path?: readonly string[];
}

/** One command that runs a round's host-side probes. */
export interface HostProbeBatch {
  script: string;
  /** Seconds the command may run on each host. */
  timeoutSeconds: number;
  /** Bytes of output kept per probe. */
  keptBytes: number;
  probes: HostSideProbe[];
}

/**
 * Renders the one script that runs all the given host-side probes on a host, in parallel, with the
 * project's script renderer (strict mode, quoted values, one step under `timeout`, as the user).
 *
 * @example
 * const batch = renderHostProbeBatch([es, disk], { target: 'shop', workingDirectory: '/opt/shop', user: 'ubuntu' });
 * await runner.send({ hosts, script: batch.script, timeoutSeconds: batch.timeoutSeconds, comment: 'stepops probes shop' });
 */
export function renderHostProbeBatch(
  probes: HostSideProbe[],
  options: HostProbeBatchOptions,
): HostProbeBatch {
  if (probes.length === 0) throw new Error('a host probe batch needs at least one probe');
  const keep = keptBytes(probes.length);
  const slowest = Math.max(...probes.map(hostProbeSeconds));
  // Each probe's script is written to a file with a quoted here-document, so that no script is
  // quoted inside another quoted script.
  const files = probes.flatMap((probe) => {
    const text = probe.type === 'http' ? hostHttpProbeBody(probe, keep) : commandOf(probe).script;
    let end = `STEPOPS_PROBE_${probe.name.toUpperCase().replaceAll('-', '_')}_END`;
    while (text.split('\n').includes(end)) end += '_';
    return [`cat >"$results/${probe.name}.sh" <<'${end}'`, text, end];
  });
  const body = [
    'results=$(mktemp -d)',
    `trap 'rm -rf "$results"' EXIT`,
    ...files,
    '# Runs one probe (name, seconds, head|tail) and writes its result line.',
    'probe() {',
    '  local name=$1 seconds=$2 end=$3 code=0 size',
    '  timeout "$seconds" bash -euo pipefail "$results/$name.sh" >"$results/$name.out" 2>&1 </dev/null || code=$?',
    '  size=$(wc -c <"$results/$name.out")',
    `  if [ "$end" = head ]; then head -c ${keep} -- "$results/$name.out"; else tail -c ${keep} -- "$results/$name.out"; fi | base64 | tr -d '\n' >"$results/$name.b64"`,
    `  printf '%s %s %s %s %s\n' ${RESULT_MARKER} "$name" "$code" "$((size))" "$(cat "$results/$name.b64")" >"$results/$name.line"`,
    '}',
    ...probes.map(
      (probe) =>
        `probe ${probe.name} ${hostProbeSeconds(probe)} ${probe.type === 'http' ? 'head' : 'tail'} &`,
    ),
    'wait',
    `cat ${probes.map((probe) => `"$results/${probe.name}.line"`).join(' ')}`,
  ].join('\n');
  const script = renderScript({
    title: `probes ${options.target}`,
    env: { TARGET: options.target, PROBES: probes.map((p) => p.name).join(' ') },
    steps: [{ name: 'probes', script: body, timeout: slowest + 5 }],
    ...(options.workingDirectory ? { workingDirectory: options.workingDirectory } : {}),
    ...(options.user ? { user: options.user } : {}),
    ...(options.loginShell ? { loginShell: true } : {}),
    ...(options.path?.length ? { path: options.path } : {}),
  });
  return { script, timeoutSeconds: slowest + 10, keptBytes: keep, probes };
}

/** One probe's result line, decoded. */
export interface HostProbeLine {
  name: string;
  exitCode: number;
  /** Bytes the probe printed in all. */
  size: number;
  /** The kept bytes (the head for HTTP, the tail for commands), as text. */
  output: string;
}

/**
 * Reads the result lines of a batch from a command's output; lines it cannot read are skipped.
 *
 * @example
 * parseHostProbeOutput('STEPOPS_PROBE disk 0 3 b2sK\n').get('disk') // { name: 'disk', exitCode: 0, size: 3, output: 'ok\n' }
 */
export function parseHostProbeOutput(output: string): Map<string, HostProbeLine> {
  const found = new Map<string, HostProbeLine>();
  const pattern = new RegExp(
    `^${RESULT_MARKER} ([a-z][a-z0-9-]*) (\\d+) (\\d+) ([A-Za-z0-9+/=]*)\\s*$`,
    'gm',
  );
  for (const match of output.matchAll(pattern)) {
    const [, name, code, size, encoded] = match as unknown as [string, string, string, string, string];
    found.set(name, {
      name,
      exitCode: Number(code),
      size: Number(size),
      output: Buffer.from(encoded, 'base64').toString('utf8'),
    });
  }
  return found;
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return (lines.at(-1) ?? '').slice(0, 300);
}

/** What curl's exit codes mean to an operator (the common ones). */
function curlFailure(probe: HttpProbe, line: HostProbeLine): string {
  switch (line.exitCode) {
    case 28:
    case TIMEOUT_EXIT:
      return `timed out after ${probe.timeout} s`;
    case 7:
      return 'connection refused';
    case 6:
      return 'host not found';
    case 35:
    case 60:
      return `TLS error: ${lastLine(line.output)}`;
    default: {
      const why = lastLine(line.output);
      return `curl failed with exit code ${line.exitCode}${why ? `: ${why}` : ''}`;
    }
  }
}

/**
 * The verdict of a host-side HTTP probe from its result line.
 *
 * @example
 * hostHttpResult(probe, line) // { ok: true, detail: '200 in 3 ms', latencyMs: 3 }
 */
export function hostHttpResult(
  probe: HttpProbe,
  line: HostProbeLine,
): { ok: boolean; detail: string; latencyMs?: number } {
  const newline = line.output.indexOf('\n');
  const first = newline === -1 ? line.output : line.output.slice(0, newline);
  const meta = new RegExp(`^${HTTP_MARKER} (\\d{3}) (\\d+(?:[.,]\\d+)?) (\\d+)$`).exec(first.trim());
  if (line.exitCode !== 0 || !meta) {
    return { ok: false, detail: line.exitCode !== 0 ? curlFailure(probe, line) : 'curl printed no status' };
  }
  let rest = newline === -1 ? '' : line.output.slice(newline + 1);
  let containsOnHost: boolean | undefined;
  const contains = new RegExp(`^${CONTAINS_MARKER} (yes|no)\\n`).exec(rest);
  if (contains) {
    containsOnHost = contains[1] === 'yes';
    rest = rest.slice(contains[0].length);
  }
  const status = Number(meta[1]);
  const latencyMs = Math.round(Number(meta[2]!.replace(',', '.')) * 1000);
  const bodyBytes = Number(meta[3]);
  const verdict = httpVerdict(probe, {
    status,
    body: rest,
    latencyMs,
    truncated: Buffer.byteLength(rest) < bodyBytes || line.size > Buffer.byteLength(line.output),
    ...(containsOnHost !== undefined ? { containsOnHost } : {}),
  });
  return { ...verdict, latencyMs };
}

/**
 * The verdict of a command probe from its result line: exit code, then output pattern (matched
 * against the kept end of the output).
 *
 * @example
 * hostCommandResult(probe, line) // { ok: false, detail: 'exit code 1, expected 0: backend errored' }
 */
export function hostCommandResult(probe: CommandProbe, line: HostProbeLine): { ok: boolean; detail: string } {
  if (line.exitCode === TIMEOUT_EXIT && probe.expectExitCode !== TIMEOUT_EXIT) {
    return { ok: false, detail: `timed out after ${probe.timeout} s` };
  }
  if (line.exitCode !== probe.expectExitCode) {
    const why = lastLine(line.output);
    return {
      ok: false,
      detail: `exit code ${line.exitCode}, expected ${probe.expectExitCode}${why ? `: ${why}` : ''}`,
    };
  }
  if (probe.outputMatches !== undefined && !new RegExp(probe.outputMatches, 'm').test(line.output)) {
    return { ok: false, detail: `output does not match /${probe.outputMatches}/` };
  }
  if (probe.outputCompare !== undefined) {
    const verdict = numericVerdict('output', lastLine(line.output), probe.outputCompare);
    return verdict.ok ? { ok: true, detail: `exit code ${line.exitCode}, ${verdict.detail}` } : verdict;
  }
  const output = lastLine(line.output).slice(0, SHOWN_VALUE_LIMIT);
  return { ok: true, detail: `exit code ${line.exitCode}${output ? `: ${output}` : ''}` };
}

const FINISHED = new Set(['succeeded', 'failed', 'timed-out', 'cancelled']);

/** Why a host gave no line for a probe, from the state of the whole command on it. */
function missingLine(result: InvocationResult | undefined, waitedSeconds: number): string {
  if (!result) return 'the command runner reported nothing for this host';
  switch (result.state) {
    case 'pending':
      return `the host did not take the probe command within ${waitedSeconds} s (is its agent online?)`;
    case 'running':
      return `the probe command was still running on the host after ${waitedSeconds} s`;
    case 'timed-out':
      return `the probe command timed out on the host`;
    case 'cancelled':
      return 'the probe command was cancelled';
    default: {
      const why = lastLine(result.outputTail);
      return `the probe command ${result.state === 'failed' ? `failed (exit code ${result.exitCode ?? 'unknown'})` : 'printed no result'} on the host${why ? `: ${why}` : ''}`;
    }
  }
}

/**
 * Turns each host's invocation result into one result per probe and host.
 *
 * @example
 * hostProbeResults(batch.probes, hosts, await runner.status(handle), 40)
 */
export function hostProbeResults(
  probes: HostSideProbe[],
  hosts: HostRef[],
  results: InvocationResult[],
  waitedSeconds: number,
  latencyMs?: number,
): ProbeResult[] {
  const byHost = new Map(results.map((r) => [r.hostId, r]));
  return hosts.flatMap((host) => {
    const result = byHost.get(host.id);
    const lines = result ? parseHostProbeOutput(result.outputTail) : new Map<string, HostProbeLine>();
    return probes.map((probe): ProbeResult => {
      const base = { probe: probe.name, host: host.id };
      const line = lines.get(probe.name);
      if (!line) {
        return {
          ...base,
          ok: false,
          detail: missingLine(result, waitedSeconds),
          ...(latencyMs !== undefined ? { latencyMs } : {}),
        };
      }
      if (probe.type === 'http') return { ...base, ...hostHttpResult(probe, line) };
      return {
        ...base,
        ...hostCommandResult(commandOf(probe), line),
        ...(latencyMs !== undefined ? { latencyMs } : {}),
      };
    });
  });
}

/** How a batch is sent and waited for. */
export interface RunHostProbesOptions extends HostProbeBatchOptions {
  /** Milliseconds between status reads (default 1000; the first read after 250). */
  pollIntervalMs?: number;
  /** Sleeps; a real timer by default. */
  sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds; `Date.now` by default. */
  now?: () => number;
}

/**
 * Runs all the given host-side probes on the hosts as one command through the command runner,
 * waits for it (at most the slowest probe's time plus {@link HOST_PROBE_MARGIN_SECONDS}), and gives
 * one result per probe and host. A runner that throws, or rejects with anything, fails every probe
 * of the batch with the reason; it never throws.
 *
 * @example
 * const results = await runHostProbes([gatewayHealth, esHealth], hosts, new SsmCommandRunner(), { target: 'shop', workingDirectory: '/opt/shop' });
 */
export async function runHostProbes(
  probes: HostSideProbe[],
  hosts: HostRef[],
  runner: CommandRunner,
  options: RunHostProbesOptions,
): Promise<ProbeResult[]> {
  if (probes.length === 0) return [];
  if (hosts.length === 0) {
    return probes.map((probe) => ({ probe: probe.name, ok: false, detail: 'no hosts to run on' }));
  }
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const batch = renderHostProbeBatch(probes, options);
  const started = now();
  const waitSeconds = batch.timeoutSeconds + HOST_PROBE_MARGIN_SECONDS;
  const deadline = started + waitSeconds * 1000;
  const failAll = (detail: string): ProbeResult[] =>
    hosts.flatMap((host) => probes.map((probe) => ({ probe: probe.name, host: host.id, ok: false, detail })));
  let results: InvocationResult[];
  try {
    const handle = await runner.send({
      hosts,
      script: batch.script,
      timeoutSeconds: batch.timeoutSeconds,
      ...(options.workingDirectory ? { workingDirectory: options.workingDirectory } : {}),
      comment: `stepops probes ${options.target}`.slice(0, 100),
      maxConcurrency: String(hosts.length),
      maxErrors: String(hosts.length),
    });
    let pause = Math.min(250, options.pollIntervalMs ?? 1000);
    results = await runner.status(handle);
    while (!results.every((r) => FINISHED.has(r.state)) && now() + pause <= deadline) {
      await sleep(pause);
      pause = options.pollIntervalMs ?? 1000;
      results = await runner.status(handle);
    }
  } catch (error) {
    return failAll(`the probe command could not run: ${rejectionReason(error)}`);
  }
  return hostProbeResults(probes, hosts, results, waitSeconds, now() - started);
}
