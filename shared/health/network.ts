/**
 * Network probes: `tcp` (a port accepts a connection; optionally a line sent and the reply line
 * checked, as Redis answers `PING` with `+PONG`) and `dns` (a name resolves through the system
 * resolver, optionally to an expected address). From the prober they run here, with Node's `net`
 * and `dns`; from the host they run as a bash script through the command runner, like any host
 * probe, printing one last line with what they saw.
 */
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import type { CommandProbe, DnsProbe, TcpProbe } from '../config/schema.ts';
import type { ProbeResult } from '../drivers/ports.ts';
import { shellQuote } from '../shell/script.ts';
import { networkFailure } from './failure.ts';

/** A network probe that runs on the hosts. */
export type HostNetworkProbe = (TcpProbe | DnsProbe) & { from: 'host' };

/** Characters of a reply a probe's detail quotes at most. */
const REPLY_SHOWN = 80;

function quoted(text: string): string {
  return JSON.stringify(text.length > REPLY_SHOWN ? `${text.slice(0, REPLY_SHOWN)}…` : text);
}

/**
 * Connects to a TCP port from the prober; sends `send` and checks the first reply line for
 * `expect` when the probe declares them.
 *
 * @example
 * await tcpProbe({ name: 'redis', type: 'tcp', host: '127.0.0.1', port: 6379, send: 'PING', expect: '+PONG', from: 'outside', timeout: 5 })
 * // { probe: 'redis', ok: true, detail: 'replied "+PONG" in 2 ms', latencyMs: 2 }
 */
export function tcpProbe(probe: TcpProbe): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    let received = '';
    const finish = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ probe: probe.name, ok, detail, latencyMs: elapsed() });
    };
    const socket = connect({ host: probe.host, port: probe.port });
    const timer = setTimeout(
      () =>
        finish(
          false,
          received ? `no full reply line within ${probe.timeout} s` : `timed out after ${probe.timeout} s`,
        ),
      probe.timeout * 1000,
    );
    socket.once('connect', () => {
      if (probe.expect === undefined && probe.send === undefined)
        return finish(true, `connected in ${elapsed()} ms`);
      if (probe.send !== undefined) socket.write(`${probe.send}\r\n`);
      if (probe.expect === undefined) return finish(true, `connected and sent a line in ${elapsed()} ms`);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\n');
      if (end === -1 && received.length < 4096) return;
      const line = (end === -1 ? received : received.slice(0, end)).replace(/\r$/, '');
      if (line.includes(probe.expect ?? '')) finish(true, `replied ${quoted(line)} in ${elapsed()} ms`);
      else finish(false, `expected a reply containing ${quoted(probe.expect ?? '')}, got ${quoted(line)}`);
    });
    socket.once('end', () =>
      finish(
        false,
        `the server closed the connection${received ? ` after ${quoted(received)}` : ' without a reply'}`,
      ),
    );
    socket.once('error', (error) => finish(false, networkFailure(error)));
  });
}

/**
 * Resolves a name from the prober through the system resolver (as the app's clients would), and
 * checks that one of its addresses is `expectAddress` when the probe declares it.
 *
 * @example
 * await dnsProbe({ name: 'dns', type: 'dns', hostname: 'localhost', expectAddress: '127.0.0.1', from: 'outside', timeout: 5 })
 * // { probe: 'dns', ok: true, detail: 'localhost resolves to 127.0.0.1', latencyMs: 1 }
 */
export async function dnsProbe(
  probe: DnsProbe,
  resolve: (hostname: string) => Promise<{ address: string }[]> = (hostname) =>
    lookup(hostname, { all: true }),
): Promise<ProbeResult> {
  const started = performance.now();
  const result = (ok: boolean, detail: string): ProbeResult => ({
    probe: probe.name,
    ok,
    detail,
    latencyMs: Math.round(performance.now() - started),
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((done) => {
    timer = setTimeout(() => done('timeout'), probe.timeout * 1000);
  });
  try {
    const answer = await Promise.race([resolve(probe.hostname), timedOut]);
    if (answer === 'timeout')
      return result(false, `${probe.hostname} did not resolve within ${probe.timeout} s`);
    const addresses = [...new Set(answer.map((a) => a.address))];
    if (addresses.length === 0) return result(false, `${probe.hostname} resolves to no address`);
    const shown =
      addresses.slice(0, 5).join(', ') + (addresses.length > 5 ? `, … (${addresses.length})` : '');
    if (probe.expectAddress !== undefined && !addresses.includes(probe.expectAddress)) {
      return result(false, `${probe.hostname} resolves to ${shown}, not ${probe.expectAddress}`);
    }
    return result(true, `${probe.hostname} resolves to ${shown}`);
  } catch (error) {
    const why = networkFailure(error);
    return result(
      false,
      `${probe.hostname} does not resolve: ${why === 'host not found' ? 'no such name' : why}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The bash script of a TCP probe on the host: bash's `/dev/tcp`, a line sent with CRLF, the first
 * reply line read back. Prints what it saw last; exits 1 when the check fails.
 *
 * @example
 * tcpScript({ host: '127.0.0.1', port: 6379, send: 'PING', expect: '+PONG', timeout: 5 })
 */
export function tcpScript(probe: Pick<TcpProbe, 'host' | 'port' | 'send' | 'expect' | 'timeout'>): string {
  const where = `${probe.host}:${probe.port}`;
  const lines = [
    `if ! { exec 3<>/dev/tcp/${shellQuote(probe.host)}/${Math.trunc(probe.port)}; } 2>/dev/null; then`,
    `  echo ${shellQuote(`cannot connect to ${where}`)}`,
    '  exit 1',
    'fi',
  ];
  if (probe.send !== undefined) lines.push(`printf '%s\\r\\n' ${shellQuote(probe.send)} >&3`);
  if (probe.expect === undefined) {
    lines.push(`echo ${shellQuote(`connected to ${where}`)}`);
    return lines.join('\n');
  }
  lines.push(
    "reply=''",
    `if ! IFS= read -r -t ${Math.trunc(probe.timeout)} reply <&3 && [ -z "$reply" ]; then`,
    `  echo ${shellQuote(`no reply line from ${where} within ${probe.timeout} s`)}`,
    '  exit 1',
    'fi',
    "reply=${reply%$'\\r'}",
    `case "$reply" in`,
    `  *${shellQuote(probe.expect)}*) echo "replied \\"\${reply:0:${REPLY_SHOWN}}\\"" ;;`,
    `  *) echo ${shellQuote(`expected a reply containing ${JSON.stringify(probe.expect)}, got`)}" \\"\${reply:0:${REPLY_SHOWN}}\\""; exit 1 ;;`,
    'esac',
  );
  return lines.join('\n');
}

/**
 * The bash script of a DNS probe on the host: `getent ahosts`, the host's own resolver.
 *
 * @example
 * dnsScript({ hostname: 'db.internal', expectAddress: '10.0.1.5' })
 */
export function dnsScript(probe: Pick<DnsProbe, 'hostname' | 'expectAddress'>): string {
  const name = shellQuote(probe.hostname);
  const lines = [
    // getent exits 2 for a name it cannot resolve; that is the check's answer, not the script's failure.
    `addresses=$({ getent ahosts ${name} || true; } | awk '{ print $1 }' | sort -u | paste -sd ' ' -)`,
    `if [ -z "$addresses" ]; then echo ${shellQuote(`${probe.hostname} does not resolve`)}; exit 1; fi`,
  ];
  if (probe.expectAddress !== undefined) {
    lines.push(
      `case " $addresses " in`,
      `  *${shellQuote(` ${probe.expectAddress} `)}*) ;;`,
      `  *) echo ${shellQuote(`${probe.hostname} resolves to`)}" $addresses, not "${shellQuote(probe.expectAddress)}; exit 1 ;;`,
      'esac',
    );
  }
  lines.push(`echo ${shellQuote(`${probe.hostname} resolves to`)}" $addresses"`);
  return lines.join('\n');
}

/**
 * Whether a probe is a network probe made from the hosts.
 *
 * @example
 * isHostNetworkProbe({ name: 'redis', type: 'tcp', host: '127.0.0.1', port: 6379, from: 'host', timeout: 5 }) // true
 */
export function isHostNetworkProbe(probe: { type: string; from?: string }): probe is HostNetworkProbe {
  return (probe.type === 'tcp' || probe.type === 'dns') && probe.from === 'host';
}

/**
 * A network probe made from the hosts as the command probe it runs.
 *
 * @example
 * networkCommandProbe(redisProbe).script
 */
export function networkCommandProbe(probe: HostNetworkProbe): CommandProbe {
  const script = probe.type === 'tcp' ? tcpScript(probe) : dnsScript(probe);
  return { name: probe.name, type: 'command', script, expectExitCode: 0, timeout: probe.timeout };
}

/**
 * What a network probe checks, in one line.
 *
 * @example
 * describeNetworkProbe(redisProbe) // 'TCP 127.0.0.1:6379 from the host, send "PING", reply contains "+PONG" (timeout 5 s)'
 */
export function describeNetworkProbe(probe: TcpProbe | DnsProbe): string {
  const where = probe.from === 'host' ? ' from the host' : '';
  if (probe.type === 'dns') {
    const expected = probe.expectAddress !== undefined ? ` to ${probe.expectAddress}` : '';
    return `DNS ${probe.hostname} resolves${expected}${where} (timeout ${probe.timeout} s)`;
  }
  const parts = [`TCP ${probe.host}:${probe.port}${where}`];
  if (probe.send !== undefined) parts.push(`send ${JSON.stringify(probe.send)}`);
  if (probe.expect !== undefined) parts.push(`reply contains ${JSON.stringify(probe.expect)}`);
  return `${parts.join(', ')} (timeout ${probe.timeout} s)`;
}
