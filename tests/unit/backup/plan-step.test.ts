/**
 * The backup workflow's first step refuses a run whose jobs use a value the target file marks
 * `unfilled(…)`, before anything starts: no snapshot, dump or upload is made with a marker.
 */
import { describe, expect, it } from 'vitest';
import { backupDepsWith } from '../../../shared/backup/deps.ts';
import { planBackupStep } from '../../../shared/backup/steps/plan-backup.ts';
import { UnfilledValuesError } from '../../../shared/config/load.ts';
import { findTarget } from '../../../shared/config/registry.ts';

const deps = { ...backupDepsWith({}), findTarget };

describe('planBackupStep', () => {
  it('refuses a dump to an unfilled bucket, naming the path and what is missing', () => {
    // Act
    const plan = () => planBackupStep({ input: { target: 'shop', backup: 'mongodb' }, runId: 'r1' }, deps);

    // Assess
    expect(plan).toThrow(UnfilledValuesError);
    expect(plan).toThrow(/backup\[0\]\.bucket \(S3 bucket for shop's MongoDB dumps\)/);
  });

  it('plans a job of a target that uses no unfilled value', () => {
    // Act
    const plan = planBackupStep({ input: { target: 'zmanim', backup: 'volumes' }, runId: 'r1' }, deps);

    // Assess
    expect(plan.jobs).toEqual([{ name: 'volumes', type: 'ebs-snapshot' }]);
  });

  it("refuses a snapshot job while the hosts' region is unfilled", () => {
    // Act
    const plan = () => planBackupStep({ input: { target: 'shop', backup: 'volumes' }, runId: 'r1' }, deps);

    // Assess
    expect(plan).toThrow(UnfilledValuesError);
    expect(plan).toThrow(/hosts\.region \(AWS region of shop's EC2 instance\)/);
  });
});
