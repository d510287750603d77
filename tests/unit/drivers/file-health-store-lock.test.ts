/**
 * FileHealthStore under concurrency, with a lock a crashed process left behind: of the writers that
 * all read version 0, exactly one may write version 1, every trial (a second would start the same
 * runbook twice). The store takes the lease store's lock, whose stale take-over is a compare-and-swap.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileHealthStore } from '../../../shared/drivers/local/file-health-store.ts';

const TRIALS = 40;
const WRITERS = 6;

describe('FileHealthStore lock', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-health-lock-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lets exactly one of the writers that read the same version write, with a stale lock left behind', async () => {
    const wins: number[] = [];
    for (let trial = 0; trial < TRIALS; trial += 1) {
      // Prepare: a crashed writer's lock, a minute old, in both the old and the current form
      const home = path.join(root, String(trial));
      const dir = path.join(home, 'health');
      await mkdir(path.join(dir, 'race.json.lock.d'), { recursive: true });
      const old = new Date(Date.now() - 60_000);
      for (const file of [path.join(dir, 'race.json.lock'), path.join(dir, 'race.json.lock.d', '1')]) {
        await writeFile(file, 'held 1\n');
        await utimes(file, old, old);
      }
      const stores = Array.from({ length: WRITERS }, () => new FileHealthStore({ home: () => home }));

      // Act
      const written = await Promise.all(stores.map((store, i) => store.write('race', `{"writer":${i}}`, 0)));

      // Assess
      wins.push(written.filter(Boolean).length);
      expect((await stores[0]!.read('race'))?.version).toBe(1);
    }
    expect(wins).toEqual(Array(TRIALS).fill(1));
  });
});
