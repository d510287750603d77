/**
 * What the local lease store keeps of a lease: the run's execution, which health asks about before
 * it lets the lease mute anything, on any lease (a deploy's or a recovery's too), and a maintenance
 * run's job and mute list; a renewal that passes them again keeps them. A lease file whose
 * execution or job is not a string (written by hand or by another version) is read without it.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';

const ARN = 'arn:aws:states:local:000000000000:execution:stepops-maintenance:mt-run-1';
const DEPLOY = 'arn:aws:states:local:000000000000:execution:stepops-deploy:run-2';

describe('the file lease store and what a lease says', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'stepops-lease-maintenance-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  /** The one lease file of the store, as JSON, and a writer of it. */
  async function leaseFile() {
    const [name] = (await readdir(path.join(home, 'leases'))).filter((f) => f.endsWith('.json'));
    expect(name).toBeDefined();
    const file = path.join(home, 'leases', name as string);
    return {
      written: JSON.parse(await readFile(file, 'utf8')),
      write: (value: unknown) => writeFile(file, JSON.stringify(value)),
    };
  }

  it('keeps the execution and the maintenance of a maintenance lease it wrote', async () => {
    // Prepare
    const store = new FileLeaseStore({ home: () => home, now: () => 100 });

    // Act
    await store.acquire('target:lab', 'mt-run-1', 60, {
      execution: ARN,
      maintenance: { job: 'certificates', mute: ['tls'] },
    });

    // Assess
    expect(await store.holder('target:lab')).toStrictEqual({
      key: 'target:lab',
      owner: 'mt-run-1',
      expiresAt: 160,
      execution: ARN,
      maintenance: { job: 'certificates', mute: ['tls'] },
    });
  });

  it("keeps a deploy lease's execution, through a renewal that passes it again", async () => {
    // Prepare
    const clock = { now: 100 };
    const store = new FileLeaseStore({ home: () => home, now: () => clock.now });
    await store.acquire('target:lab', 'run-2', 60, { execution: DEPLOY });
    clock.now = 150;

    // Act
    const held = await store.holder('target:lab');
    const renewed = await store.acquire('target:lab', 'run-2', 60, { execution: held?.execution });

    // Assess
    expect(held).toStrictEqual({ key: 'target:lab', owner: 'run-2', expiresAt: 160, execution: DEPLOY });
    expect(renewed).toStrictEqual({ acquired: true });
    expect(await store.holder('target:lab')).toStrictEqual({
      key: 'target:lab',
      owner: 'run-2',
      expiresAt: 210,
      execution: DEPLOY,
    });
  });

  it('writes no execution nor maintenance when none is given', async () => {
    // Prepare
    const store = new FileLeaseStore({ home: () => home, now: () => 100 });

    // Act
    await store.acquire('target:lab', 'run-3', 60, {});

    // Assess
    expect((await leaseFile()).written).toStrictEqual({ key: 'target:lab', owner: 'run-3', expiresAt: 160 });
  });

  it('reads a maintenance whose job is not a string as no maintenance', async () => {
    // Prepare
    const store = new FileLeaseStore({ home: () => home, now: () => 100 });
    await store.acquire('target:lab', 'mt-run-1', 60, {
      maintenance: { job: 'certificates', mute: ['tls'] },
    });
    const { written, write } = await leaseFile();
    await write({ ...written, maintenance: { job: 3, mute: ['tls'] } });

    // Act
    const lease = await store.holder('target:lab');

    // Assess
    expect(lease).toStrictEqual({ key: 'target:lab', owner: 'mt-run-1', expiresAt: 160 });
  });

  it('reads an execution that is not a string as none, and keeps the job and mute list', async () => {
    // Prepare
    const store = new FileLeaseStore({ home: () => home, now: () => 100 });
    await store.acquire('target:lab', 'mt-run-1', 60, {
      execution: ARN,
      maintenance: { job: 'certificates', mute: ['tls'] },
    });
    const { written, write } = await leaseFile();
    await write({ ...written, execution: 7 });

    // Act
    const lease = await store.holder('target:lab');

    // Assess
    expect(lease).toStrictEqual({
      key: 'target:lab',
      owner: 'mt-run-1',
      expiresAt: 160,
      maintenance: { job: 'certificates', mute: ['tls'] },
    });
  });
});
