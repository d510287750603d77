/**
 * `stepops plan backup` names the region of each dump bucket, the one every S3 call and presigned
 * URL of the job is made for, and says when the upload URL is made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBackup } from '../../../shared/backup/plan.ts';
import { findTarget } from '../../../shared/config/registry.ts';
import type { Target } from '../../../shared/config/schema.ts';
import { registerFilledTargets } from '../../fixtures/filled-targets.ts';

let clear: () => void;
beforeAll(() => {
  clear = registerFilledTargets();
});
afterAll(() => clear());

const NOW = new Date('2026-03-01T02:00:00Z');
const actionsOf = (target: Target, job: string) =>
  planBackup(target, { runId: 'r1', now: NOW, job }).jobs[0]?.actions.join('\n') ?? '';

describe('plan backup of a dump', () => {
  it("names the bucket's region: the hosts' region, or the job's bucketRegion", () => {
    // Prepare
    const docsai = findTarget('docsai');
    const moved = {
      ...docsai,
      backup: (docsai.backup ?? []).map((j) =>
        j.type === 'dump' ? { ...j, bucketRegion: 'eu-central-1' } : j,
      ),
    } as Target;

    // Act
    const plain = actionsOf(docsai, 'database');
    const elsewhere = actionsOf(moved, 'database');
    const zmanim = actionsOf(findTarget('zmanim'), 'database');

    // Assess
    expect(plain).toContain("in us-east-1 (the bucket's region)");
    expect(plain).toContain('once the dump is done: presign a PUT');
    expect(elsewhere).toContain("in eu-central-1 (the bucket's region)");
    expect(zmanim).toContain('(bucket in eu-west-1)');
  });
});
