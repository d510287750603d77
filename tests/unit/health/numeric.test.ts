/**
 * Numeric conditions on JSON fields and command output (`"< 60"`): every operator at and around
 * its boundary, numbers read strictly, and the measured value shown in the probe's detail.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSchema } from '../../../shared/config/schema.ts';
import type { HostProbeLine } from '../../../shared/health/host-probes.ts';
import { hostCommandResult } from '../../../shared/health/host-probes.ts';
import {
  measuredNumber,
  meetsCondition,
  numericVerdict,
  parseNumericCondition,
} from '../../../shared/health/numeric.ts';
import { describeProbe } from '../../../shared/health/plan.ts';
import { type CommandProbe, type HttpProbe, httpProbe } from '../../../shared/health/probe.ts';

describe('meetsCondition', () => {
  // [measured, condition, expected]: each operator below, at and above its boundary of 60.
  it.each([
    [59, '< 60', true],
    [60, '< 60', false],
    [61, '< 60', false],
    [59, '<= 60', true],
    [60, '<= 60', true],
    [61, '<= 60', false],
    [59, '> 60', false],
    [60, '> 60', false],
    [61, '> 60', true],
    [59, '>= 60', false],
    [60, '>= 60', true],
    [61, '>= 60', true],
    [59, '== 60', false],
    [60, '== 60', true],
    [61, '== 60', false],
    [59, '!= 60', true],
    [60, '!= 60', false],
    [61, '!= 60', true],
    [99.4, '>= 99.5', false],
    [99.5, '>= 99.5', true],
    [-3, '< -2', true],
    [-2, '< -2', false],
  ])('%s %s is %s', (measured, condition, expected) => {
    // Act
    const parsed = parseNumericCondition(condition);

    // Assess
    expect(parsed).toBeDefined();
    expect(meetsCondition(measured, parsed!)).toBe(expected);
  });
});

describe('parseNumericCondition', () => {
  it.each([['<60'], ['  <=  60 '], ['!= 0'], ['>= 99.5']])('reads %j', (text) => {
    expect(parseNumericCondition(text)).toBeDefined();
  });

  it.each([['60'], ['< sixty'], ['=< 60'], ['= 60'], ['< 60 ms'], ['<> 60'], ['< 1e3'], ['']])(
    'refuses %j',
    (text) => {
      expect(parseNumericCondition(text)).toBeUndefined();
    },
  );
});

describe('measuredNumber', () => {
  it.each([
    [42, 42],
    ['42', 42],
    [' 42.5\n', 42.5],
    ['-7', -7],
    ['42 ms', undefined],
    ['', undefined],
    ['0x10', undefined],
    [true, undefined],
    [null, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
  ])('reads %j as %s', (value, expected) => {
    expect(measuredNumber(value)).toBe(expected);
  });

  it('says why a value that is not a number fails', () => {
    expect(numericVerdict('latency', 'n/a', '< 60')).toEqual({
      ok: false,
      detail: 'latency is "n/a", not a number (expected < 60)',
    });
  });
});

describe('a JSON field compared with a number', () => {
  let server: Server;
  let base: string;
  let latency = 0;

  beforeAll(async () => {
    server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ queue: { latency } })),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  const probe = () =>
    probeSchema.parse({
      name: 'sidekiq',
      type: 'http',
      url: `${base}/stats`,
      jsonField: { path: 'queue.latency', compare: '< 60' },
    }) as HttpProbe;

  it('passes below the threshold and shows the value', async () => {
    // Prepare
    latency = 12;

    // Act
    const result = await httpProbe(probe());

    // Assess
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/^200 in \d+ ms, queue\.latency is 12 \(< 60\)$/);
  });

  it('fails at the threshold and shows the value', async () => {
    // Prepare
    latency = 60;

    // Act
    const result = await httpProbe(probe());

    // Assess
    expect(result).toMatchObject({ ok: false, detail: 'queue.latency is 60, expected < 60' });
  });

  it('is described by the plan', () => {
    expect(describeProbe(probe())).toContain('JSON queue.latency < 60');
  });
});

describe('a command whose output is compared with a number', () => {
  const probe = (outputCompare: string) =>
    probeSchema.parse({
      name: 'latency',
      type: 'command',
      script: 'redis-cli --latency',
      outputCompare,
    }) as CommandProbe;
  const line = (output: string, exitCode = 0): HostProbeLine => ({
    name: 'latency',
    exitCode,
    output,
    size: Buffer.byteLength(output),
  });

  it('reads the last line of the output', () => {
    expect(hostCommandResult(probe('<= 5'), line('sampling...\n3\n'))).toEqual({
      ok: true,
      detail: 'exit code 0, output is 3 (<= 5)',
    });
    expect(hostCommandResult(probe('<= 5'), line('sampling...\n6\n'))).toEqual({
      ok: false,
      detail: 'output is 6, expected <= 5',
    });
  });

  it('fails an exit code before it reads the output', () => {
    expect(hostCommandResult(probe('<= 5'), line('3\n', 1))).toEqual({
      ok: false,
      detail: 'exit code 1, expected 0: 3',
    });
  });

  it('is described by the plan', () => {
    expect(describeProbe(probe('!= 0'))).toContain('output != 0');
  });
});

describe('numeric conditions in a target file', () => {
  it.each([
    [{ type: 'command', script: 'true', outputCompare: '< sixty' }, ['outputCompare']],
    [
      { type: 'http', url: 'https://a.example/', jsonField: { path: 'x', compare: '60' } },
      ['jsonField', 'compare'],
    ],
  ])('refuses a condition that is not one, naming the field', (fields, path) => {
    // Act
    const result = probeSchema.safeParse({ name: 'p', ...fields });

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
    expect(result.error?.issues[0]?.message).toContain('expected a numeric condition such as "< 60"');
  });

  it('refuses a JSON field with both equals and compare', () => {
    const result = probeSchema.safeParse({
      name: 'p',
      type: 'http',
      url: 'https://a.example/',
      jsonField: { path: 'x', equals: 1, compare: '< 2' },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('exactly one of "equals", "oneOf" or "compare"');
  });
});
