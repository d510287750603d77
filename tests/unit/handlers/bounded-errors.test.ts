import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  boundError,
  ERROR_MESSAGE_BUDGET,
  ERROR_TRACE_FRAMES,
  InvalidInputError,
} from '../../../shared/errors.ts';
import { DEPLOY_FUNCTIONS } from '../../../workflows/deploy.ts';

describe('errors entering the state', () => {
  it('are cut to the budget, saying how much was cut, with a short stack', () => {
    // Act
    const error = boundError(new InvalidInputError(`ref ${'x'.repeat(50_000)} is not a valid ref`));

    // Assess
    expect(error.name).toBe('InvalidInputError');
    expect(error.message).toHaveLength(ERROR_MESSAGE_BUDGET);
    expect(error.message).toMatch(/… \[\d+ more characters cut\]$/);
    const stack = (error.stack ?? '').split('\n');
    expect(stack[0]).toBe(`InvalidInputError: ${error.message}`);
    expect(stack.length).toBeLessThanOrEqual(1 + ERROR_TRACE_FRAMES);
  });

  it('keep a short message as it is, and make a readable Error of a thrown string', () => {
    expect(boundError(new Error('short')).message).toBe('short');
    expect(boundError('plain text')).toMatchObject({ name: 'Error', message: 'plain text' });
  });

  it.each(DEPLOY_FUNCTIONS)(
    'are bounded by the %s handler, whose middy chain starts with boundedErrors()',
    (name) => {
      // The behaviour itself is run end to end in the workflow tests (a 200 KB ref); here, that no
      // deploy handler leaves it out: its errors would enter the state unbounded.
      const source = readFileSync(new URL(`../../../functions/${name}/handler.ts`, import.meta.url), 'utf8');
      expect(source).toMatch(/middy\(\)\s*\.use\(boundedErrors\(\)\)/);
    },
  );
});
