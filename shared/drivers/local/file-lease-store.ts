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
import { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Lease, LeaseMaintenance, LeaseStore } from '../ports.ts';
import { fileSafe, stepopsHome } from './home.ts';

/** A lock held longer than this was left by a crashed process and is taken over. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

export interface FileLeaseStoreOptions {
  /** The state directory; {@link stepopsHome} (read at each call) when omitted. */
  home?: () => string;
  /** Epoch seconds now; injectable for tests. */
  now?: () => number;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

async function readLease(file: string): Promise<Lease | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Lease;
    if (typeof value.owner !== 'string' || typeof value.expiresAt !== 'number') return undefined;
    const { maintenance, ...lease } = value;
    return maintenance && typeof maintenance.job === 'string' && Array.isArray(maintenance.mute)
      ? { ...lease, maintenance: { job: maintenance.job, mute: maintenance.mute.map(String) } }
      : lease;
  } catch (error) {
    if (code(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

async function tempFile(file: string, content: string): Promise<string> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, content);
  return temp;
}

/** Creates `file` with `content` only if it does not exist; false when it does. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const temp = await tempFile(file, content);
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** The newest generation of a lock (0 when it has none yet). */
async function newestGeneration(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir)) {
    if (/^\d+$/.test(entry)) newest = Math.max(newest, Number(entry));
  }
  return newest;
}

/** Whether a generation frees the lock: it says so, or its holder has not finished in time. */
async function frees(dir: string, generation: number): Promise<boolean | undefined> {
  const file = path.join(dir, String(generation));
  try {
    const [content, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    return content.startsWith('free') || Date.now() - info.mtimeMs > STALE_LOCK_MS;
  } catch (error) {
    // Removed: a newer generation exists.
    if (code(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Removes the generations older than `newest` (nobody reads them any more). */
async function removeOlder(dir: string, newest: number): Promise<void> {
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (/^\d+$/.test(entry) && Number(entry) < newest)
      await unlink(path.join(dir, entry)).catch(() => undefined);
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
 * @example
 * await withLock(`${leaseFile}.lock`, async () => rename(temp, leaseFile));
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const dir = `${lockPath}.d`;
  await mkdir(dir, { recursive: true });
  const started = Date.now();
  let held: number | undefined;
  while (held === undefined) {
    const newest = await newestGeneration(dir);
    const free = newest === 0 ? true : await frees(dir, newest);
    if (free === undefined) continue;
    if (free && (await createExclusive(path.join(dir, String(newest + 1)), `held ${process.pid}\n`))) {
      // A generation that the holders since removed can be created again by a contender that read
      // the directory before they did: the lock is ours only if no newer generation exists.
      if ((await newestGeneration(dir)) !== newest + 1) {
        await unlink(path.join(dir, String(newest + 1))).catch(() => undefined);
        continue;
      }
      held = newest + 1;
      await removeOlder(dir, held);
      break;
    }
    if (!free) {
      if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`timed out waiting for the lock ${lockPath}`);
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
    }
  }
  try {
    return await fn();
  } finally {
    if (await createExclusive(path.join(dir, String(held + 1)), `free ${process.pid}\n`).catch(() => false)) {
      await removeOlder(dir, held + 1);
    }
  }
}

/**
 * Leases in files, for runs on this machine. Same semantics as the DynamoDB store: a key is free
 * when it has no lease or its lease has expired (at `expiresAt` itself); the owner that holds it may take it again (a
 * retried lock step renews its own lease); release by anyone else changes nothing.
 *
 * @example
 * const leases = new FileLeaseStore();
 * const taken = await leases.acquire('target:demo', 'run-1', 3600);
 * if (!taken.acquired) throw new TargetLockedError(`demo is locked by ${taken.heldBy.owner}`);
 * await leases.release('target:demo', 'run-1');
 */
export class FileLeaseStore implements LeaseStore {
  readonly #home: () => string;
  readonly #now: () => number;

  constructor(options: FileLeaseStoreOptions = {}) {
    this.#home = options.home ?? stepopsHome;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  async acquire(
    key: string,
    owner: string,
    ttlSeconds: number,
    maintenance?: LeaseMaintenance,
  ): Promise<{ acquired: true } | { acquired: false; heldBy: Lease }> {
    const file = await this.#file(key);
    const now = this.#now();
    const lease: Lease = { key, owner, expiresAt: now + ttlSeconds, ...(maintenance ? { maintenance } : {}) };
    const content = `${JSON.stringify(lease)}\n`;
    if (await createExclusive(file, content)) return { acquired: true };
    return withLock(`${file}.lock`, async () => {
      const current = await readLease(file);
      if (current === undefined) {
        // Released since: create it again, exclusively (a lock-free creator may be racing us).
        if (await createExclusive(file, content)) return { acquired: true };
        const winner = await readLease(file);
        return winner ? { acquired: false, heldBy: winner } : { acquired: false, heldBy: lease };
      }
      if (current.expiresAt <= now || current.owner === owner) {
        await rename(await tempFile(file, content), file);
        return { acquired: true };
      }
      return { acquired: false, heldBy: current };
    });
  }

  /**
   * The lease on a key if one is held and has not expired.
   *
   * @example
   * await leases.holder('target:demo'); // { key: 'target:demo', owner: 'run-1', expiresAt: 1767225600 }
   */
  async holder(key: string): Promise<Lease | undefined> {
    const lease = await readLease(await this.#file(key));
    return lease && lease.expiresAt > this.#now() ? lease : undefined;
  }

  async release(key: string, owner: string): Promise<void> {
    const file = await this.#file(key);
    if ((await readLease(file)) === undefined) return;
    await withLock(`${file}.lock`, async () => {
      const current = await readLease(file);
      if (current?.owner === owner) await unlink(file).catch(() => undefined);
    });
  }

  async #file(key: string): Promise<string> {
    const dir = path.join(this.#home(), 'leases');
    await mkdir(dir, { recursive: true });
    return path.join(dir, `${fileSafe(key)}.json`);
  }
}
