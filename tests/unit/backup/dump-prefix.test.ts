/**
 * A dump prefix with a "." or ".." segment: S3 (and every URL) resolves them, so the object lands
 * under another key than the one recorded, and every upload of the job breaks. `validate` refuses it.
 */
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../shared/config/load.ts';
import { targetSchema } from '../../../shared/config/schema.ts';
import full from '../../fixtures/targets/full.ts';

/** The full fixture with the dump job's prefix replaced; the problems `validate` reports. */
function problemsWithPrefix(prefix: string): { path: string; message: string }[] {
  const copy = structuredClone(full) as { backup: { type: string; prefix?: string }[] };
  const dump = copy.backup.find((j) => j.type === 'dump');
  if (!dump) throw new Error('the full fixture has no dump job');
  dump.prefix = prefix;
  const result = targetSchema.safeParse(copy);
  return result.success
    ? []
    : result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

describe('dump prefix', () => {
  it.each(['.', '..', './', '../dumps', 'dumps/..', 'dumps/./daily', 'a/../../b', '/./'])(
    'refuses "%s", naming the field and why',
    (prefix) => {
      // Act
      const problems = problemsWithPrefix(prefix);

      // Assess
      expect(problems).toEqual([
        {
          path: 'backup[3].prefix',
          message: 'expected an S3 key prefix without "." or ".." segments (S3 normalises them away)',
        },
      ]);
    },
  );

  it.each(['', 'dumps', 'dumps/', 'a.b/c..d/.hidden', '...', 'v1.2/nightly'])('accepts "%s"', (prefix) => {
    // Act / Assess
    expect(problemsWithPrefix(prefix)).toEqual([]);
  });
});
