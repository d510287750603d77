/**
 * Issue 18 item 13: the restore runbook's "latest" DB snapshot, on the shared RDS fake. A
 * pre-deploy snapshot still `creating` is the newest copy of the database: it is returned as such
 * (the pre-flight then stops and says so), never passed over for an older available one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RdsRestorer } from '../../../shared/drivers/aws/rds-restorer.ts';
import { type AwsFakes, installAwsFakes } from '../../fakes/index.ts';

process.env.AWS_ACCESS_KEY_ID ??= 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const REGION = 'us-east-1';
const DAY = 86_400_000;
let aws: AwsFakes;

beforeEach(() => {
  aws = installAwsFakes();
  aws.rds.addInstance({ id: 'datizmo-db', region: REGION });
  aws.rds.addSnapshot({
    id: 'stepops-datizmo-20260227-020000',
    region: REGION,
    dbInstance: 'datizmo-db',
    createTime: new Date(Date.now() - 2 * DAY),
    tags: { 'stepops:target': 'datizmo' },
  });
});
afterEach(() => aws.restore());

describe('RdsRestorer.findSnapshot: the newest stepops snapshot', () => {
  it('returns a pre-deploy snapshot still being created, not an older available one', async () => {
    // Prepare: the deploy an hour ago took a snapshot that is still creating
    aws.rds.addSnapshot({
      id: 'stepops-datizmo-20260301-020000',
      region: REGION,
      dbInstance: 'datizmo-db',
      status: 'creating',
      creatingReads: 10,
      createTime: new Date(Date.now() - 3_600_000),
      tags: { 'stepops:target': 'datizmo', 'stepops:ref': 'v42' },
    });

    // Act
    const found = await new RdsRestorer().findSnapshot(REGION, {
      dbInstance: 'datizmo-db',
      target: 'datizmo',
    });

    // Assess
    expect(found).toEqual({
      snapshotId: 'stepops-datizmo-20260301-020000',
      status: 'creating',
      stepops: true,
    });
  });

  it('skips a failed snapshot and one of another target, and returns the newest available', async () => {
    // Prepare
    aws.rds.addSnapshot({
      id: 'stepops-datizmo-failed',
      region: REGION,
      dbInstance: 'datizmo-db',
      status: 'failed',
      createTime: new Date(),
      tags: { 'stepops:target': 'datizmo' },
    });
    aws.rds.addSnapshot({
      id: 'someone-elses',
      region: REGION,
      dbInstance: 'datizmo-db',
      createTime: new Date(),
      tags: { 'stepops:target': 'shop' },
    });

    // Act
    const found = await new RdsRestorer().findSnapshot(REGION, {
      dbInstance: 'datizmo-db',
      target: 'datizmo',
    });

    // Assess
    expect(found).toEqual({
      snapshotId: 'stepops-datizmo-20260227-020000',
      status: 'available',
      stepops: true,
    });
  });
});
