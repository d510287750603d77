/**
 * The dump and restore-test wrappers run for real with bash: uploads to a presigned-style URL on a
 * real HTTP server on 127.0.0.1 (retried, then failing), secrets read from the parameter directory
 * and never printed, a dump that fails midway uploading nothing. Every rendered script passes shellcheck.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DUMP_RESULT_PATTERN,
  RESTORE_RESULT_PATTERN,
  renderDumpScript,
  renderRestoreTestScript,
  renderUploadScript,
} from '../../../shared/backup/scripts.ts';
import type { DumpBackupJob } from '../../../shared/config/schema.ts';
import { combineOutput } from '../../../shared/drivers/output.ts';
import { shellcheck } from '../../helpers/shellcheck.ts';

let root: string;
let server: Server;
let port: number;
/** Answers of the upload server, in order (then 200); what it received. */
let answers: number[] = [];
const received: { headers: Record<string, unknown>; body: Buffer }[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-dump-scripts-'));
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(answers.shift() ?? 200);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
});

function job(script: string, extra: Partial<DumpBackupJob> = {}): DumpBackupJob {
  return {
    name: 'data',
    type: 'dump',
    script,
    timeout: 30,
    bucket: 'b',
    prefix: '',
    schedule: 'rate(1 day)',
    timezone: 'UTC',
    retention: { count: 1 },
    notifyOnSuccess: false,
    secrets: {},
    awsCli: false,
    existingBucket: false,
    ...extra,
  };
}

/** Runs a script with bash, asynchronously (the upload server lives in this process). */
function bash(script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const uploadUrl = () => `http://127.0.0.1:${port}/dumps/x?X-Amz-Signature=abc`;

/** Runs a dump into a spool file, then the upload command for what it reported. */
async function dumpThenUpload(script: string, spool: string) {
  const dumped = await bash(
    renderDumpScript(job(script), {
      target: 't',
      runId: 'r1',
      uri: 's3://b/dumps/x',
      upload: { kind: 'spool', path: spool },
      secrets: { kind: 'directory', path: root },
    }),
  );
  const reported = DUMP_RESULT_PATTERN.exec(dumped.stdout);
  const uploaded = reported
    ? await bash(
        renderUploadScript(job(script), {
          target: 't',
          runId: 'r1',
          uri: 's3://b/dumps/x',
          spool,
          sha256: reported[1] as string,
          sizeBytes: Number(reported[2]),
          url: uploadUrl(),
          tagging: 'stepops%3Atarget=t',
        }),
      )
    : undefined;
  return { dumped, reported, uploaded };
}

describe('renderDumpScript', () => {
  it('spools the dump and prints its SHA-256 and size; the upload command PUTs it with its tags, retried, then deletes it', async () => {
    // Prepare
    answers = [500, 503];
    received.length = 0;
    const spool = path.join(root, 'spool-ok', 't-data-r1');

    // Act
    const { dumped, reported, uploaded } = await dumpThenUpload(
      'printf "hello dump" > "$STEPOPS_DUMP_FILE"',
      spool,
    );

    // Assess
    expect(dumped.status, dumped.stderr).toBe(0);
    const sha = createHash('sha256').update('hello dump').digest('hex');
    expect(reported?.[0]).toBe(`STEPOPS_DUMP_RESULT sha256=${sha} size=10`);
    expect(uploaded?.status, uploaded?.stderr).toBe(0);
    expect(received).toHaveLength(3);
    expect(received[2]?.body.toString()).toBe('hello dump');
    expect(received[2]?.headers['x-amz-tagging']).toBe('stepops%3Atarget=t');
    expect(uploaded?.stdout).toContain(`STEPOPS_UPLOAD_RESULT sha256=${sha} size=10`);
    expect(uploaded?.stderr).toContain('the upload failed; retrying (attempt 2 of 4)');
    expect(existsSync(spool)).toBe(false);
  });

  it('fails after its attempts when the upload keeps failing, prints no result, and still deletes the spooled dump', async () => {
    // Prepare
    answers = [500, 500, 500, 500];
    received.length = 0;
    const spool = path.join(root, 'spool-fail', 't-data-r1');

    // Act
    const { uploaded } = await dumpThenUpload('echo data > "$STEPOPS_DUMP_FILE"', spool);

    // Assess
    expect(uploaded?.status).toBe(1);
    expect(received).toHaveLength(4);
    expect(uploaded?.stderr).toContain('stepops: the upload failed after 4 attempts');
    expect(uploaded?.stdout).not.toContain('STEPOPS_UPLOAD_RESULT');
    expect(existsSync(spool)).toBe(false);
  }, 30_000);

  it('the upload command refuses a spooled dump that is not the one the dump command reported', async () => {
    // Prepare
    received.length = 0;
    const spool = path.join(root, 'spool-changed', 't-data-r1');
    await mkdir(path.dirname(spool), { recursive: true });
    await writeFile(spool, 'something else');
    const script = renderUploadScript(job('true'), {
      target: 't',
      runId: 'r1',
      uri: 's3://b/dumps/x',
      spool,
      sha256: createHash('sha256').update('hello dump').digest('hex'),
      sizeBytes: 10,
      url: uploadUrl(),
      tagging: 'stepops%3Atarget=t',
    });

    // Act
    const result = await bash(script);
    const gone = await bash(script);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the spooled dump changed since the dump command');
    expect(gone.stderr).toContain('is gone from the host');
    expect(received).toHaveLength(0);
  });

  it('keeps the result line within the first 24,000 characters of stdout and 8,000 of stderr that SSM returns, however much the tool prints', async () => {
    // Prepare: a tool that prints 100,000 characters to stdout and 30,000 to stderr
    const spool = path.join(root, 'spool-loud', 't-data-r1');
    const noise =
      'for i in $(seq 1 2000); do printf "%049d\\n" "$i"; done; for i in $(seq 1 600); do printf "%049d\\n" "$i" >&2; done';
    const loud = `${noise}; printf "dump" > "$STEPOPS_DUMP_FILE"`;
    const script = renderDumpScript(job(loud), {
      target: 't',
      runId: 'r1',
      uri: 's3://b/dumps/x',
      upload: { kind: 'spool', path: spool },
      secrets: { kind: 'directory', path: root },
    });
    const restore = renderRestoreTestScript(
      job('true', {
        restoreTest: { schedule: 'rate(7 days)', timezone: 'UTC', script: noise, check: noise, timeout: 30 },
      }),
      {
        target: 't',
        runId: 'r',
        copyRunId: 'c',
        uri: `file://${spool}`,
        sha256: createHash('sha256').update('dump').digest('hex'),
        download: { kind: 'file', path: spool },
        secrets: { kind: 'directory', path: root },
      },
    );

    // Act: run for real, then keep what GetCommandInvocation returns (the first 24,000 / 8,000)
    const dumped = await bash(script);
    const restored = await bash(restore);
    const asSsm = (r: { stdout: string; stderr: string }) =>
      combineOutput(r.stdout.slice(0, 24_000), r.stderr.slice(0, 8_000));

    // Assess
    expect(dumped.status, dumped.stderr.slice(-500)).toBe(0);
    expect(restored.status, restored.stderr.slice(-500)).toBe(0);
    expect(DUMP_RESULT_PATTERN.exec(asSsm(dumped))?.[0]).toBe(
      `STEPOPS_DUMP_RESULT sha256=${createHash('sha256').update('dump').digest('hex')} size=4`,
    );
    expect(RESTORE_RESULT_PATTERN.test(asSsm(restored))).toBe(true);
    expect(dumped.stdout).toContain('earlier bytes of output not shown');
    expect(dumped.stdout).toContain(`${'0'.repeat(46)}600\n`);
  });

  it('a dump that fails midway uploads nothing; an empty dump is refused', async () => {
    // Prepare
    received.length = 0;
    const store = path.join(root, 'store', 'obj');
    const failing = renderDumpScript(job('echo partial > "$STEPOPS_DUMP_FILE"; exit 7'), {
      target: 't',
      runId: 'r1',
      uri: `file://${store}`,
      upload: { kind: 'file', path: store },
      secrets: { kind: 'directory', path: root },
    });
    const empty = renderDumpScript(job(': > "$STEPOPS_DUMP_FILE"'), {
      target: 't',
      runId: 'r1',
      uri: `file://${store}`,
      upload: { kind: 'file', path: store },
      secrets: { kind: 'directory', path: root },
    });

    // Act
    const failed = await bash(failing);
    const refused = await bash(empty);

    // Assess
    expect(failed.status).toBe(7);
    expect(failed.stderr).toContain('==> dump data failed with exit code 7; nothing was uploaded');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('wrote an empty dump file');
    const uploaded = await readdir(path.dirname(store)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    expect(uploaded).toEqual([]);
  });

  it("runs the dump with the hosts' PATH entries first, so a tool installed there is found", async () => {
    // Prepare: a dump tool that exists only in a directory of the hosts' `path`
    const tools = path.join(root, 'tools-bin');
    await mkdir(tools, { recursive: true });
    await writeFile(path.join(tools, 'mydump'), '#!/usr/bin/env bash\necho dumped-by-mydump\n', {
      mode: 0o755,
    });
    const store = path.join(root, 'store-path', 'obj');
    const options = {
      target: 't',
      runId: 'r1',
      uri: `file://${store}`,
      upload: { kind: 'file' as const, path: store },
      secrets: { kind: 'directory' as const, path: root },
    };
    const dump = job('mydump > "$STEPOPS_DUMP_FILE"');

    // Act
    const without = await bash(renderDumpScript(dump, options));
    const withPath = await bash(renderDumpScript(dump, { ...options, path: [tools] }));

    // Assess
    expect(without.status).not.toBe(0);
    expect(without.stderr).toContain('mydump: command not found');
    expect(withPath.status).toBe(0);
    expect(withPath.stdout).toMatch(/STEPOPS_DUMP_RESULT sha256=[0-9a-f]{64} size=17/);
  });

  it('reads secrets on the host into the environment without printing them or naming their values', async () => {
    // Prepare
    await mkdir(path.join(root, 'params', 'app'), { recursive: true });
    await writeFile(path.join(root, 'params', 'app', 'pw'), 's3cr3t-value');
    const store = path.join(root, 'store2', 'obj');
    const script = renderDumpScript(
      job('printf "%s" "${#DB_PASSWORD}" > "$STEPOPS_DUMP_FILE"', { secrets: { DB_PASSWORD: '/app/pw' } }),
      {
        target: 't',
        runId: 'r1',
        uri: `file://${store}`,
        upload: { kind: 'file', path: store },
        secrets: { kind: 'directory', path: path.join(root, 'params') },
      },
    );

    // Act
    const result = await bash(script);

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(await readFile(store, 'utf8')).toBe('12');
    expect(script).not.toContain('s3cr3t-value');
    expect(`${result.stdout}${result.stderr}`).not.toContain('s3cr3t-value');
  });

  it('says which secret it could not read', async () => {
    // Prepare
    const script = renderDumpScript(
      job('echo x > "$STEPOPS_DUMP_FILE"', { secrets: { DB_PASSWORD: '/app/missing' } }),
      {
        target: 't',
        runId: 'r1',
        uri: 'file:///nowhere',
        upload: { kind: 'file', path: path.join(root, 'never') },
        secrets: { kind: 'directory', path: path.join(root, 'params') },
      },
    );

    // Act
    const result = await bash(script);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('stepops: could not read the secret /app/missing for DB_PASSWORD');
  });

  it('renders scripts that pass shellcheck, for every upload and secret source', async () => {
    // Prepare
    const withTest = job('pg_dump > "$STEPOPS_DUMP_FILE"', {
      secrets: { PGPASSWORD: '/app/pw' },
      restoreTest: {
        schedule: 'rate(7 days)',
        timezone: 'UTC',
        script: 'pg_restore "$STEPOPS_RESTORE_FILE"',
        check: 'psql -c "select 1"',
        timeout: 60,
      },
    });
    const scripts = [
      renderDumpScript(withTest, {
        target: 't',
        runId: 'r',
        uri: 's3://b/k',
        upload: { kind: 'spool', path: '/var/tmp/stepops-spool/t-data-r' },
        secrets: { kind: 'ssm', region: 'eu-west-1' },
        user: 'ubuntu',
        workingDirectory: '/opt/app',
      }),
      renderUploadScript(withTest, {
        target: 't',
        runId: 'r',
        uri: 's3://b/k',
        spool: '/var/tmp/stepops-spool/t-data-r',
        sha256: 'a'.repeat(64),
        sizeBytes: 12,
        url: 'https://b.s3.eu-west-1.amazonaws.com/k?X-Amz-Signature=x&X-Amz-Security-Token=a%2Fb',
        tagging: 'a=1',
      }),
      renderDumpScript(withTest, {
        target: 't',
        runId: 'r',
        uri: 's3://b/k',
        upload: { kind: 'aws-cli', bucket: 'b', key: 'k', tagging: 'a=1', region: 'eu-west-1' },
        secrets: { kind: 'ssm' },
      }),
      renderRestoreTestScript(withTest, {
        target: 't',
        runId: 'r',
        copyRunId: 'c',
        uri: 's3://b/k',
        sha256: 'a'.repeat(64),
        download: { kind: 'presigned', url: 'https://x/y' },
        secrets: { kind: 'ssm' },
        user: 'ubuntu',
      }),
      renderRestoreTestScript(withTest, {
        target: 't',
        runId: 'r',
        copyRunId: 'c',
        uri: 'file:///k',
        sha256: 'a'.repeat(64),
        download: { kind: 'file', path: '/k' },
        secrets: { kind: 'directory', path: '/p' },
      }),
    ];

    // Act
    const results = await Promise.all(scripts.map((script) => shellcheck({ script })));

    // Assess
    expect(results).toHaveLength(scripts.length);
    for (const r of results) expect(r.findings).toBe('');
  });

  it('refuses a restore test whose checksum does not match the catalogue', async () => {
    // Prepare
    const file = path.join(root, 'dump-to-test');
    await writeFile(file, 'dump');
    const withTest = job('true', {
      restoreTest: { schedule: 'rate(7 days)', timezone: 'UTC', script: 'true', check: 'true', timeout: 10 },
    });
    const script = renderRestoreTestScript(withTest, {
      target: 't',
      runId: 'r',
      copyRunId: 'c',
      uri: `file://${file}`,
      sha256: 'b'.repeat(64),
      download: { kind: 'file', path: file },
      secrets: { kind: 'directory', path: root },
    });

    // Act
    const result = await bash(script);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`the catalogue recorded ${'b'.repeat(64)}`);
  });
});
