/**
 * File lease store: one JSON file per key under `<stepopsHome()>/leases/`.
 *
 * A free key is taken with an exclusive create (the lease is written to a temp file, then hard-linked
 * to its name, which fails if the name exists), so two owners can never both create it. Taking over
 * an expired lease and releasing one happen under a lock ({@link withLock}) that is itself taken,
 * and taken over from a crashed holder, by exclusive creates only; the lease file itself is only
 * ever replaced by a rename, so a reader never sees half a lease.
 */
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import path from 'node:path';
import type { Lease, LeaseDetails, LeaseStore } from '../ports.ts';
import { fileSafe, stepopsHome } from './home.ts';

/** A lock held longer than this was left by a crashed process and is taken over. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

/** The file calls the store and its lock make (`node:fs/promises`'s, unless a test stands in for another process). */
export type LockFs = Pick<
  typeof nodeFs,
  'link' | 'mkdir' | 'readdir' | 'readFile' | 'rename' | 'stat' | 'unlink' | 'writeFile'
>;

/**
 * What the lock reads of the world and how it waits. Each is injectable, so that a test can play
 * the other process (a holder that never lets go, a generation removed while it is read) in one
 * process and without waiting.
 */
export interface LockOptions {
  /** Epoch milliseconds now: the age of a lock and the time spent waiting are measured with it. */
  now?: () => number;
  /** The pause between two tries while another holder has the lock (10–50 ms by default). */
  pause?: () => Promise<void>;
  /** The file calls. */
  fs?: LockFs;
}

export interface FileLeaseStoreOptions {
  /** The state directory; {@link stepopsHome} (read at each call) when omitted. */
  home?: () => string;
  /** Epoch seconds now; injectable for tests. */
  now?: () => number;
  /** The lock's clock, pause and file calls (the store's own file calls too). */
  lock?: LockOptions;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

async function readLease(fs: LockFs, file: string): Promise<Lease | undefined> {
  try {
    const value = JSON.parse(await fs.readFile(file, 'utf8')) as Lease;
    if (typeof value.owner !== 'string' || typeof value.expiresAt !== 'number') return undefined;
    const { execution, maintenance, ...rest } = value;
    const lease: Lease = typeof execution === 'string' ? { ...rest, execution } : rest;
    return maintenance && typeof maintenance.job === 'string' && Array.isArray(maintenance.mute)
      ? { ...lease, maintenance: { job: maintenance.job, mute: maintenance.mute.map(String) } }
      : lease;
  } catch (error) {
    if (code(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

async function tempFile(fs: LockFs, file: string, content: string): Promise<string> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(temp, content);
  return temp;
}

/** Creates `file` with `content` only if it does not exist; false when it does. */
async function createExclusive(fs: LockFs, file: string, content: string): Promise<boolean> {
  const temp = await tempFile(fs, file, content);
  try {
    await fs.link(temp, file);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.unlink(temp).catch(() => undefined);
  }
}

/** The newest generation of a lock (0 when it has none yet). */
async function newestGeneration(fs: LockFs, dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await fs.readdir(dir)) {
    if (/^\d+$/.test(entry)) newest = Math.max(newest, Number(entry));
  }
  return newest;
}

/** Whether a generation frees the lock: it says so, or its holder has not finished in time. */
async function frees(
  fs: LockFs,
  dir: string,
  generation: number,
  now: () => number,
): Promise<boolean | undefined> {
  const file = path.join(dir, String(generation));
  try {
    const [content, info] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    return content.startsWith('free') || now() - info.mtimeMs > STALE_LOCK_MS;
  } catch (error) {
    // Removed: a newer generation exists.
    if (code(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Removes the generations older than `newest` (nobody reads them any more). */
async function removeOlder(fs: LockFs, dir: string, newest: number): Promise<void> {
  for (const entry of await fs.readdir(dir).catch(() => [] as string[])) {
    if (/^\d+$/.test(entry) && Number(entry) < newest)
      await fs.unlink(path.join(dir, entry)).catch(() => undefined);
  }
}

/**
 * Runs `fn` holding the lock `lockPath` (a directory of numbered generations). Generation n+1 is
 * created exclusively (hard link), so of the processes that saw generation n free (released, or
 * held by a process that crashed), exactly one takes the lock: taking over a stale lock is the
 * same compare-and-swap as taking a free one, never a delete that a slower contender could repeat
 * on its successor's lock. Releasing creates the next generation, marked free; if the lock was
 * taken over meanwhile (this holder overran {@link STALE_LOCK_MS}), that create fails and the new
 * holder keeps its lock.
 *
 * Waiting gives up after {@link LOCK_WAIT_MS} of a lock held by a live holder.
 *
 * @example
 * await withLock(`${leaseFile}.lock`, async () => rename(temp, leaseFile));
 * @throws Error "timed out waiting for the lock …" when another holder keeps it past the wait
 */
export async function withLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const fs = options.fs ?? nodeFs;
  const now = options.now ?? Date.now;
  const pause = options.pause ?? jitteredPause;
  const dir = `${lockPath}.d`;
  await fs.mkdir(dir, { recursive: true });
  const started = now();
  let held: number | undefined;
  while (held === undefined) {
    const newest = await newestGeneration(fs, dir);
    const free = newest === 0 ? true : await frees(fs, dir, newest, now);
    if (free === undefined) continue;
    if (free && (await createExclusive(fs, path.join(dir, String(newest + 1)), `held ${process.pid}\n`))) {
      // A generation that the holders since removed can be created again by a contender that read
      // the directory before they did: the lock is ours only if no newer generation exists.
      if ((await newestGeneration(fs, dir)) !== newest + 1) {
        await fs.unlink(path.join(dir, String(newest + 1))).catch(() => undefined);
        continue;
      }
      held = newest + 1;
      await removeOlder(fs, dir, held);
      break;
    }
    if (!free) {
      if (now() - started > LOCK_WAIT_MS) throw new Error(`timed out waiting for the lock ${lockPath}`);
      await pause();
    }
  }
  try {
    return await fn();
  } finally {
    const next = path.join(dir, String(held + 1));
    if (await createExclusive(fs, next, `free ${process.pid}\n`).catch(() => false)) {
      await removeOlder(fs, dir, held + 1);
    }
  }
}

/** The default pause between two tries for a lock: 10 to 50 ms, so that contenders spread out. */
function jitteredPause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
}

/**
 * Leases in files, for runs on this machine. Same semantics as the DynamoDB store: a key is free
 * when it has no lease or its lease has expired (at `expiresAt` itself); the owner that holds it may take it again (a
 * retried lock step renews its own lease); release by anyone else changes nothing.
 *
 * @example
 * const leases = new FileLeaseStore();
 * const taken = await leases.acquire('target:demo', 'run-1', 3600, { execution: executionArn });
 * if (!taken.acquired) throw new TargetLockedError(`demo is locked by ${taken.heldBy.owner}`);
 * await leases.release('target:demo', 'run-1');
 */
export class FileLeaseStore implements LeaseStore {
  readonly #home: () => string;
  readonly #now: () => number;
  readonly #lock: LockOptions;
  readonly #fs: LockFs;

  constructor(options: FileLeaseStoreOptions = {}) {
    this.#home = options.home ?? stepopsHome;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#lock = options.lock ?? {};
    this.#fs = this.#lock.fs ?? nodeFs;
  }

  async acquire(
    key: string,
    owner: string,
    ttlSeconds: number,
    details: LeaseDetails = {},
  ): Promise<{ acquired: true } | { acquired: false; heldBy: Lease }> {
    const file = await this.#file(key);
    const now = this.#now();
    const { execution, maintenance } = details;
    const lease: Lease = {
      key,
      owner,
      expiresAt: now + ttlSeconds,
      ...(execution ? { execution } : {}),
      ...(maintenance ? { maintenance } : {}),
    };
    const content = `${JSON.stringify(lease)}\n`;
    const fs = this.#fs;
    if (await createExclusive(fs, file, content)) return { acquired: true };
    return withLock(
      `${file}.lock`,
      async () => {
        const current = await readLease(fs, file);
        if (current === undefined) {
          // Released since: create it again, exclusively (a lock-free creator may be racing us).
          if (await createExclusive(fs, file, content)) return { acquired: true };
          const winner = await readLease(fs, file);
          return winner ? { acquired: false, heldBy: winner } : { acquired: false, heldBy: lease };
        }
        if (current.expiresAt <= now || current.owner === owner) {
          await fs.rename(await tempFile(fs, file, content), file);
          return { acquired: true };
        }
        return { acquired: false, heldBy: current };
      },
      this.#lock,
    );
  }

  /**
   * The lease on a key if one is held and has not expired.
   *
   * @example
   * await leases.holder('target:demo'); // { key: 'target:demo', owner: 'run-1', expiresAt: 1767225600 }
   */
  async holder(key: string): Promise<Lease | undefined> {
    const lease = await readLease(this.#fs, await this.#file(key));
    return lease && lease.expiresAt > this.#now() ? lease : undefined;
  }

  async release(key: string, owner: string): Promise<void> {
    const file = await this.#file(key);
    const fs = this.#fs;
    if ((await readLease(fs, file)) === undefined) return;
    await withLock(
      `${file}.lock`,
      async () => {
        const current = await readLease(fs, file);
        if (current?.owner === owner) await fs.unlink(file).catch(() => undefined);
      },
      this.#lock,
    );
  }

  async #file(key: string): Promise<string> {
    const dir = path.join(this.#home(), 'leases');
    await this.#fs.mkdir(dir, { recursive: true });
    return path.join(dir, `${fileSafe(key)}.json`);
  }
}
