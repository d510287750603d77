/**
 * A throwaway PostgreSQL server for tests: Debian's `postgresql` 15, a cluster initialised in a
 * temporary directory and listening on a free 127.0.0.1 port, password authentication (SCRAM).
 * initdb and postgres refuse to run as root, so when the tests run as root they run as `postgres`
 * through `runuser`.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.ts';

const run = promisify(execFile);

/** Where Debian installs PostgreSQL 15's server binaries. */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  dir: string;
  /** Runs SQL as the superuser in a database; returns stdout. */
  sql(database: string, statement: string): Promise<string>;
  stop(): Promise<void>;
}

async function uidOf(user: string): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', user]);
  const { stdout: gid } = await run('id', ['-g', user]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/**
 * Starts a server; call `stop()` when done.
 *
 * @example
 * const pg = await startPostgres();
 * await pg.sql('postgres', 'CREATE DATABASE app');
 */
export async function startPostgres(): Promise<TestPostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stepops-pg-'));
  const asRoot = userInfo().uid === 0;
  const as = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
  if (asRoot) {
    const { uid, gid } = await uidOf('postgres');
    await chown(dir, uid, gid);
  }
  await chmod(dir, 0o700);
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const pwfile = path.join(dir, 'pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) {
    const { uid, gid } = await uidOf('postgres');
    await chown(pwfile, uid, gid);
  }
  const data = path.join(dir, 'data');
  await as(path.join(PG_BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--no-sync',
  ]);
  const port = await freePort();
  await as(path.join(PG_BIN, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    path.join(dir, 'log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    '-w',
    'start',
  ]);
  const env = { ...process.env, PGPASSWORD: password };
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    dir,
    async sql(database, statement) {
      const { stdout } = await run(
        path.join(PG_BIN, 'psql'),
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          'postgres',
          '-d',
          database,
          '-tA',
          '-v',
          'ON_ERROR_STOP=1',
          '-c',
          statement,
        ],
        { env },
      );
      return stdout.trim();
    },
    async stop() {
      await as(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
