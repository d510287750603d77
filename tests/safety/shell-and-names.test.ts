/**
 * No request string reaches a shell unchecked: a quoted value is read back by a real bash as
 * exactly the one word it was, whatever it holds; a ref and a name are accepted only in their
 * written shapes. The accepted and refused examples are written here, not derived from the
 * patterns.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAME_PATTERN } from '../../shared/config/names.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { shellQuote, validateRef } from '../../shared/shell/script.ts';

/** What bash reads from `printf '%s\0' <quoted>…`: the words, NUL-separated. */
function bashWords(quoted: string[]): string[] {
  const out = execFileSync('bash', ['-c', `printf '%s\\0' ${quoted.join(' ')}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shell quoting', () => {
  it('gives bash back exactly the words it quoted, whatever they hold (property, real bash)', () => {
    // Prepare: any text without NUL, with the characters that break naive quoting made likely.
    const nasty = fc.constantFrom(
      "'",
      '"',
      '\\',
      '$',
      '`',
      ' ',
      '\n',
      ';',
      '|',
      '&',
      '*',
      '$(id)',
      "'\\''",
      '-',
    );
    const word = fc
      .array(fc.oneof(nasty, fc.string({ unit: 'grapheme' })), { maxLength: 8 })
      .map((parts) => parts.join('').replaceAll('\0', ''));

    // Assess: one bash per batch of words, to keep the run short.
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 20 }), (words) => {
        expect(bashWords(words.map(shellQuote))).toEqual(words);
      }),
      { numRuns: 20 },
    );
  });

  it('quotes by single quotes, a single quote closing, escaped and reopened', () => {
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's $HOME")).toBe("'it'\\''s $HOME'");
  });

  it('refuses a NUL byte, which no shell word can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow(InvalidInputError);
    expect(() => shellQuote('a\0b')).toThrow('a shell argument cannot contain a NUL byte');
  });
});

describe('ref validation', () => {
  it.each([
    'main',
    'v1.2.3',
    'feature/login-page',
    'release_2026.03',
    '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567',
    'A',
    'release.locked',
    `a${'b'.repeat(127)}`,
  ])('accepts %s', (ref) => {
    expect(validateRef(ref)).toBe(ref);
  });

  it.each([
    ['an option', '--upload-pack=touch /tmp/x'],
    ['a leading dash', '-x'],
    ['a leading dot', '.hidden'],
    ['a leading slash', '/main'],
    ['a leading underscore', '_x'],
    ['a parent step', 'a..b'],
    ['a double slash', 'a//b'],
    ['a trailing slash', 'feature/'],
    ['a trailing dot', 'v1.'],
    ['a .lock ending', 'main.lock'],
    ['a space', 'a b'],
    ['a quote', "a'b"],
    ['a command substitution', 'a$(id)'],
    ['a semicolon', 'a;b'],
    ['a newline at the end', 'main\n'],
    ['an empty ref', ''],
    ['129 characters', `a${'b'.repeat(128)}`],
    ['a number', 42],
    ['nothing', undefined],
  ])('refuses %s, naming it', (_what, ref) => {
    let error: unknown;
    try {
      validateRef(ref);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain(`ref ${JSON.stringify(ref)} is not a valid ref`);
  });
});

describe('names of targets, steps, probes, jobs and runbooks', () => {
  it.each(['a', 'zmanim', 'restore-database', 'ai-chat', 'a1', `a${'b'.repeat(62)}`])(
    'accepts %s',
    (name) => {
      expect(NAME_PATTERN.test(name)).toBe(true);
    },
  );

  it.each(['', '1abc', '-abc', 'Abc', 'ab_c', 'a b', 'a.b', 'a;b', 'abc\n', 'x\nabc', `a${'b'.repeat(63)}`])(
    'refuses %j',
    (name) => {
      expect(NAME_PATTERN.test(name)).toBe(false);
    },
  );
});
