/**
 * What makes a retried start step idempotent: the names it gives what it makes come from the run
 * (its id and start), not the clock; and a restore that RDS answers `DBInstanceAlreadyExists`
 * takes the instance only when it is this run's (its tags), on the shared RDS fake.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { restoreTestInstanceId, runTime } from '../../../shared/backup/steps/common.ts';
import { RdsScratchDatabases } from '../../../shared/drivers/aws/rds-scratch-databases.ts';
import { NotStepopsCopyError } from '../../../shared/drivers/errors.ts';
import { CallLog } from '../../fakes/common.ts';
import { type FakeRds, fakeRds } from '../../fakes/rds.ts';

const AT = new Date('2026-03-01T02:00:00.000Z');
/** An RDS DB instance identifier: 1 to 63 letters, digits or hyphens, a letter first, no `--`, no final `-`. */
const RDS_ID = /^(?!.*--)[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

describe('runTime', () => {
  it("takes the run's start when the input carries it, the clock otherwise", () => {
    // Act & Assess
    expect(runTime({ runStartedAt: '2026-03-01T02:00:00.123Z' }, 0).toISOString()).toBe(
      '2026-03-01T02:00:00.123Z',
    );
    expect(runTime({}, AT.getTime())).toEqual(AT);
    expect(runTime({ runStartedAt: 'not a date' }, AT.getTime())).toEqual(AT);
  });
});

describe('restoreTestInstanceId', () => {
  it('is the same for every attempt of a run, and differs between runs and between backups', () => {
    // Act
    const first = restoreTestInstanceId('datizmo', 'database', 'run-7', AT);
    const again = restoreTestInstanceId('datizmo', 'database', 'run-7', AT);

    // Assess
    expect(first).toBe(again);
    expect(first).toMatch(/^stepops-rt-datizmo-database-20260301t020000z-[0-9a-f]{6}$/);
    expect(restoreTestInstanceId('datizmo', 'database', 'run-8', AT)).not.toBe(first);
    expect(restoreTestInstanceId('datizmo', 'replica', 'run-7', AT)).not.toBe(first);
  });

  it('stays a valid RDS identifier for long names, keeping the run part whole', () => {
    // Prepare
    const target = `a${'-b'.repeat(30)}`;
    const backup = `${'x'.repeat(40)}-`;

    // Act
    const one = restoreTestInstanceId(target, backup, 'run-1', AT);
    const other = restoreTestInstanceId(target, `${'x'.repeat(40)}-y`, 'run-1', AT);

    // Assess
    for (const id of [one, other]) {
      expect(id).toMatch(RDS_ID);
      expect(id.length).toBeLessThanOrEqual(63);
      expect(id).toMatch(/-20260301t020000z-[0-9a-f]{6}$/);
    }
    expect(one).not.toBe(other);
  });
});

describe('RdsScratchDatabases.restore, retried', () => {
  let rds: FakeRds;
  afterEach(() => rds.restore());

  const request = (runId: string) => ({
    region: 'us-east-1',
    snapshotId: 'stepops-datizmo-database-20260301t020000z',
    instanceId: 'stepops-rt-datizmo-database-20260301t020000z-abcdef',
    instanceClass: 'db.t4g.micro',
    tags: { 'stepops:target': 'datizmo', 'stepops:backup': 'database', 'stepops:run': runId },
  });

  it('finds the instance its first attempt made: one instance, the same answer', async () => {
    // Prepare
    rds = fakeRds(new CallLog());
    rds.addSnapshot({ id: request('r').snapshotId, region: 'us-east-1', dbInstance: 'datizmo-db' });
    const scratch = new RdsScratchDatabases();

    // Act
    const first = await scratch.restore(request('run-7'));
    const retried = await scratch.restore(request('run-7'));

    // Assess
    expect(retried).toEqual(first);
    expect([...rds.instances.keys()]).toEqual([request('run-7').instanceId]);
  });

  it("refuses an instance of that name that is not this run's, and changes nothing", async () => {
    // Prepare
    rds = fakeRds(new CallLog());
    rds.addSnapshot({ id: request('r').snapshotId, region: 'us-east-1', dbInstance: 'datizmo-db' });
    const scratch = new RdsScratchDatabases();
    await scratch.restore(request('run-other'));

    // Act
    const retried = scratch.restore(request('run-7'));

    // Assess
    await expect(retried).rejects.toThrow(NotStepopsCopyError);
    await expect(scratch.restore(request('run-7'))).rejects.toThrow(
      /already exists and is not this run's restore test/,
    );
    expect(rds.instances.get(request('run-7').instanceId)?.tags['stepops:run']).toBe('run-other');
  });

  it('lets any other refusal through', async () => {
    // Prepare: no such snapshot
    rds = fakeRds(new CallLog());

    // Act & Assess
    await expect(new RdsScratchDatabases().restore(request('run-7'))).rejects.toThrow(/not found/);
  });
});
