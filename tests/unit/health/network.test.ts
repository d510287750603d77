/**
 * TCP and DNS probes against servers on 127.0.0.1: from the prober (Node's `net` and `dns`) and from
 * the host (the rendered bash script, run for real through the local command runner).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { probeSchema } from '../../../shared/config/schema.ts';
import { BashCommandRunner } from '../../../shared/drivers/local/bash-command-runner.ts';
import type { HostRef } from '../../../shared/drivers/ports.ts';
import { dnsScript, tcpScript } from '../../../shared/health/network.ts';
import { probeLocation } from '../../../shared/health/plan.ts';
import { StandardProbeRunner } from '../../../shared/health/probe.ts';
import { freePort } from '../../helpers/net.ts';
import { shellcheck } from '../../helpers/shellcheck.ts';

/** A Redis-like server: answers `PING` with `+PONG`, `SILENT` with nothing, anything else with `-ERR`. */
function redisLike(): Server {
  return createServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      const end = buffered.indexOf('\n');
      if (end === -1) return;
      const command = buffered.slice(0, end).replace(/\r$/, '');
      buffered = buffered.slice(end + 1);
      if (command === 'PING') socket.write('+PONG\r\n');
      else if (command !== 'SILENT') socket.write(`-ERR unknown command '${command}'\r\n`);
    });
  });
}

const probe = (fields: Record<string, unknown>) => probeSchema.parse({ name: 'net', timeout: 2, ...fields });

describe.each(['outside', 'host'] as const)('network probes made from %s', (from) => {
  let server: Server;
  let port: number;
  let closedPort: number;
  let home: string;
  let host: HostRef;
  const previousHome = process.env.STEPOPS_HOME;
  const runner = new StandardProbeRunner({ commands: new BashCommandRunner(), pollIntervalMs: 50 });

  beforeAll(async () => {
    server = redisLike();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    closedPort = await freePort();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'stepops-net-'));
    process.env.STEPOPS_HOME = home;
    host = { kind: 'local', id: 'local:net', directory: home };
  });
  afterEach(async () => {
    if (previousHome === undefined) delete process.env.STEPOPS_HOME;
    else process.env.STEPOPS_HOME = previousHome;
    await rm(home, { recursive: true, force: true });
  });

  const run = async (fields: Record<string, unknown>) => {
    const p = probe({ ...fields, from });
    expect(probeLocation(p)).toBe(from === 'host' ? 'host' : 'prober');
    const results = await runner.run(p, [host]);
    expect(results).toHaveLength(1);
    const result = results[0]!;
    // From the host, a probe reads as a host check does: the exit code, then what it saw.
    const detail =
      from === 'host' ? result.detail.replace(/^exit code (0|1, expected 0): /, '') : result.detail;
    return { ...result, detail };
  };

  it('passes when the port accepts a connection', async () => {
    const result = await run({ type: 'tcp', host: '127.0.0.1', port });
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/^connected/);
  });

  it('fails, saying so, when nothing listens', async () => {
    const result = await run({ type: 'tcp', host: '127.0.0.1', port: closedPort });
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(
      from === 'host' ? `cannot connect to 127.0.0.1:${closedPort}` : 'connection refused',
    );
  });

  it('sends a line and passes on the expected reply', async () => {
    const result = await run({ type: 'tcp', host: '127.0.0.1', port, send: 'PING', expect: '+PONG' });
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/^replied "\+PONG"/);
  });

  it('fails on another reply, showing it', async () => {
    const result = await run({ type: 'tcp', host: '127.0.0.1', port, send: 'HELLO', expect: '+PONG' });
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(`expected a reply containing "+PONG", got "-ERR unknown command 'HELLO'"`);
  });

  it('fails when no reply comes within the timeout', async () => {
    const result = await run({
      type: 'tcp',
      host: '127.0.0.1',
      port,
      send: 'SILENT',
      expect: '+PONG',
      timeout: 1,
    });
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(
      from === 'host' ? `no reply line from 127.0.0.1:${port} within 1 s` : 'timed out after 1 s',
    );
  });

  it('passes when a name resolves to the expected address', async () => {
    const result = await run({ type: 'dns', hostname: 'localhost', expectAddress: '127.0.0.1' });
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/^localhost resolves to .*127\.0\.0\.1/);
  });

  it('fails when the name resolves elsewhere', async () => {
    const result = await run({ type: 'dns', hostname: 'localhost', expectAddress: '192.0.2.7' });
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^localhost resolves to .*127\.0\.0\.1.*, not 192\.0\.2\.7$/);
  });

  it('fails when the name does not resolve', async () => {
    const result = await run({ type: 'dns', hostname: 'no-such-name.invalid' });
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^no-such-name\.invalid does not resolve/);
  });
});

describe('network probe scripts', () => {
  it('pass shellcheck', async () => {
    // Prepare
    const scripts = [
      tcpScript({ host: '127.0.0.1', port: 6379, timeout: 5 }),
      tcpScript({ host: 'redis.internal', port: 6379, send: 'PING', expect: '+PONG', timeout: 5 }),
      dnsScript({ hostname: 'db.internal' }),
      dnsScript({ hostname: 'db.internal', expectAddress: '10.0.1.5' }),
    ];

    // Act
    const results = await Promise.all(
      scripts.map((script) => shellcheck({ script: `#!/usr/bin/env bash\n${script}\n` })),
    );

    // Assess
    expect(results.map((r) => r.findings)).toEqual(['', '', '', '']);
  });

  it('are refused at validation for lines that are not printable text, or addresses that are not ones', () => {
    expect(
      probeSchema.safeParse({ name: 'p', type: 'tcp', host: 'h', port: 1, send: 'PING\nFLUSHALL' }).success,
    ).toBe(false);
    expect(probeSchema.safeParse({ name: 'p', type: 'tcp', host: 'h', port: 0 }).success).toBe(false);
    expect(probeSchema.safeParse({ name: 'p', type: 'tcp', host: 'h; rm -rf /', port: 1 }).success).toBe(
      false,
    );
    expect(
      probeSchema.safeParse({ name: 'p', type: 'dns', hostname: 'h', expectAddress: '10.0.1' }).success,
    ).toBe(false);
  });
});
