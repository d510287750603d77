/**
 * The dump path for real: a real PostgreSQL server and a real restic repository, the backup
 * workflow on the local engine with its real handlers and local drivers. Dump (pg_dump, and
 * pg_dump into restic), upload into the local object store, catalogue, then the restore test:
 * restore into a scratch database and count the rows. The passwords are read on the host from the
 * local parameter store and must appear in no script, log, catalogue or alert.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createLocalBackupEngine } from '../../functions/index.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import type { LocalEngine } from '../../shared/engine/index.ts';
import { PG_BIN, startPostgres, type TestPostgres } from '../helpers/postgres.ts';

let pg: TestPostgres;
let root: string;
let home: string;
let engine: LocalEngine;
const RESTIC_PASSWORD = `restic-${Math.random().toString(36).slice(2)}-secret`;
const catalogue = new FileBackupCatalogue();

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

beforeAll(async () => {
  pg = await startPostgres();
  await pg.sql('postgres', 'CREATE DATABASE app');
  await pg.sql(
    'app',
    "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'a'), (2, 'b'), (3, 'c')",
  );
  root = await mkdtemp(path.join(tmpdir(), 'stepops-backup-real-'));
  home = path.join(root, 'home');
  process.env.STEPOPS_HOME = home;
  // The local stand-in for SSM Parameter Store: one file per parameter.
  await mkdir(path.join(home, 'parameters', 'app'), { recursive: true });
  await writeFile(path.join(home, 'parameters', 'app', 'db-password'), pg.password, { mode: 0o600 });
  await writeFile(path.join(home, 'parameters', 'app', 'restic-password'), RESTIC_PASSWORD, { mode: 0o600 });
  const host = path.join(root, 'host');
  await mkdir(host, { recursive: true });
  const env = `export PATH=${PG_BIN}:$PATH PGHOST=127.0.0.1 PGPORT=${pg.port} PGUSER=postgres PGDATABASE=app`;
  const restic = `export RESTIC_REPOSITORY=${path.join(root, 'restic-repo')}`;
  const scratchRestore = `scratch="rt_$(date +%s%N)"
echo "$scratch" > "$STEPOPS_SCRATCH_DIR/database"
createdb "$scratch"`;
  const countRows = `scratch=$(cat "$STEPOPS_SCRATCH_DIR/database")
trap 'dropdb --if-exists "$scratch"' EXIT
rows=$(psql --no-psqlrc -tA -d "$scratch" -c 'SELECT count(*) FROM notes')
echo "notes: $rows rows"
test "$rows" -eq 3`;
  registerTarget({
    name: 'pg-real',
    description: 'real PostgreSQL and restic',
    hosts: { type: 'local', directory: host },
    backup: [
      {
        name: 'database',
        type: 'dump',
        script: `${env}\npg_dump --format=custom --no-owner --file "$STEPOPS_DUMP_FILE"`,
        timeout: 120,
        bucket: 'real-backups',
        secrets: { PGPASSWORD: '/app/db-password' },
        schedule: 'cron(0 2 * * ? *)',
        retention: { count: 3 },
        restoreTest: {
          schedule: 'cron(0 5 ? * SUN *)',
          script: `${env}\n${scratchRestore}\npg_restore --no-owner --exit-on-error -d "$scratch" "$STEPOPS_RESTORE_FILE"`,
          check: `${env}\n${countRows}`,
          timeout: 120,
        },
      },
      {
        name: 'restic',
        type: 'dump',
        script: `${env}\n${restic}
restic cat config > /dev/null 2>&1 || restic init --quiet
snapshot=$(pg_dump --no-owner | restic backup --json --stdin --stdin-filename dump.sql --tag "run-$STEPOPS_RUN_ID" |
  sed -n 's/.*"message_type":"summary".*"snapshot_id":"\\([0-9a-f]*\\)".*/\\1/p')
test -n "$snapshot"
printf 'restic-snapshot=%s\\n' "$snapshot" > "$STEPOPS_DUMP_FILE"`,
        timeout: 120,
        bucket: 'real-backups',
        secrets: { PGPASSWORD: '/app/db-password', RESTIC_PASSWORD: '/app/restic-password' },
        schedule: 'cron(0 1 * * ? *)',
        retention: { count: 3 },
        restoreTest: {
          schedule: 'cron(0 5 ? * SUN *)',
          script: `${env}\n${restic}
snapshot=$(sed -n 's/^restic-snapshot=//p' "$STEPOPS_RESTORE_FILE")
restic restore --quiet "$snapshot" --target "$STEPOPS_SCRATCH_DIR"
${scratchRestore}
psql --no-psqlrc -q -v ON_ERROR_STOP=1 -d "$scratch" -f "$STEPOPS_SCRATCH_DIR/dump.sql" > /dev/null`,
          check: `${env}\n${countRows}`,
          timeout: 120,
        },
      },
    ],
  });
  engine = createLocalBackupEngine();
}, 60_000);

afterAll(async () => {
  clearRegisteredTargets();
  await pg?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('backups against a real PostgreSQL server and a real restic repository', () => {
  it('dumps, uploads and catalogues both, restores each into a scratch database and counts its rows', async () => {
    // Act: back up, then change the live data, then test the restore
    const backup = await engine.start({ target: 'pg-real', reason: 'test' }, { executionName: 'real-backup' })
      .result;
    await pg.sql('app', 'DELETE FROM notes');
    const restore = await engine.start(
      { target: 'pg-real', task: 'restore-test' },
      { executionName: 'real-restore' },
    ).result;

    // Assess: both copies good, with a checksum of the object as stored
    expect(backup.status, backup.cause).toBe('SUCCEEDED');
    const entries = await catalogue.list('pg-real');
    for (const backupName of ['database', 'restic']) {
      const entry = entries.find((e) => e.backup === backupName);
      expect(entry?.outcome).toBe('good');
      const file = entry!.location.replace('file://', '');
      expect(statSync(file).size).toBe(entry!.sizeBytes);
      const { createHash } = await import('node:crypto');
      expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(entry!.sha256);
      expect(entry?.restoreTest).toMatchObject({ ok: true, runId: 'real-restore' });
    }
    expect(
      readFileSync(entries.find((e) => e.backup === 'database')!.location.replace('file://', ''))
        .subarray(0, 5)
        .toString(),
    ).toBe('PGDMP');
    expect(restore.status, restore.cause).toBe('SUCCEEDED');
    // the scratch databases are gone, the live one untouched by the test
    expect(await pg.sql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'rt_%'")).toBe('0');
    expect(await pg.sql('app', 'SELECT count(*) FROM notes')).toBe('0');
  }, 120_000);

  it('never writes a password into a script, a command log, the catalogue or the outbox', () => {
    // Assess
    const files = filesUnder(home).filter(
      (f) => !f.includes(`${path.sep}parameters${path.sep}`) && !f.includes('objects'),
    );
    expect(files.some((f) => f.endsWith('.sh'))).toBe(true);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toContain(pg.password);
      expect(text, file).not.toContain(RESTIC_PASSWORD);
    }
  });

  it('a restore test against a database that refuses the password fails and is recorded', async () => {
    // Prepare
    await writeFile(path.join(home, 'parameters', 'app', 'db-password'), 'wrong-password', { mode: 0o600 });

    // Act
    const result = await engine.start(
      { target: 'pg-real', backup: 'database', task: 'restore-test' },
      {
        executionName: 'real-restore-bad',
      },
    ).result;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RestoreTestFailedError');
    const [entry] = await catalogue.list('pg-real', 'database');
    expect(entry?.restoreTest).toMatchObject({ ok: false, runId: 'real-restore-bad' });
    expect(entry?.restoreTest?.detail).toContain('password authentication failed');
    await writeFile(path.join(home, 'parameters', 'app', 'db-password'), pg.password, { mode: 0o600 });
  }, 60_000);
});
