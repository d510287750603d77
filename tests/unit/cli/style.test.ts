/** Output of the operator's commands: colour only on a terminal, aligned columns, ages and durations. */
import { describe, expect, it } from 'vitest';
import { age, painter, runDuration, table, until, useColour } from '../../../cli/runs/style.ts';

describe('colour', () => {
  it('colours only a TTY, and never under NO_COLOR or TERM=dumb', () => {
    // Act & Assess
    expect(useColour({ isTTY: true }, {})).toBe(true);
    expect(useColour({ isTTY: false }, {})).toBe(false);
    expect(useColour({}, {})).toBe(false);
    expect(useColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColour({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(painter({ isTTY: true }, {})('red', 'FAILED')).toBe('\u001b[31mFAILED\u001b[39m');
    expect(painter({ isTTY: true }, { NO_COLOR: '1' })('red', 'FAILED')).toBe('FAILED');
    expect(painter({ isTTY: false }, {})('red', 'FAILED')).toBe('FAILED');
  });
});

describe('table', () => {
  it('aligns columns by their visible width, colour codes included, without trailing blanks', () => {
    // Prepare
    const paint = painter({ isTTY: true }, {});

    // Act
    const text = table([
      ['RUN', 'OUTCOME', 'REF'],
      ['a-1', paint('green', 'SUCCEEDED'), 'v1'],
      ['a-22', 'FAILED', ''],
    ]);

    // Assess
    const plain = text.replaceAll('\u001b[32m', '').replaceAll('\u001b[39m', '').split('\n');
    expect(text).toContain('\u001b[32mSUCCEEDED\u001b[39m');
    expect(plain).toEqual(['RUN   OUTCOME    REF', 'a-1   SUCCEEDED  v1', 'a-22  FAILED']);
  });
});

describe('ages and durations', () => {
  it('reads for people', () => {
    // Prepare
    const now = Date.parse('2026-11-22T12:00:00Z');

    // Act & Assess
    expect(age('2026-11-22T11:59:58Z', now)).toBe('just now');
    expect(age('2026-11-22T11:59:18Z', now)).toBe('42 s ago');
    expect(age('2026-11-22T11:55:00Z', now)).toBe('5 min ago');
    expect(age('2026-11-22T09:00:00Z', now)).toBe('3 h ago');
    expect(age('2026-11-20T12:00:00Z', now)).toBe('2 d ago');
    expect(runDuration('2026-11-22T11:00:00Z', '2026-11-22T11:04:05Z', now)).toBe('4 min 5 s');
    expect(runDuration('2026-11-22T09:00:00Z', '2026-11-22T11:03:00Z', now)).toBe('2 h 3 min');
    expect(runDuration('2026-11-22T11:59:00Z', undefined, now)).toBe('1 min 0 s so far');
    expect(until(Date.parse('2026-11-22T12:00:42Z'), now)).toBe('in 42 s');
    expect(until(Date.parse('2026-11-23T07:00:00Z'), now)).toBe('in 19 h');
    expect(until(Date.parse('2026-11-25T13:00:00Z'), now)).toBe('in 3 d');
    expect(until(Date.parse('2026-11-22T11:00:00Z'), now)).toBe('in 0 s');
  });
});
