import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ColdSection,
  coldFigures,
  coldGoals,
  DEPLOY_PATH,
  distinctFunctions,
} from '../../../bench/cold-figures.ts';
import { scriptMs } from '../../../bench/fixtures.ts';
import { renderConsole, renderMarkdown } from '../../../bench/report.ts';

const baselines: ColdSection['baselines'] = [
  {
    id: 'baseline-logger',
    label: 'middy + logger',
    bytes: 26_000,
    coldImportMs: 12,
    medianMs: 12,
    samplesMs: [12],
  },
  {
    id: 'baseline-one-client',
    label: 'one client',
    bytes: 380_000,
    coldImportMs: 100,
    medianMs: 100,
    samplesMs: [100],
  },
];

function fn(
  name: string,
  coldImportMs: number,
  services: string[] = ['ssm'],
): ColdSection['functions'][number] {
  return { name, bytes: 1000, services, coldImportMs, medianMs: coldImportMs, samplesMs: [coldImportMs] };
}

function deployPath(functions: string[], costUsd = 0.0004): ColdSection['paths'][number] {
  return {
    name: DEPLOY_PATH,
    outcome: 'succeeded',
    functions,
    invocations: functions.length,
    transitions: 10,
    wallMs: 1500,
    waitMs: 1000,
    warmOverheadMs: 500,
    costUsd,
  };
}

describe('distinctFunctions', () => {
  it('counts a function once, in the order of its first invocation', () => {
    // Prepare: a poll loop calls the same function three times
    const invocations = ['plan', 'poll', 'poll', 'check', 'poll'].map((functionName) => ({ functionName }));
    // Act / Assess
    expect(distinctFunctions(invocations)).toEqual(['plan', 'poll', 'check']);
  });
});

describe('coldFigures', () => {
  it('sums the cold imports of the path and divides both figures by the baseline', () => {
    const figures = coldFigures(
      { functions: ['a', 'b'], warmOverheadMs: 300 },
      { a: 150, b: 50, c: 999 },
      100,
    );
    expect(figures).toEqual({
      coldFunctions: 2,
      coldImportSumMs: 200,
      coldImportBaselines: 2,
      warmOverheadBaselines: 3,
      missing: [],
    });
  });

  it('names a function whose import was not measured instead of counting it as free', () => {
    const figures = coldFigures({ functions: ['a', 'ghost'], warmOverheadMs: 1 }, { a: 10 }, 100);
    expect(figures.missing).toEqual(['ghost']);
  });

  it('refuses a baseline of zero', () => {
    expect(() => coldFigures({ functions: [], warmOverheadMs: 1 }, {}, 0)).toThrow(
      /baseline must be positive/,
    );
  });
});

describe('coldGoals', () => {
  it('meets every goal at the limits: 3 baselines summed, 2 per function, no-AWS under 40 ms, cheaper', () => {
    const section = {
      baselines,
      functions: [fn('plan', 39, []), fn('lock', 200), fn('send', 61)],
      paths: [deployPath(['plan', 'lock', 'send'], 0.000456)],
    };
    expect(coldGoals(section).map((g) => g.met)).toEqual([true, true, true, true]);
  });

  it('misses each goal just past its limit and names the functions that miss', () => {
    const section = {
      baselines,
      functions: [fn('plan', 40, []), fn('lock', 201), fn('send', 60)],
      paths: [deployPath(['plan', 'lock', 'send'], 0.000457)],
    };
    const goals = coldGoals(section);
    expect(goals.map((g) => g.met)).toEqual([false, false, false, false]);
    expect(goals[0]!.measured).toBe('301 ms over 3 functions = 3.0 baselines');
    expect(goals[2]!.measured).toBe('lock 201 ms (2.0×)');
    expect(goals[3]!.measured).toContain('plan 40 ms');
  });

  it('says which baseline is missing', () => {
    expect(() => coldGoals({ baselines: [baselines[0]!], functions: [], paths: [] })).toThrow(
      /baseline-one-client/,
    );
  });
});

describe('scriptMs', () => {
  it('adds the spans the scripts recorded and empties the file for the next run', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cold-times-'));
    try {
      const file = path.join(dir, 'times');
      await writeFile(file, '1000000000 1500000000\n2000000000 2250000000\n');
      expect(await scriptMs(file)).toBe(750);
      await expect(readFile(file)).rejects.toThrow(/ENOENT/);
      expect(await scriptMs(file)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the cold-run report', () => {
  it('renders the paths with their ratios, and the goals missed', () => {
    const cold: ColdSection = {
      status: 'ok',
      samplesPerFunction: 5,
      baselines,
      functions: [fn('plan', 30, []), fn('lock', 250)],
      paths: [deployPath(['plan', 'lock'])],
      notes: ['a note'],
    };
    const notRun = { status: 'not-run' as const, reason: 'not selected' };
    const results = {
      date: '2026-01-01T00:00:00.000Z',
      command: 'npm run bench -- --only cold',
      machine: {
        cpu: 'Test CPU',
        cores: 2,
        memoryGb: 8,
        node: 'v24',
        platform: 'linux',
        loadAverage: { start: [1], end: [1] },
      },
      totalSeconds: 1,
      cost: notRun,
      overhead: notRun,
      bundles: notRun,
      engine: notRun,
      cold,
      misses: [],
    };
    const markdown = renderMarkdown(results, 'how');
    expect(markdown).toContain('## 6. Cold runs');
    expect(markdown).toContain('| deploy, 1 host | succeeded | 2 | 280 ms | 2.8× | 500 ms | 5.0× | 0.6 |');
    expect(markdown).toContain('- **missed**: no function on these paths over 2 one-client baselines');
    expect(renderConsole(results)).toContain('MISSED: no function on these paths');
  });
});
