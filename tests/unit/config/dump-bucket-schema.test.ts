/**
 * The dump job's bucket fields: a lifecycle transition S3 would refuse is refused at `validate`,
 * a bucket that exists already is declared as such (and then gets no lifecycle rule from stepops),
 * and the bucket's region is the one every S3 call of the job uses.
 */
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../shared/config/load.ts';
import { type DumpBackupJob, dumpBucketRegion, targetSchema } from '../../../shared/config/schema.ts';
import full from '../../fixtures/targets/full.ts';

const DUMP = 3; // the index of the `dump` job in the full fixture

function withDump(fields: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(full) as { backup: Record<string, unknown>[] };
  copy.backup[DUMP] = { ...copy.backup[DUMP], ...fields };
  return copy;
}

function issuesOf(value: unknown): { path: string; message: string }[] {
  const result = targetSchema.safeParse(value);
  return result.success
    ? []
    : result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

describe('dump bucket fields', () => {
  it('is the dump job of the full fixture that these tests change', () => {
    expect((full.backup as { type: string }[])[DUMP]?.type).toBe('dump');
  });

  it('refuses a transition to STANDARD_IA under 30 days, naming the field (S3 refuses it at deploy)', () => {
    // Act
    const issues = issuesOf(withDump({ archive: { afterDays: 29, storageClass: 'STANDARD_IA' } }));

    // Assess
    expect(issues).toEqual([
      {
        path: formatPath(['backup', DUMP, 'archive', 'afterDays']),
        message: expect.stringContaining('STANDARD_IA needs afterDays of at least 30'),
      },
    ]);
  });

  it('accepts STANDARD_IA at 30 days, and Glacier classes earlier (S3 allows them from day 0)', () => {
    expect(issuesOf(withDump({ archive: { afterDays: 30, storageClass: 'STANDARD_IA' } }))).toEqual([]);
    expect(issuesOf(withDump({ archive: { afterDays: 1, storageClass: 'GLACIER_IR' } }))).toEqual([]);
    expect(issuesOf(withDump({ archive: { afterDays: 7, storageClass: 'GLACIER' } }))).toEqual([]);
  });

  it('refuses a lifecycle transition on a bucket stepops did not create', () => {
    // Act
    const issues = issuesOf(
      withDump({ existingBucket: true, archive: { afterDays: 60, storageClass: 'GLACIER' } }),
    );

    // Assess
    expect(issues).toEqual([
      {
        path: formatPath(['backup', DUMP, 'archive']),
        message: expect.stringContaining('writes no lifecycle rule on a bucket it did not create'),
      },
    ]);
  });

  it('defaults to a bucket stepops creates, in the hosts region unless bucketRegion says otherwise', () => {
    // Prepare
    const parsed = targetSchema.parse(full);
    const moved = targetSchema.parse(withDump({ bucketRegion: 'eu-central-1', existingBucket: true }));
    const job = (t: typeof parsed) => t.backup?.[DUMP] as DumpBackupJob;

    // Assess
    expect(parsed.hosts.type).toBe('ec2');
    expect(job(parsed).existingBucket).toBe(false);
    expect(dumpBucketRegion(parsed, job(parsed))).toBe(
      parsed.hosts.type === 'ec2' ? parsed.hosts.region : 'not ec2',
    );
    expect(job(moved).existingBucket).toBe(true);
    expect(dumpBucketRegion(moved, job(moved))).toBe('eu-central-1');
    expect(issuesOf(withDump({ bucketRegion: 'Mars-1' })).map((i) => i.path)).toEqual([
      formatPath(['backup', DUMP, 'bucketRegion']),
    ]);
  });
});
