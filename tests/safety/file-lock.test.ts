/**
 * The lock under the file lease store: one holder at a time in a process, a lock left by a
 * crashed holder (older than 30 s, aged here with utimes, not waited for) is taken over, a lock
 * is released even when its work throws, and only the newest generation is kept.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileLeaseStore, withLock } from '../../shared/drivers/local/file-lease-store.ts';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-safety-lock-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const fresh = () => {
  n += 1;
  return path.join(root, `lock-${n}`);
};

describe('the file lock', () => {
  it('lets one holder in at a time and keeps only the newest generation, marked free', async () => {
    // Prepare
    const lock = fresh();
    let inside = 0;
    let most = 0;
    const order: number[] = [];

    // Act
    await Promise.all(
      [1, 2, 3, 4].map((i) =>
        withLock(lock, async () => {
          inside += 1;
          most = Math.max(most, inside);
          await new Promise((resolve) => setTimeout(resolve, 5));
          order.push(i);
          inside -= 1;
        }),
      ),
    );

    // Assess
    expect(most).toBe(1);
    expect(order.sort()).toEqual([1, 2, 3, 4]);
    const generations = await readdir(`${lock}.d`);
    expect(generations).toEqual(['8']);
    expect(await readFile(path.join(`${lock}.d`, '8'), 'utf8')).toMatch(/^free \d+\n$/);
  });

  it('releases the lock when the work throws, and passes the error on', async () => {
    // Prepare
    const lock = fresh();

    // Act
    const error = await withLock(lock, async () => {
      throw new Error('work failed');
    }).catch((e: unknown) => e);
    const next = await withLock(lock, async () => 'second');

    // Assess
    expect((error as Error).message).toBe('work failed');
    expect(next).toBe('second');
    expect(await readdir(`${lock}.d`)).toEqual(['4']);
  });

  it('takes over a lock whose holder crashed more than 30 s ago', async () => {
    // Prepare: generation 3 held by a dead process, last touched a minute ago.
    const lock = fresh();
    const dir = `${lock}.d`;
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, '2'), 'free 1\n');
    await writeFile(path.join(dir, '3'), 'held 999999\n');
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(path.join(dir, '3'), minuteAgo, minuteAgo);

    // Act
    const value = await withLock(lock, async () => readdir(dir));

    // Assess: it held generation 4 and removed the older ones.
    expect(value.sort()).toEqual(['4']);
    expect(await readdir(dir)).toEqual(['5']);
  });

  it('takes a lock released by its last holder at once', async () => {
    // Prepare
    const lock = fresh();
    const dir = `${lock}.d`;
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, '7'), 'free 1\n');

    // Act
    const held = await withLock(lock, async () => (await readdir(dir)).sort());

    // Assess
    expect(held).toEqual(['8']);
  });
});

describe('the file lease store under its lock', () => {
  it('takes over an expired lease and refuses a live one, release by a stranger changing nothing', async () => {
    // Prepare
    const home = fresh();
    let now = 100;
    const leases = new FileLeaseStore({ home: () => home, now: () => now });
    await leases.acquire('k', 'a', 10);

    // Act
    now = 105;
    const refused = await leases.acquire('k', 'b', 10);
    await leases.release('k', 'b');
    now = 110;
    const taken = await leases.acquire('k', 'b', 10);

    // Assess
    expect(refused).toEqual({ acquired: false, heldBy: { key: 'k', owner: 'a', expiresAt: 110 } });
    expect(taken).toEqual({ acquired: true });
    expect(await leases.holder('k')).toEqual({ key: 'k', owner: 'b', expiresAt: 120 });
    const file = path.join(home, 'leases', 'k.json');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ key: 'k', owner: 'b', expiresAt: 120 });
  });

  it('takes a key released since its first look, and leaves no temporary file behind', async () => {
    // Prepare
    const home = fresh();
    const leases = new FileLeaseStore({ home: () => home, now: () => 1 });
    await leases.acquire('k', 'a', 10);
    await leases.release('k', 'a');
    await leases.release('k', 'a');

    // Act
    const taken = await leases.acquire('k', 'b', 10);

    // Assess
    expect(taken).toEqual({ acquired: true });
    expect((await readdir(path.join(home, 'leases'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads a lease file that is not a lease as no lease', async () => {
    // Prepare
    const home = fresh();
    const leases = new FileLeaseStore({ home: () => home, now: () => 1 });
    await mkdir(path.join(home, 'leases'), { recursive: true });
    await writeFile(path.join(home, 'leases', 'x.json'), '{"owner": 5, "expiresAt": 99}');
    await writeFile(path.join(home, 'leases', 'y.json'), '{"owner": "a"');
    await writeFile(path.join(home, 'leases', 'z.json'), '{"owner": "a", "expiresAt": "99"}');

    // Assess
    expect(await leases.holder('x')).toBeUndefined();
    expect(await leases.holder('y')).toBeUndefined();
    expect(await leases.holder('z')).toBeUndefined();
  });

  it('throws when a lease cannot be read, instead of reading it as free', async () => {
    // Prepare: a directory where the lease file should be (EISDIR; permissions would not stop root).
    const home = fresh();
    const leases = new FileLeaseStore({ home: () => home, now: () => 1 });
    await mkdir(path.join(home, 'leases', 'k.json'), { recursive: true });

    // Assess
    await expect(leases.holder('k')).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
