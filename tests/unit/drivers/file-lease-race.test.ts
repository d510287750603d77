/**
 * FileLeaseStore under real concurrency: separate processes race for an expired lease whose lock
 * a crashed process left behind. Exactly one of them may get the lease, every trial.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';
import { FileLeaseStore } from '../../../shared/drivers/local/file-lease-store.ts';

const CONTENDER = path.join(PROJECT_ROOT, 'tests', 'helpers', 'lease-contender.ts');
const KEY = 'target:race';
const CONTENDERS = 6;
const TRIALS = Number(process.env.LEASE_RACE_TRIALS ?? 40);

interface Contender {
  child: ChildProcessWithoutNullStreams;
  lines: Interface;
  answers: string[];
  waiting: ((line: string) => void)[];
}

function startContender(): Contender {
  const child = spawn(process.execPath, [CONTENDER], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  const contender: Contender = { child, lines, answers: [], waiting: [] };
  lines.on('line', (line) => {
    const waiter = contender.waiting.shift();
    if (waiter) waiter(line);
    else contender.answers.push(line);
  });
  return contender;
}

function nextAnswer(contender: Contender): Promise<string> {
  const ready = contender.answers.shift();
  if (ready !== undefined) return Promise.resolve(ready);
  return new Promise((resolve) => contender.waiting.push(resolve));
}

/** Every file under a directory, relative, with its content. */
async function snapshot(dir: string, prefix = ''): Promise<Map<string, Buffer | null>> {
  const files = new Map<string, Buffer | null>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) {
      files.set(relative, null);
      for (const [name, content] of await snapshot(path.join(dir, entry.name), relative)) {
        files.set(name, content);
      }
    } else {
      files.set(relative, await readFile(path.join(dir, entry.name)));
    }
  }
  return files;
}

/** Writes a snapshot into a fresh directory, every entry dated an hour ago (its holder long dead). */
async function restore(files: Map<string, Buffer | null>, dir: string): Promise<void> {
  const hourAgo = new Date(Date.now() - 3600_000);
  for (const [name, content] of files) {
    if (content === null) await mkdir(path.join(dir, name), { recursive: true });
    else {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
  }
  for (const name of [...files.keys()].reverse()) await utimes(path.join(dir, name), hourAgo, hourAgo);
}

let root: string;
let crashed: Map<string, Buffer | null>;
const contenders: Contender[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-lease-race-'));
  // An expired lease (its run long over) whose lock was left by a process killed while holding it.
  const home = path.join(root, 'crashed');
  const past = Math.floor(Date.now() / 1000) - 3600;
  await new FileLeaseStore({ home: () => home, now: () => past }).acquire(KEY, 'crashed-run', 60);
  const crash = spawnSync(process.execPath, [CONTENDER, 'crash', home, KEY], { encoding: 'utf8' });
  expect(crash.signal, crash.stderr).toBe('SIGKILL');
  crashed = await snapshot(home);
  expect(
    [...crashed.keys()].some((name) => name.includes('.lock')),
    'the crash left a lock',
  ).toBe(true);
  for (let i = 0; i < CONTENDERS; i++) contenders.push(startContender());
});

afterAll(async () => {
  for (const contender of contenders) {
    contender.lines.close();
    contender.child.stdin.end();
    contender.child.kill();
  }
  await rm(root, { recursive: true, force: true });
});

describe('FileLeaseStore stale-lock takeover', () => {
  it(`gives the lease to exactly one of ${CONTENDERS} processes in each of ${TRIALS} trials`, async () => {
    const holdersPerTrial: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      // Prepare
      const home = path.join(root, `trial-${trial}`);
      await restore(crashed, home);

      // Act
      const answers = await Promise.all(
        contenders.map((contender, i) => {
          const answer = nextAnswer(contender);
          contender.child.stdin.write(
            `${JSON.stringify({ home, key: KEY, owner: `run-${trial}-${i}`, ttl: 600 })}\n`,
          );
          return answer;
        }),
      );

      // Assess
      const results = answers.map(
        (line) => JSON.parse(line) as { owner: string; acquired?: boolean; error?: string },
      );
      expect(results.filter((r) => r.error !== undefined)).toEqual([]);
      const winners = results.filter((r) => r.acquired).map((r) => r.owner);
      holdersPerTrial.push(winners.length);
      if (winners.length === 1) {
        const leaseFile = path.join(home, 'leases', 'target_race.json');
        const lease = JSON.parse(await readFile(leaseFile, 'utf8')) as { owner: string };
        expect(lease.owner).toBe(winners[0]);
        expect((await stat(leaseFile)).isFile()).toBe(true);
      }
    }
    expect(holdersPerTrial.filter((holders) => holders !== 1)).toEqual([]);
  }, 120_000);
});
