/**
 * FileBackupCatalogue under real concurrency: separate processes record into one target's
 * catalogue at once and none of their entries is lost; separate processes adopting the same copies
 * (conditional creates) each win a copy at most once, never overwriting another's entry.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';
import { FileBackupCatalogue } from '../../../shared/drivers/local/file-backup-catalogue.ts';
import type { CatalogueEntry } from '../../../shared/drivers/ports.ts';

const WRITER = path.join(PROJECT_ROOT, 'tests', 'helpers', 'catalogue-writer.ts');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-catalogue-race-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs the writer process to its end; its stdout, or a rejection with its stderr. */
function writer(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`writer exit ${code}: ${err}`)),
    );
  });
}

const entry = (runId: string, outcome: CatalogueEntry['outcome']): CatalogueEntry => ({
  target: 'solo',
  backup: 'data',
  runId,
  kind: 'dump',
  location: `file:///dumps/${runId}`,
  resources: [{ id: runId }],
  startedAt: '2026-01-01T02:00:00.000Z',
  outcome,
});

describe('FileBackupCatalogue', () => {
  it('keeps every entry that six processes record into one target at once', async () => {
    // Prepare
    const home = await mkdtemp(path.join(root, 'put-'));

    // Act
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((prefix) => writer([home, 'shared', 'put', prefix, '30'])),
    );

    // Assess
    const entries = await new FileBackupCatalogue({ home: () => home }).list('shared');
    expect(entries).toHaveLength(180);
    expect(new Set(entries.map((e) => e.runId)).size).toBe(180);
  });

  it('lets each copy be adopted by exactly one of the processes adopting it at once', async () => {
    // Prepare
    const home = await mkdtemp(path.join(root, 'create-'));

    // Act
    const outputs = await Promise.all(
      ['p', 'q', 'r', 's'].map((prefix) => writer([home, 'shared', 'create', prefix, '20'])),
    );

    // Assess: 20 copies, each created once, by one process, and its entry is that process's
    const created = outputs.map((out) => JSON.parse(out) as string[]);
    expect(created.flat().sort()).toEqual(Array.from({ length: 20 }, (_, i) => `shared-${i}`).sort());
    const entries = await new FileBackupCatalogue({ home: () => home }).list('shared');
    expect(entries).toHaveLength(20);
    for (const [i, runs] of created.entries()) {
      for (const runId of runs) {
        expect(entries.find((e) => e.runId === runId)?.error).toBe(`adopted by ${'pqrs'[i]}`);
      }
    }
  });

  it('creates an entry only when its run has none, and put still replaces', async () => {
    // Prepare
    const home = await mkdtemp(path.join(root, 'one-'));
    const catalogue = new FileBackupCatalogue({ home: () => home });
    await catalogue.put(entry('run-1', 'good'));

    // Act
    const adoptedOverRecord = await catalogue.create({ ...entry('run-1', 'failed'), adopted: true });
    const adoptedNew = await catalogue.create({ ...entry('run-2', 'failed'), adopted: true });
    await catalogue.put(entry('run-2', 'good'));

    // Assess
    expect([adoptedOverRecord, adoptedNew]).toEqual([false, true]);
    expect(await catalogue.get('solo', 'data', 'run-1')).toEqual(entry('run-1', 'good'));
    expect(await catalogue.get('solo', 'data', 'run-2')).toEqual(entry('run-2', 'good'));
  });
});
