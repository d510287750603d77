/**
 * A separate process that writes a target's file catalogue, for the race tests of
 * `FileBackupCatalogue`: `node catalogue-writer.ts <home> <target> <mode> <prefix> <count>`.
 *
 * - `put`: records `<count>` entries, runs `<prefix>-0` … (all started at once), then prints `done`.
 * - `create`: tries to create the entries of runs `shared-0` … once each (as an adoption would) and
 *   prints one JSON line: the runs this process created.
 */
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import type { CatalogueEntry } from '../../shared/drivers/ports.ts';

const [home, target, mode, prefix, count] = process.argv.slice(2);
if (!home || !target || !prefix || (mode !== 'put' && mode !== 'create')) {
  process.stderr.write('usage: catalogue-writer.ts <home> <target> put|create <prefix> <count>\n');
  process.exit(2);
}
const catalogue = new FileBackupCatalogue({ home: () => home });
const entry = (runId: string, i: number): CatalogueEntry => ({
  target,
  backup: 'data',
  runId,
  kind: 'dump',
  location: `file:///dumps/${runId}`,
  resources: [{ id: runId }],
  startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  outcome: mode === 'put' ? 'good' : 'failed',
  ...(mode === 'create' ? { adopted: true, error: `adopted by ${prefix}` } : {}),
});
const runs = Array.from({ length: Number(count) }, (_, i) => i);
if (mode === 'put') {
  await Promise.all(runs.map((i) => catalogue.put(entry(`${prefix}-${i}`, i))));
  process.stdout.write('done\n');
} else {
  const created: string[] = [];
  for (const i of runs) {
    if (await catalogue.create(entry(`shared-${i}`, i))) created.push(`shared-${i}`);
  }
  process.stdout.write(`${JSON.stringify(created)}\n`);
}
