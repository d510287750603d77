/**
 * The real targets' dump and restore-test scripts, run for real in bash against Debian's
 * PostgreSQL 15 and restic: docsai's pg_dump and its restore into a scratch database, zmanim's
 * pg_dump into its existing restic repository and back, datizmo's .env copy. The app roles have no
 * CREATEDB, as the documents' roles need not: the scratch database is made by the `postgres`
 * superuser through `sudo -n -u postgres` (here a stand-in on PATH that connects as the test
 * cluster's superuser), and it is dropped whether the restore passes or fails.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTarget } from '../../shared/config/registry.ts';
import type { DumpBackupJob, Target } from '../../shared/config/schema.ts';
import { PG_BIN, startPostgres, type TestPostgres } from '../helpers/postgres.ts';

const run = promisify(execFile);

let pg: TestPostgres;
let root: string;
let bin: string;
const APP_PASSWORD = `app-${Math.random().toString(36).slice(2)}`;
const RESTIC_PASSWORD = `restic-${Math.random().toString(36).slice(2)}`;

/** Stands in for `sudo -n -u postgres`: the command connects as the cluster's superuser. */
const SUDO = `#!/usr/bin/env bash
if [ -e "$SHIM_DIR/no-sudo" ]; then echo "sudo: a password is required" >&2; exit 1; fi
while [ $# -gt 0 ]; do
  case "$1" in
    -n) shift ;;
    -u) shift 2 ;;
    *) break ;;
  esac
done
PGUSER=postgres PGPASSWORD="$SUPER_PASSWORD" PGHOST=127.0.0.1 PGDATABASE=postgres exec "$@"
`;

function dumpJob(target: Target, name: string): DumpBackupJob {
  const job = target.backup?.find((b) => b.name === name);
  if (job?.type !== 'dump' || !job.restoreTest) throw new Error(`no dump job ${name} with a restore test`);
  return job;
}

/** Runs one of a target's scripts in bash as a host would (strict mode), in `cwd`. */
async function bash(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd,
      env: {
        PATH: `${bin}:${PG_BIN}:${process.env.PATH ?? ''}`,
        HOME: root,
        SHIM_DIR: root,
        SUPER_PASSWORD: pg.password,
        PGPORT: String(pg.port),
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Dump, then restore test and check in a fresh scratch directory, as the backup workflow runs them. */
async function dumpAndRestore(
  job: DumpBackupJob,
  cwd: string,
  env: Record<string, string>,
  runId: string,
): Promise<{
  dump: Awaited<ReturnType<typeof bash>>;
  restore?: Awaited<ReturnType<typeof bash>>;
  check?: Awaited<ReturnType<typeof bash>>;
}> {
  const work = await mkdtemp(path.join(root, 'run-'));
  const file = path.join(work, 'dump');
  const scratch = path.join(work, 'scratch');
  await mkdir(scratch);
  const runEnv = { ...env, STEPOPS_RUN_ID: runId, STEPOPS_DUMP_URI: `file://${file}` };
  const dump = await bash(job.script, cwd, { ...runEnv, STEPOPS_DUMP_FILE: file });
  if (dump.code !== 0) return { dump };
  const restoreEnv = { ...runEnv, STEPOPS_RESTORE_FILE: file, STEPOPS_SCRATCH_DIR: scratch };
  const restore = await bash(job.restoreTest!.script, cwd, restoreEnv);
  if (restore.code !== 0) return { dump, restore };
  const check = await bash(job.restoreTest!.check, cwd, restoreEnv);
  return { dump, restore, check };
}

async function scratchDatabases(): Promise<string[]> {
  const names = await pg.sql('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'stepops_rt_%'");
  return names ? names.split('\n') : [];
}

beforeAll(async () => {
  pg = await startPostgres();
  root = await mkdtemp(path.join(tmpdir(), 'stepops-targets-real-'));
  // The tests may run as root, and initdb's cluster as postgres: the scripts' files must be readable.
  await chmod(root, 0o755);
  bin = path.join(root, 'bin');
  await mkdir(bin);
  await writeFile(path.join(bin, 'sudo'), SUDO, { mode: 0o755 });
  // The documents' app roles, without CREATEDB, owning their databases.
  for (const role of ['docsai_user', 'zmanim']) {
    await pg.sql('postgres', `CREATE ROLE ${role} LOGIN PASSWORD '${APP_PASSWORD}' NOCREATEDB`);
  }
  await pg.sql('postgres', 'CREATE DATABASE docsai OWNER docsai_user');
  await pg.sql('postgres', 'CREATE DATABASE zmanim OWNER zmanim');
  await pg.sql(
    'docsai',
    "CREATE TABLE django_migrations (id serial PRIMARY KEY, app text, name text); INSERT INTO django_migrations (app, name) VALUES ('docs', '0001_initial'), ('docs', '0002_search'); ALTER TABLE django_migrations OWNER TO docsai_user",
  );
  await pg.sql(
    'zmanim',
    "CREATE TABLE localities (id int PRIMARY KEY, name text); INSERT INTO localities VALUES (1, 'Jerusalem'); ALTER TABLE localities OWNER TO zmanim",
  );
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('docsai: pg_dump and a restore test into a scratch database', () => {
  const job = dumpJob(findTarget('docsai'), 'database');
  let app: string;

  beforeAll(async () => {
    app = path.join(root, 'docsai');
    await mkdir(app);
    await writeFile(
      path.join(app, '.env.prod'),
      `DATABASE_NAME=docsai\nDATABASE_USER=docsai_user\nDATABASE_PASSWORD="${APP_PASSWORD}"\nDATABASE_HOST=127.0.0.1\nDATABASE_PORT=${pg.port}\n`,
    );
  });

  it('restores as postgres when docsai_user may not create databases, counts the migrations, drops the scratch database', async () => {
    // Act
    const result = await dumpAndRestore(job, app, {}, 'r-docsai-1');

    // Assess
    expect(result.dump.code).toBe(0);
    expect(result.restore?.code, result.restore?.stderr).toBe(0);
    expect(result.check?.code, result.check?.stderr).toBe(0);
    expect(result.check?.stdout).toContain('django_migrations: 2 rows');
    expect(await scratchDatabases()).toEqual([]);
  });

  it('fails the check on a dump without Django migrations', async () => {
    // Prepare
    await pg.sql('docsai', 'DELETE FROM django_migrations');

    // Act
    const result = await dumpAndRestore(job, app, {}, 'r-docsai-2');

    // Assess
    await pg.sql('docsai', "INSERT INTO django_migrations (app, name) VALUES ('docs', '0001_initial')");
    expect(result.restore?.code).toBe(0);
    expect(result.check?.code).not.toBe(0);
    expect(result.check?.stdout).toContain('django_migrations: 0 rows');
    expect(await scratchDatabases()).toEqual([]);
  });

  it('says what to grant when the role may not create databases and postgres is out of reach', async () => {
    // Prepare
    await writeFile(path.join(root, 'no-sudo'), '');

    // Act
    const result = await dumpAndRestore(job, app, {}, 'r-docsai-3');

    // Assess
    await rm(path.join(root, 'no-sudo'));
    expect(result.restore?.code).not.toBe(0);
    expect(result.restore?.stderr).toContain(
      'role docsai_user may not create databases (no CREATEDB) and PostgreSQL is not on this host: ALTER ROLE docsai_user CREATEDB',
    );
    expect(await scratchDatabases()).toEqual([]);
  });

  it('drops the scratch database when the restore itself fails (a damaged dump), as a role with CREATEDB', async () => {
    // Prepare: the restore test reads a truncated dump; the role creates the scratch database itself.
    await pg.sql('postgres', 'ALTER ROLE docsai_user CREATEDB');
    await writeFile(path.join(root, 'no-sudo'), '');
    const work = await mkdtemp(path.join(root, 'run-'));
    const file = path.join(work, 'dump');
    await mkdir(path.join(work, 'scratch'));
    const dump = await bash(job.script, app, { STEPOPS_DUMP_FILE: file, STEPOPS_RUN_ID: 'r-docsai-4' });
    expect(dump.code).toBe(0);
    await run('truncate', ['-s', '200', file]);

    // Act
    const restore = await bash(job.restoreTest!.script, app, {
      STEPOPS_RUN_ID: 'r-docsai-4',
      STEPOPS_RESTORE_FILE: file,
      STEPOPS_SCRATCH_DIR: path.join(work, 'scratch'),
    });

    // Assess
    await pg.sql('postgres', 'ALTER ROLE docsai_user NOCREATEDB');
    await rm(path.join(root, 'no-sudo'));
    expect(restore.code).not.toBe(0);
    expect(restore.stderr).toContain('pg_restore');
    expect(await scratchDatabases()).toEqual([]);
  });
});

describe('zmanim: pg_dump into its restic repository and a restore test from it', () => {
  let job: DumpBackupJob;
  let repository: string;

  beforeAll(async () => {
    repository = path.join(root, 'restic-repo');
    // zmanim's repository exists already (its own daily backup writes to it): stepops does not init it.
    await run('restic', ['init', '--repo', repository], { env: { ...process.env, RESTIC_PASSWORD } });
    const raw = dumpJob(findTarget('zmanim'), 'database');
    const fill = (script: string) => script.replace(/<unfilled: RESTIC_REPOSITORY[^>]*>/g, repository);
    job = {
      ...raw,
      script: fill(raw.script),
      restoreTest: {
        ...raw.restoreTest!,
        script: fill(raw.restoreTest!.script),
        check: fill(raw.restoreTest!.check),
      },
    };
  });

  it('backs up into the existing repository tagged stepops, restores as postgres, counts the tables, drops the scratch database', async () => {
    // Act
    const result = await dumpAndRestore(
      job,
      root,
      { RESTIC_PASSWORD, PGPASSWORD: APP_PASSWORD },
      'r-zmanim-1',
    );

    // Assess
    expect(result.dump.code, result.dump.stderr).toBe(0);
    expect(result.restore?.code, result.restore?.stderr).toBe(0);
    expect(result.check?.code, result.check?.stderr).toBe(0);
    expect(result.check?.stdout).toContain('public tables: 1');
    const { stdout } = await run(
      'restic',
      ['snapshots', '--json', '--repo', repository, '--tag', 'stepops'],
      {
        env: { ...process.env, RESTIC_PASSWORD },
      },
    );
    expect(JSON.parse(stdout)).toHaveLength(1);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('fails the dump when the repository is not there, instead of creating a new one', async () => {
    // Act
    const result = await dumpAndRestore(
      { ...job, script: job.script.replaceAll(repository, path.join(root, 'no-such-repo')) },
      root,
      { RESTIC_PASSWORD, PGPASSWORD: APP_PASSWORD },
      'r-zmanim-2',
    );

    // Assess
    expect(result.dump.code).not.toBe(0);
  });
});

describe('datizmo: the .env copy', () => {
  it('copies .env and checks the copy still names the database', async () => {
    // Prepare
    const app = path.join(root, 'datizmo');
    await mkdir(app);
    await writeFile(path.join(app, '.env'), 'DATABASE_URL=postgresql://app@db/app\nJWT_SECRET=x\n');

    // Act
    const result = await dumpAndRestore(dumpJob(findTarget('datizmo'), 'env-file'), app, {}, 'r-datizmo-1');

    // Assess
    expect(result.check?.code, result.check?.stderr).toBe(0);
  });

  it('fails the check on an .env without DATABASE_URL', async () => {
    // Prepare
    const app = path.join(root, 'datizmo-broken');
    await mkdir(app);
    await writeFile(path.join(app, '.env'), 'JWT_SECRET=x\n');

    // Act
    const result = await dumpAndRestore(dumpJob(findTarget('datizmo'), 'env-file'), app, {}, 'r-datizmo-2');

    // Assess
    expect(result.check?.code).not.toBe(0);
  });
});
