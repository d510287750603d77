/**
 * The paths of the file lock (and of the lease store above it) that only another process reaches:
 * a live holder that keeps the lock (wait, then give up after 10 s), one that crashed (taken over
 * after 30 s, not at 30 s), a generation removed while it is read, a contender that re-created a
 * generation already passed, a holder that overran and was taken over, a release that cannot be
 * written, and a lease released or taken between the store's first look and its lock.
 *
 * The test plays the other process through the lock's injected clock, pause and file calls: the
 * expected waits and files are written out here, and nothing waits for real.
 */
import * as nodeFs from 'node:fs/promises';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileLeaseStore,
  type LockFs,
  type LockOptions,
  withLock,
} from '../../shared/drivers/local/file-lease-store.ts';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-safety-lock-paths-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh lock path and its generations directory, created. */
async function freshLock(): Promise<{ lock: string; dir: string }> {
  n += 1;
  const lock = path.join(root, `lock-${n}`);
  await mkdir(`${lock}.d`, { recursive: true });
  return { lock, dir: `${lock}.d` };
}

/** The real file calls, with some replaced. */
function fsWith(overrides: Partial<LockFs>): LockFs {
  const { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } = nodeFs;
  return { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile, ...overrides };
}

/** An error as the file system raises it. */
function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: planted by the test`), { code });
}

/**
 * A clock the test moves: each pause of the lock advances it by `step` ms and runs `onPause`
 * (what the other process does meanwhile). Stops a lock that would wait for ever after 100 pauses.
 */
function virtualTime(
  start: number,
  step: number,
  onPause: (pause: number) => Promise<void> = async () => {},
) {
  const state = { now: start, pauses: 0 };
  const options: LockOptions = {
    now: () => state.now,
    pause: async () => {
      state.pauses += 1;
      if (state.pauses > 100) throw new Error('the lock never stopped waiting');
      state.now += step;
      await onPause(state.pauses);
    },
  };
  return { state, options };
}

/** Writes a generation held by another (live) process, last touched at a whole second. */
async function heldByOther(dir: string, generation: number, touched = new Date()): Promise<number> {
  const file = path.join(dir, String(generation));
  await writeFile(file, 'held 4242\n');
  const whole = new Date(Math.floor(touched.getTime() / 1000) * 1000);
  await utimes(file, whole, whole);
  return (await stat(file)).mtimeMs;
}

describe('the file lock, another process played by the test', () => {
  it('waits while a live holder has the lock, and takes it once that holder releases it', async () => {
    // Prepare: generation 1 held by another process; it frees the lock during the second pause.
    const { lock, dir } = await freshLock();
    const touched = await heldByOther(dir, 1);
    const time = virtualTime(touched + 1_000, 1_000, async (pause) => {
      if (pause === 2) await writeFile(path.join(dir, '2'), 'free 4242\n');
    });
    let pausesBeforeWork = -1;
    let inside = '';

    // Act
    const value = await withLock(
      lock,
      async () => {
        pausesBeforeWork = time.state.pauses;
        inside = await readFile(path.join(dir, '3'), 'utf8');
        return 'done';
      },
      time.options,
    );

    // Assess: it ran only after the release, held generation 3 as "held <pid>", and left 4 free.
    expect(value).toBe('done');
    expect(pausesBeforeWork).toBe(2);
    expect(inside).toBe(`held ${process.pid}\n`);
    expect(await readdir(dir)).toEqual(['4']);
    expect(await readFile(path.join(dir, '4'), 'utf8')).toBe(`free ${process.pid}\n`);
  });

  it('gives up after 10 s of a live holder (not at 10 s), runs nothing and leaves its lock alone', async () => {
    // Prepare: a holder that never lets go; the clock moves 1 s per pause.
    const { lock, dir } = await freshLock();
    const touched = await heldByOther(dir, 1);
    const time = virtualTime(touched, 1_000);
    let ran = false;

    // Act
    const error = await withLock(
      lock,
      async () => {
        ran = true;
      },
      time.options,
    ).catch((e: unknown) => e as Error);

    // Assess: a pause at 0, 1, … 10 s waited (11), then at 11 s it gave up.
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(`timed out waiting for the lock ${lock}`);
    expect(time.state.pauses).toBe(11);
    expect(ran).toBe(false);
    expect(await readdir(dir)).toEqual(['1']);
    expect(await readFile(path.join(dir, '1'), 'utf8')).toBe('held 4242\n');
  });

  it('takes over a lock untouched for more than 30 s, and not one untouched for exactly 30 s', async () => {
    // Prepare: at exactly 30 s the holder still counts as alive; one pause (1 ms) later it does not.
    const { lock, dir } = await freshLock();
    const touched = await heldByOther(dir, 1, new Date(Date.now() - 60_000));
    const time = virtualTime(touched + 30_000, 1);

    // Act
    const held = await withLock(lock, async () => (await readdir(dir)).sort(), time.options);

    // Assess
    expect(time.state.pauses).toBe(1);
    expect(held).toEqual(['2']);
    expect(await readdir(dir)).toEqual(['3']);
  });

  it('takes a free lock without waiting however old its last generation is', async () => {
    // Prepare: generation 5 released a minute ago.
    const { lock, dir } = await freshLock();
    await writeFile(path.join(dir, '5'), 'free 4242\n');
    const time = virtualTime(Date.now(), 1_000);

    // Act
    const held = await withLock(lock, async () => (await readdir(dir)).sort(), time.options);

    // Assess
    expect(time.state.pauses).toBe(0);
    expect(held).toEqual(['6']);
  });

  it('looks again, without waiting, when the generation it reads is removed under it', async () => {
    // Prepare: generation 1 (free) is removed by its releaser just as this contender reads it.
    const { lock, dir } = await freshLock();
    await writeFile(path.join(dir, '1'), 'free 4242\n');
    let removed = false;
    const fs = fsWith({
      readFile: (async (file: string, encoding: BufferEncoding) => {
        if (!removed && file === path.join(dir, '1')) {
          removed = true;
          await nodeFs.unlink(file);
        }
        return nodeFs.readFile(file, encoding);
      }) as LockFs['readFile'],
    });
    const time = virtualTime(Date.now(), 1_000);

    // Act
    const held = await withLock(lock, async () => (await readdir(dir)).sort(), { ...time.options, fs });

    // Assess: the directory was empty when it looked again, so it took generation 1.
    expect(removed).toBe(true);
    expect(time.state.pauses).toBe(0);
    expect(held).toEqual(['1']);
  });

  it('passes on an error reading a generation, instead of taking the lock or looking again', async () => {
    // Prepare: the generation cannot be read once (EIO).
    const { lock, dir } = await freshLock();
    await writeFile(path.join(dir, '1'), 'free 4242\n');
    let failed = false;
    const fs = fsWith({
      readFile: (async (file: string, encoding: BufferEncoding) => {
        if (!failed && file === path.join(dir, '1')) {
          failed = true;
          throw fsError('EIO');
        }
        return nodeFs.readFile(file, encoding);
      }) as LockFs['readFile'],
    });
    let ran = false;

    // Act
    const error = await withLock(
      lock,
      async () => {
        ran = true;
      },
      { ...virtualTime(Date.now(), 1_000).options, fs },
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'EIO' });
    expect(ran).toBe(false);
    expect(await readdir(dir)).toEqual(['1']);
  });

  it('gives way when another process got a newer generation while it re-created an old one', async () => {
    // Prepare: just as this contender creates generation 1, another process has created 2 and
    // holds it; that process releases the lock during the first pause.
    const { lock, dir } = await freshLock();
    let raced = false;
    const fs = fsWith({
      link: async (from, to) => {
        await nodeFs.link(from, to);
        if (!raced && to === path.join(dir, '1')) {
          raced = true;
          await nodeFs.writeFile(path.join(dir, '2'), 'held 4242\n');
        }
      },
    });
    let atFirstPause: string[] = [];
    const time = virtualTime(Date.now(), 1_000, async (pause) => {
      if (pause !== 1) return;
      atFirstPause = (await readdir(dir)).sort();
      await writeFile(path.join(dir, '3'), 'free 4242\n');
    });
    let pausesBeforeWork = -1;

    // Act
    const held = await withLock(
      lock,
      async () => {
        pausesBeforeWork = time.state.pauses;
        return (await readdir(dir)).sort();
      },
      { ...time.options, fs },
    );

    // Assess: it removed its generation 1 at once, waited for 2's holder, then held 4.
    expect(raced).toBe(true);
    expect(atFirstPause).toEqual(['2']);
    expect(pausesBeforeWork).toBe(1);
    expect(held).toEqual(['4']);
    expect(await readdir(dir)).toEqual(['5']);
  });

  it('looks again at once, without a pause, when another process created the next generation first', async () => {
    // Prepare: the lock is free, but another process links generation 1 just before this one, and
    // crashes holding it (its generation last touched a minute ago).
    const { lock, dir } = await freshLock();
    let raced = false;
    const fs = fsWith({
      link: async (from, to) => {
        if (!raced && to === path.join(dir, '1')) {
          raced = true;
          await heldByOther(dir, 1, new Date(Date.now() - 60_000));
        }
        await nodeFs.link(from, to);
      },
    });
    const time = virtualTime(Date.now(), 1_000);

    // Act
    const held = await withLock(lock, async () => (await readdir(dir)).sort(), { ...time.options, fs });

    // Assess: no pause: it saw generation 1 stale on its next look and took 2 over.
    expect(raced).toBe(true);
    expect(time.state.pauses).toBe(0);
    expect(held).toEqual(['2']);
  });

  it("leaves the new holder's generation alone when its own lock was taken over while it worked", async () => {
    // Prepare
    const { lock, dir } = await freshLock();

    // Act: while the work runs (past 30 s, say), another process takes generation 2 over.
    const value = await withLock(lock, async () => {
      await writeFile(path.join(dir, '2'), 'held 4242\n');
      return 'overran';
    });

    // Assess: its release found generation 2 taken and changed nothing.
    expect(value).toBe('overran');
    expect((await readdir(dir)).sort()).toEqual(['1', '2']);
    expect(await readFile(path.join(dir, '2'), 'utf8')).toBe('held 4242\n');
  });

  it('returns the work and leaves its generation to go stale when its release cannot be written', async () => {
    // Prepare: creating generation 2 (the release) fails with EIO.
    const { lock, dir } = await freshLock();
    const fs = fsWith({
      link: async (from, to) => {
        if (to === path.join(dir, '2')) throw fsError('EIO');
        await nodeFs.link(from, to);
      },
    });

    // Act
    const value = await withLock(lock, async () => 'kept', { fs });

    // Assess
    expect(value).toBe('kept');
    expect(await readdir(dir)).toEqual(['1']);
    expect(await readFile(path.join(dir, '1'), 'utf8')).toBe(`held ${process.pid}\n`);
  });

  it('reads only whole-number names as generations, two digits and more, and removes nothing else', async () => {
    // Prepare: generation 9 free, beside files that are not generations.
    const { lock, dir } = await freshLock();
    await writeFile(path.join(dir, '9'), 'free 4242\n');
    for (const other of ['12.notes', 'x12', '0.5'])
      await writeFile(path.join(dir, other), 'not a generation\n');

    // Act
    const held = await withLock(lock, async () => (await readdir(dir)).sort());

    // Assess: it held 10, released with 11, and removed 9 and 10 only.
    expect(held).toEqual(['0.5', '10', '12.notes', 'x12']);
    expect((await readdir(dir)).sort()).toEqual(['0.5', '11', '12.notes', 'x12']);
  });
});

describe('the file lease store between its first look and its lock', () => {
  /** A store whose lock, as it starts, lets `meanwhile` run (the other process's move). */
  function storeWith(home: string, now: () => number, overrides: Partial<LockFs>) {
    return new FileLeaseStore({ home: () => home, now, lock: { fs: fsWith(overrides) } });
  }

  async function leaseFile(home: string, key: string): Promise<string> {
    await mkdir(path.join(home, 'leases'), { recursive: true });
    return path.join(home, 'leases', `${key}.json`);
  }

  it('takes a key whose holder released it between the first look and the lock', async () => {
    // Prepare: "a" holds k until 11; it releases k just as "b" starts to wait for the lock.
    n += 1;
    const home = path.join(root, `home-${n}`);
    const file = await leaseFile(home, 'k');
    await new FileLeaseStore({ home: () => home, now: () => 1 }).acquire('k', 'a', 10);
    const store = storeWith(home, () => 5, {
      mkdir: (async (dir: string, options: { recursive: true }) => {
        if (dir.endsWith('.lock.d')) await nodeFs.unlink(file).catch(() => undefined);
        return nodeFs.mkdir(dir, options);
      }) as LockFs['mkdir'],
    });

    // Act
    const taken = await store.acquire('k', 'b', 10);

    // Assess
    expect(taken).toEqual({ acquired: true });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ key: 'k', owner: 'b', expiresAt: 15 });
  });

  it('reports a key taken by another process between its look under the lock and its create as held by it', async () => {
    // Prepare: "a" releases k; "c" (taking no lock: the key looked free) creates it just before "b".
    n += 1;
    const home = path.join(root, `home-${n}`);
    const file = await leaseFile(home, 'k');
    await new FileLeaseStore({ home: () => home, now: () => 1 }).acquire('k', 'a', 10);
    let inLock = false;
    const theirs = { key: 'k', owner: 'c', expiresAt: 99 };
    const store = storeWith(home, () => 5, {
      mkdir: (async (dir: string, options: { recursive: true }) => {
        if (dir.endsWith('.lock.d')) {
          inLock = true;
          await nodeFs.unlink(file);
        }
        return nodeFs.mkdir(dir, options);
      }) as LockFs['mkdir'],
      link: async (from, to) => {
        if (inLock && to === file) await nodeFs.writeFile(file, `${JSON.stringify(theirs)}\n`);
        await nodeFs.link(from, to);
      },
    });

    // Act
    const taken = await store.acquire('k', 'b', 10);

    // Assess
    expect(taken).toEqual({ acquired: false, heldBy: theirs });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(theirs);
  });

  it('reports a key taken and given back again in that instant as busy, and does not take it', async () => {
    // Prepare: as above, but "c" has released k again by the time "b" reads who won.
    n += 1;
    const home = path.join(root, `home-${n}`);
    const file = await leaseFile(home, 'k');
    await new FileLeaseStore({ home: () => home, now: () => 1 }).acquire('k', 'a', 10);
    let inLock = false;
    const store = storeWith(home, () => 5, {
      mkdir: (async (dir: string, options: { recursive: true }) => {
        if (dir.endsWith('.lock.d')) {
          inLock = true;
          await nodeFs.unlink(file);
        }
        return nodeFs.mkdir(dir, options);
      }) as LockFs['mkdir'],
      link: async (from, to) => {
        if (!(inLock && to === file)) return nodeFs.link(from, to);
        await nodeFs.writeFile(file, '{"key":"k","owner":"c","expiresAt":99}\n');
        try {
          await nodeFs.link(from, to);
        } finally {
          await nodeFs.unlink(file);
        }
      },
    });

    // Act
    const taken = await store.acquire('k', 'b', 10);

    // Assess
    expect(taken).toEqual({ acquired: false, heldBy: { key: 'k', owner: 'b', expiresAt: 15 } });
    expect(await store.holder('k')).toBeUndefined();
  });

  it('fails, rather than reading the key as held, when the lease cannot be created for another reason', async () => {
    // Prepare: the first create of the lease fails with EIO.
    n += 1;
    const home = path.join(root, `home-${n}`);
    const file = await leaseFile(home, 'k');
    let failed = false;
    const store = storeWith(home, () => 1, {
      link: async (from, to) => {
        if (!failed && to === file) {
          failed = true;
          throw fsError('EIO');
        }
        await nodeFs.link(from, to);
      },
    });

    // Act
    const error = await store.acquire('k', 'b', 10).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'EIO' });
    expect(await store.holder('k')).toBeUndefined();
  });

  it('takes a free key at once, without its lock', async () => {
    // Prepare
    n += 1;
    const home = path.join(root, `home-${n}`);
    const store = new FileLeaseStore({ home: () => home, now: () => 1 });

    // Act
    const taken = await store.acquire('k', 'a', 10);

    // Assess
    expect(taken).toEqual({ acquired: true });
    expect(await readdir(path.join(home, 'leases'))).toEqual(['k.json']);
  });

  it('releases under the same lock as a takeover: it waits while that lock is held', async () => {
    // Prepare: "a" holds k; another process holds k's lock and lets it go during the first pause.
    n += 1;
    const home = path.join(root, `home-${n}`);
    const file = await leaseFile(home, 'k');
    await new FileLeaseStore({ home: () => home, now: () => 1 }).acquire('k', 'a', 10);
    const dir = `${file}.lock.d`;
    await mkdir(dir, { recursive: true });
    await heldByOther(dir, 1);
    const time = virtualTime(Date.now(), 1_000, async (pause) => {
      if (pause === 1) await writeFile(path.join(dir, '2'), 'free 4242\n');
    });
    const store = new FileLeaseStore({ home: () => home, now: () => 5, lock: time.options });

    // Act
    await store.release('k', 'a');

    // Assess
    expect(time.state.pauses).toBe(1);
    expect(await store.holder('k')).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['4']);
  });

  it('releases nothing, and does not fail, when the lease is gone by the time it holds the lock', async () => {
    // Prepare: "a" holds k; its lease is removed (released by another call) as the lock is taken.
    n += 1;
    const home = path.join(root, `home-${n}`);
    const file = await leaseFile(home, 'k');
    await new FileLeaseStore({ home: () => home, now: () => 1 }).acquire('k', 'a', 10);
    const store = storeWith(home, () => 5, {
      mkdir: (async (dir: string, options: { recursive: true }) => {
        if (dir.endsWith('.lock.d')) await nodeFs.unlink(file).catch(() => undefined);
        return nodeFs.mkdir(dir, options);
      }) as LockFs['mkdir'],
    });

    // Act
    await store.release('k', 'a');

    // Assess
    expect(await store.holder('k')).toBeUndefined();
  });

  it('takes no lock and writes nothing to release a key nobody holds', async () => {
    // Prepare
    n += 1;
    const home = path.join(root, `home-${n}`);
    const store = new FileLeaseStore({ home: () => home, now: () => 1 });

    // Act
    await store.release('k', 'a');

    // Assess
    expect(await readdir(path.join(home, 'leases'))).toEqual([]);
  });
});
