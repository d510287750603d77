/**
 * A failed read of the outbox is an error, never "no alerts": only a missing outbox (nothing
 * published yet) reads as empty.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxPath, readOutbox } from '../../shared/drivers/local/outbox-notifier.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-safety-outbox-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('reading the outbox', () => {
  it('reads a missing outbox as no notifications', async () => {
    expect(await readOutbox(path.join(root, 'nothing-yet'))).toEqual([]);
  });

  it('reads each line of the outbox, skipping blank ones', async () => {
    // Prepare
    const home = path.join(root, 'two');
    await mkdir(home);
    await writeFile(outboxPath(home), '{"runId":"r1"}\n\n{"runId":"r2"}\n');

    // Assess
    expect((await readOutbox(home)).map((n) => n.runId)).toEqual(['r1', 'r2']);
  });

  it('throws when the outbox cannot be read, instead of reporting no alerts', async () => {
    // Prepare: a directory where the file should be (EISDIR; permissions would not stop root).
    const home = path.join(root, 'broken');
    await mkdir(outboxPath(home), { recursive: true });

    // Assess
    await expect(readOutbox(home)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
