/**
 * A separate process that contends for a file lease, for the race tests of `FileLeaseStore`.
 *
 * - `node lease-contender.ts`: reads one JSON request per line on stdin
 *   (`{ "home": dir, "key": k, "owner": o, "ttl": s }`), takes the lease and answers one JSON line
 *   (`{ "owner": o, "acquired": true|false }`) on stdout.
 * - `node lease-contender.ts crash <home> <key>`: takes the lock of the lease's file and dies by
 *   SIGKILL while holding it, leaving on disk exactly what a crashed process leaves.
 */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FileLeaseStore, withLock } from '../../shared/drivers/local/file-lease-store.ts';
import { fileSafe } from '../../shared/drivers/local/home.ts';

const [mode, home, key] = process.argv.slice(2);

if (mode === 'crash' && home && key) {
  const file = path.join(home, 'leases', `${fileSafe(key)}.json`);
  await withLock(`${file}.lock`, async () => {
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => undefined);
  });
} else {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const request = JSON.parse(line) as { home: string; key: string; owner: string; ttl: number };
    const leases = new FileLeaseStore({ home: () => request.home });
    try {
      const result = await leases.acquire(request.key, request.owner, request.ttl);
      process.stdout.write(`${JSON.stringify({ owner: request.owner, acquired: result.acquired })}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ owner: request.owner, error: (error as Error).message })}\n`);
    }
  }
}
