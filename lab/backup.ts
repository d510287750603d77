/**
 * The lab's data and its backups. The lab keeps a small "database" beside the host, a directory of
 * CSV files the demo appends to (`<lab>/data/orders.csv`), and the demo target backs it up two ways:
 *
 * - `data`: a dump, `tar` of the data directory into the local object store, kept 2 deep, with a
 *   restore test that unpacks it into scratch and checks that the orders are there;
 * - `host`: a snapshot of the host directory (the local stand-in for an EBS snapshot: a copy), kept 1 deep.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TargetInput } from '../shared/config/schema.ts';

/** The lab's data directory. */
export function labDataDir(labDir: string): string {
  return path.join(labDir, 'data');
}

/**
 * Writes the lab's first orders (three rows and a header), unless the file is there.
 *
 * @example
 * await seedLabData('.stepops/demo'); // .stepops/demo/data/orders.csv
 */
export async function seedLabData(labDir: string): Promise<string> {
  const file = path.join(labDataDir(labDir), 'orders.csv');
  await mkdir(path.dirname(file), { recursive: true });
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (!existing) await writeFile(file, 'id,item,quantity\n1,coffee,2\n2,tea,1\n3,cake,4\n');
  return file;
}

/**
 * Appends one order, as the app would between two backups.
 *
 * @example
 * await addLabOrder('.stepops/demo', 'scone');
 */
export async function addLabOrder(labDir: string, item: string): Promise<number> {
  const file = await seedLabData(labDir);
  const rows = (await readFile(file, 'utf8')).trim().split('\n').length;
  await appendFile(file, `${rows},${item.replace(/[^a-z0-9 -]/gi, '')},1\n`);
  return rows;
}

/**
 * The demo target's backups; the host directory is `<lab>/host`, so the data is `../data`.
 *
 * @example
 * defineTarget({ ...lab, backup: labBackups() });
 */
export function labBackups(): NonNullable<TargetInput['backup']> {
  return [
    {
      name: 'data',
      type: 'dump',
      script:
        'tar -C ../data -czf "$STEPOPS_DUMP_FILE" .\necho "orders: $(($(wc -l < ../data/orders.csv) - 1))"',
      timeout: 60,
      bucket: 'demo-backups',
      prefix: 'dumps',
      schedule: 'cron(0 2 * * ? *)',
      timezone: 'Europe/London',
      retention: { count: 2 },
      rpoHours: 24,
      restoreTest: {
        schedule: 'cron(0 5 ? * SUN *)',
        script: 'tar -C "$STEPOPS_SCRATCH_DIR" -xzf "$STEPOPS_RESTORE_FILE"',
        check:
          'orders=$(($(wc -l < "$STEPOPS_SCRATCH_DIR/orders.csv") - 1))\necho "restored $orders orders"\ntest "$orders" -ge 3',
        timeout: 60,
      },
    },
    { name: 'host', type: 'ebs-snapshot', schedule: 'cron(30 2 * * ? *)', retention: { count: 1 } },
  ];
}
