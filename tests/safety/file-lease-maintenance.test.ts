/**
 * What the local lease store keeps of a maintenance lease: its job, its mute list and the run's
 * execution, which health asks about before it lets the lease mute a probe; a lease file whose
 * execution is not a string (written by hand or by another version) keeps the job without one.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';

const ARN = 'arn:aws:states:local:000000000000:execution:stepops-maintenance:mt-run-1';

describe('the file lease store and a maintenance lease', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'stepops-lease-maintenance-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('keeps the execution of a maintenance lease it wrote', async () => {
    // Prepare
    const store = new FileLeaseStore({ home: () => home, now: () => 100 });

    // Act
    await store.acquire('target:lab', 'mt-run-1', 60, { job: 'certificates', mute: ['tls'], execution: ARN });

    // Assess
    expect(await store.holder('target:lab')).toStrictEqual({
      key: 'target:lab',
      owner: 'mt-run-1',
      expiresAt: 160,
      maintenance: { job: 'certificates', mute: ['tls'], execution: ARN },
    });
  });

  it('reads a maintenance whose job is not a string as no maintenance', async () => {
    // Prepare
    const store = new FileLeaseStore({ home: () => home, now: () => 100 });
    await store.acquire('target:lab', 'mt-run-1', 60, { job: 'certificates', mute: ['tls'] });
    const file = path.join(home, 'leases', 'target_lab.json');
    const written = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...written, maintenance: { job: 3, mute: ['tls'] } }));

    // Act
    const lease = await store.holder('target:lab');

    // Assess
    expect(lease).toStrictEqual({ key: 'target:lab', owner: 'mt-run-1', expiresAt: 160 });
  });

  it('reads an execution that is not a string as none, and keeps the job and mute list', async () => {
    // Prepare
    const store = new FileLeaseStore({ home: () => home, now: () => 100 });
    await store.acquire('target:lab', 'mt-run-1', 60, { job: 'certificates', mute: ['tls'] });
    const [file] = (await readdir(path.join(home, 'leases'))).filter((f) => f.endsWith('.json'));
    expect(file).toBeDefined();
    const written = JSON.parse(await readFile(path.join(home, 'leases', file!), 'utf8'));
    await writeFile(
      path.join(home, 'leases', file!),
      JSON.stringify({ ...written, maintenance: { ...written.maintenance, execution: 7 } }),
    );

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
