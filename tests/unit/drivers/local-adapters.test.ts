import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FanOutNotifier } from '../../../shared/drivers/fan-out-notifier.ts';
import { FileLeaseStore } from '../../../shared/drivers/local/file-lease-store.ts';
import { fileSafe, stepopsHome } from '../../../shared/drivers/local/home.ts';
import { LocalHostDirectory } from '../../../shared/drivers/local/local-host-directory.ts';
import { LocalSnapshotService } from '../../../shared/drivers/local/local-snapshot-service.ts';
import { humanLine, OutboxNotifier } from '../../../shared/drivers/local/outbox-notifier.ts';
import { combineOutput, tail } from '../../../shared/drivers/output.ts';
import type { Notification, Notifier } from '../../../shared/drivers/ports.ts';
import { SnapshotFailedError } from '../../../shared/errors.ts';

const notification: Notification = {
  target: 'demo',
  workflow: 'deploy',
  outcome: 'rolled-back',
  runId: 'run-1',
  summary: 'deploy of v3 failed the health gate and was rolled back',
  ref: 'v3',
  failedState: 'HealthGate',
  at: '2026-01-01T00:00:00.000Z',
};

let home: string;
const previousHome = process.env.STEPOPS_HOME;

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-home-'));
  process.env.STEPOPS_HOME = home;
});

afterEach(async () => {
  if (previousHome === undefined) delete process.env.STEPOPS_HOME;
  else process.env.STEPOPS_HOME = previousHome;
  await rm(home, { recursive: true, force: true });
});

describe('stepopsHome and fileSafe', () => {
  it('uses STEPOPS_HOME when set', () => {
    expect(stepopsHome()).toBe(home);
  });

  it('falls back to .stepops in the current directory, where every command of that shell looks', () => {
    // Prepare
    delete process.env.STEPOPS_HOME;
    // The current directory as the process reports it (process.chdir is not available in every
    // test worker, the mutation runner's among them).
    const cwd = vi.spyOn(process, 'cwd').mockReturnValue(home);
    try {
      // Assess
      expect(stepopsHome()).toBe(path.join(home, '.stepops'));
    } finally {
      cwd.mockRestore();
    }
  });

  it('resolves a relative STEPOPS_HOME against the current directory', () => {
    process.env.STEPOPS_HOME = 'state';
    expect(stepopsHome()).toBe(path.resolve('state'));
  });

  it('turns ids into plain file names that cannot climb directories', () => {
    expect(fileSafe('local:lab/app')).toBe('local_lab_app');
    expect(fileSafe('../../etc/passwd')).not.toContain('/');
    expect(fileSafe('..')).not.toBe('..');
  });
});

describe('tail and combineOutput', () => {
  it('keeps short text as it is', () => {
    expect(tail('short', 100)).toBe('short');
  });

  it('keeps the end within the limit and says how much was cut', () => {
    const text = `${'x'.repeat(1000)}THE END`;
    const kept = tail(text, 100);
    expect(kept.length).toBeLessThanOrEqual(100);
    expect(kept.endsWith('THE END')).toBe(true);
    const cut = Number(/^\[… (\d+) earlier characters cut\]\n/.exec(kept)?.[1]);
    expect(cut + kept.length - kept.indexOf('\n') - 1).toBe(text.length);
  });

  it('puts stderr after stdout under a marker', () => {
    expect(combineOutput('built', 'boom\n')).toBe('built\n--- stderr ---\nboom\n');
    expect(combineOutput('only out\n', '')).toBe('only out\n');
  });
});

describe('LocalHostDirectory', () => {
  it('resolves a relative directory against the root, creates it, and names the host as declared', async () => {
    // Act
    const hosts = await new LocalHostDirectory(home).resolve({ type: 'local', directory: 'lab/app' });

    // Assess
    expect(hosts).toEqual([{ kind: 'local', id: 'local:lab/app', directory: path.join(home, 'lab/app') }]);
    expect((await stat(path.join(home, 'lab/app'))).isDirectory()).toBe(true);
  });

  it('resolves a list of directories to one host each, in the declared order', async () => {
    // Act
    const hosts = await new LocalHostDirectory(home).resolve({
      type: 'local',
      directory: ['web/b', 'web/a'],
    });

    // Assess
    expect(hosts).toEqual([
      { kind: 'local', id: 'local:web/b', directory: path.join(home, 'web/b') },
      { kind: 'local', id: 'local:web/a', directory: path.join(home, 'web/a') },
    ]);
    expect((await stat(path.join(home, 'web/a'))).isDirectory()).toBe(true);
  });

  it('resolves a relative directory against the current directory when given no root, not the package', async () => {
    // The current directory as the process reports it (process.chdir is not available in every
    // test worker, the mutation runner's among them).
    const cwd = vi.spyOn(process, 'cwd').mockReturnValue(home);
    try {
      const hosts = await new LocalHostDirectory().resolve({ type: 'local', directory: 'hosts/web' });
      const directory = path.join(home, 'hosts/web');
      expect(hosts).toEqual([{ kind: 'local', id: 'local:hosts/web', directory }]);
      expect((await stat(directory)).isDirectory()).toBe(true);
    } finally {
      cwd.mockRestore();
    }
  });

  it('keeps an absolute directory', async () => {
    const dir = path.join(home, 'abs');
    const hosts = await new LocalHostDirectory('/nowhere').resolve({ type: 'local', directory: dir });
    expect(hosts).toEqual([{ kind: 'local', id: `local:${dir}`, directory: dir }]);
  });

  it('refuses ec2 selectors', async () => {
    await expect(
      new LocalHostDirectory().resolve({
        type: 'ec2',
        region: 'eu-west-1',
        instanceIds: ['i-0123456789abcdef0'],
      }),
    ).rejects.toThrow(/local hosts only/);
  });
});

describe('FileLeaseStore', () => {
  it('gives a free key to the first owner and refuses a second one, naming the holder', async () => {
    // Prepare
    const leases = new FileLeaseStore({ now: () => 1000 });

    // Act
    const first = await leases.acquire('target:demo', 'run-1', 600);
    const second = await leases.acquire('target:demo', 'run-2', 600);

    // Assess
    expect(first).toEqual({ acquired: true });
    expect(second).toEqual({
      acquired: false,
      heldBy: { key: 'target:demo', owner: 'run-1', expiresAt: 1600 },
    });
  });

  it('lets the holder take its own lease again (a retried lock step)', async () => {
    const leases = new FileLeaseStore({ now: () => 1000 });
    await leases.acquire('target:demo', 'run-1', 600);
    expect(await leases.acquire('target:demo', 'run-1', 600)).toEqual({ acquired: true });
  });

  it('lets another owner take over an expired lease', async () => {
    // Prepare
    let now = 1000;
    const leases = new FileLeaseStore({ now: () => now });
    await leases.acquire('target:demo', 'run-1', 60);

    // Act
    now = 1061;
    const takeover = await leases.acquire('target:demo', 'run-2', 60);
    const third = await leases.acquire('target:demo', 'run-3', 60);

    // Assess
    expect(takeover).toEqual({ acquired: true });
    expect(third).toMatchObject({ acquired: false, heldBy: { owner: 'run-2', expiresAt: 1121 } });
  });

  it('ignores a release by another owner and frees the key on release by the holder', async () => {
    // Prepare
    const leases = new FileLeaseStore({ now: () => 1000 });
    await leases.acquire('target:demo', 'run-1', 600);

    // Act and assess
    await leases.release('target:demo', 'run-2');
    expect(await leases.acquire('target:demo', 'run-3', 600)).toMatchObject({
      acquired: false,
      heldBy: { owner: 'run-1' },
    });
    await leases.release('target:demo', 'run-1');
    expect(await leases.acquire('target:demo', 'run-3', 600)).toEqual({ acquired: true });
    await leases.release('target:never-taken', 'run-1');
  });

  it('keeps keys apart', async () => {
    const leases = new FileLeaseStore();
    expect(await leases.acquire('target:a', 'run-1', 600)).toEqual({ acquired: true });
    expect(await leases.acquire('target:b', 'run-2', 600)).toEqual({ acquired: true });
  });

  it('gives a free key to exactly one of many concurrent owners', async () => {
    // Prepare
    const leases = new FileLeaseStore();

    // Act
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => new FileLeaseStore().acquire('target:race', `run-${i}`, 600)),
    );

    // Assess
    const winners = results.flatMap((r, i) => (r.acquired ? [`run-${i}`] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) if (!r.acquired) expect(r.heldBy.owner).toBe(winners[0]);
    expect(await leases.acquire('target:race', 'late', 600)).toMatchObject({ heldBy: { owner: winners[0] } });
  });

  it('gives an expired key to exactly one of many concurrent owners', async () => {
    // Prepare
    let now = 1000;
    await new FileLeaseStore({ now: () => now }).acquire('target:race', 'old', 10);
    now = 2000;

    // Act
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new FileLeaseStore({ now: () => now }).acquire('target:race', `run-${i}`, 600),
      ),
    );

    // Assess
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });

  it('writes the lease under <home>/leases', async () => {
    await new FileLeaseStore({ now: () => 1000 }).acquire('target:demo', 'run-1', 600);
    const lease = JSON.parse(await readFile(path.join(home, 'leases', 'target_demo.json'), 'utf8'));
    expect(lease).toEqual({ key: 'target:demo', owner: 'run-1', expiresAt: 1600 });
  });
});

describe('OutboxNotifier', () => {
  it('appends one JSON line per notification and writes a human line to the stream', async () => {
    // Prepare
    const lines: string[] = [];
    const notifier = new OutboxNotifier({ stream: { write: (line: string) => lines.push(line) > 0 } });

    // Act
    await notifier.publish(notification);
    await notifier.publish({ ...notification, outcome: 'succeeded', runId: 'run-2', summary: 'deployed v2' });

    // Assess
    const outbox = (await readFile(path.join(home, 'outbox.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(outbox.map((line) => JSON.parse(line))).toEqual([
      notification,
      { ...notification, outcome: 'succeeded', runId: 'run-2', summary: 'deployed v2' },
    ]);
    expect(lines[0]).toBe(
      '[stepops] ↩ deploy demo rolled-back (at HealthGate): deploy of v3 failed the health gate and was rolled back\n',
    );
    expect(lines[1]).toContain('✔ deploy demo succeeded');
  });

  it('keeps the human line on one line', () => {
    expect(humanLine({ ...notification, summary: 'a\nb\n\nc' })).not.toContain('\n');
  });
});

describe('FanOutNotifier', () => {
  const ok = (): Notifier & { publish: ReturnType<typeof vi.fn> } => ({ publish: vi.fn(async () => {}) });
  const failing = (message: string): Notifier => ({
    publish: vi.fn(async () => {
      throw new Error(message);
    }),
  });

  it('delivers to the primary even when a secondary fails, and reports the secondary failure', async () => {
    // Prepare
    const primary = ok();
    const errors: unknown[] = [];
    const fanOut = new FanOutNotifier(primary, [failing('Slack webhook answered 500')], {
      onSecondaryError: (error) => errors.push(error),
    });

    // Act
    await fanOut.publish(notification);

    // Assess
    expect(primary.publish).toHaveBeenCalledWith(notification);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('Slack webhook answered 500');
  });

  it('fails when the primary fails, after still trying the secondaries', async () => {
    const secondary = ok();
    const fanOut = new FanOutNotifier(failing('SNS down'), [secondary]);
    await expect(fanOut.publish(notification)).rejects.toThrow('SNS down');
    expect(secondary.publish).toHaveBeenCalledWith(notification);
  });
});

describe('LocalSnapshotService', () => {
  it('refuses EBS snapshots of local hosts with a named error', async () => {
    const service = new LocalSnapshotService();
    await expect(
      service.snapshotVolumes([{ kind: 'local', id: 'local:lab/app', directory: home }], {}),
    ).rejects.toBeInstanceOf(SnapshotFailedError);
    expect(await service.snapshotVolumes([], {})).toEqual([]);
  });
});
