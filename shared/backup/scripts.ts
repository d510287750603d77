/**
 * The scripts a dump and its restore test run on a host. The target's own script only writes the
 * dump to `$STEPOPS_DUMP_FILE` (or restores `$STEPOPS_RESTORE_FILE`); stepops wraps it:
 *
 * - secrets are read on the host, just before the script, from SSM SecureString (`aws ssm
 *   get-parameter`, ec2 hosts) or from the local parameter directory (local hosts), into
 *   environment variables the wrapper never prints: the command (which SSM keeps in its history)
 *   holds only the parameter names;
 * - the dump is written to a private temporary directory, checked non-empty, hashed (SHA-256) and
 *   only then uploaded, with retries; a script that fails midway uploads nothing, and a failed
 *   upload leaves no object (an S3 PUT is all or nothing; a local copy is renamed into place);
 * - the last line says what was uploaded: `STEPOPS_DUMP_RESULT sha256=<hex> size=<bytes>`.
 *
 * Uploads need `curl` and `sha256sum` on the host, not the AWS CLI: the Lambda hands the host a
 * presigned PUT URL (valid for the job's timeout, for that one key, its tags signed in). Hosts that
 * declare `awsCli: true` upload with `aws s3 cp` instead (any size; a presigned PUT takes at most 5 GiB).
 */
import type { DumpBackupJob } from '../config/schema.ts';
import { InvalidInputError } from '../errors.ts';
import { hostShell, type RenderOptions, shellQuote } from '../shell/script.ts';

/** The result line a dump prints last. */
export const DUMP_RESULT_PATTERN = /STEPOPS_DUMP_RESULT sha256=([0-9a-f]{64}) size=(\d+)/;
/** The result line a restore test prints last. */
export const RESTORE_RESULT_PATTERN = /STEPOPS_RESTORE_RESULT ok sha256=([0-9a-f]{64})/;
/** Attempts of an upload or download before the job fails. */
export const TRANSFER_ATTEMPTS = 4;
/** The most one presigned PUT may carry (S3's single-PUT limit). */
export const PRESIGNED_PUT_LIMIT_BYTES = 5 * 1024 ** 3;

/** Where a dump goes, as the Lambda decided it for this run. */
export type UploadTarget =
  | { kind: 'presigned'; url: string; tagging: string }
  | { kind: 'aws-cli'; bucket: string; key: string; tagging: string; region?: string }
  | { kind: 'file'; path: string };

/** Where a restore test reads the dump. */
export type DownloadSource =
  | { kind: 'presigned'; url: string }
  | { kind: 'aws-cli'; bucket: string; key: string; region?: string }
  | { kind: 'file'; path: string };

/** How the host reads secrets. */
export type SecretSource = { kind: 'ssm'; region?: string } | { kind: 'directory'; path: string };

/** What the wrapper needs besides the job. */
export interface DumpScriptOptions extends Pick<RenderOptions, 'loginShell' | 'path'> {
  target: string;
  runId: string;
  /** The URI the catalogue names (`s3://…`, `file://…`). */
  uri: string;
  upload: UploadTarget;
  secrets: SecretSource;
  workingDirectory?: string;
  user?: string;
}

function secretLines(secrets: Record<string, string>, source: SecretSource): string[] {
  return Object.entries(secrets).flatMap(([env, parameter]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(env)) throw new InvalidInputError(`invalid secret variable name "${env}"`);
    if (!/^\/[A-Za-z0-9_.\-/]+$/.test(parameter) || parameter.includes('..'))
      throw new InvalidInputError(`invalid SSM parameter name "${parameter}"`);
    const read =
      source.kind === 'ssm'
        ? `aws ssm get-parameter${source.region ? ` --region ${shellQuote(source.region)}` : ''} --name ${shellQuote(parameter)} --with-decryption --query Parameter.Value --output text`
        : `cat ${shellQuote(`${source.path.replace(/\/+$/, '')}${parameter}`)}`;
    return [
      `if ! ${env}=$(${read}); then`,
      `  echo ${shellQuote(`stepops: could not read the secret ${parameter} for ${env}`)} >&2`,
      '  exit 1',
      'fi',
      `export ${env}`,
    ];
  });
}

/** A bash loop that retries a transfer command. */
function retried(what: string, command: string): string[] {
  return [
    'attempt=1',
    `until ${command}; do`,
    `  if [ "$attempt" -ge ${TRANSFER_ATTEMPTS} ]; then`,
    `    echo ${shellQuote(`stepops: ${what} failed after ${TRANSFER_ATTEMPTS} attempts`)} >&2`,
    '    exit 1',
    '  fi',
    `  echo ${shellQuote(`stepops: ${what} failed; retrying`)}" (attempt $((attempt + 1)) of ${TRANSFER_ATTEMPTS})" >&2`,
    '  sleep "$attempt"',
    '  attempt=$((attempt + 1))',
    'done',
  ];
}

function uploadLines(upload: UploadTarget): string[] {
  switch (upload.kind) {
    case 'presigned':
      return [
        `if [ "$size" -gt ${PRESIGNED_PUT_LIMIT_BYTES} ]; then`,
        `  echo "stepops: the dump is $size bytes, over the 5 GiB one presigned PUT takes; declare awsCli: true to upload with the AWS CLI" >&2`,
        '  exit 1',
        'fi',
        `upload_url=${shellQuote(upload.url)}`,
        ...retried(
          'the upload',
          `curl --fail --silent --show-error --max-time 3600 -X PUT -H ${shellQuote(`x-amz-tagging: ${upload.tagging}`)} --upload-file "$STEPOPS_DUMP_FILE" "$upload_url" >/dev/null`,
        ),
      ];
    case 'aws-cli': {
      const region = upload.region ? ` --region ${shellQuote(upload.region)}` : '';
      return retried(
        'the upload',
        `aws s3 cp${region} --only-show-errors "$STEPOPS_DUMP_FILE" ${shellQuote(`s3://${upload.bucket}/${upload.key}`)} && aws s3api put-object-tagging${region} --bucket ${shellQuote(upload.bucket)} --key ${shellQuote(upload.key)} --tagging ${shellQuote(toTagSet(upload.tagging))}`,
      );
    }
    case 'file':
      return [
        `dest=${shellQuote(upload.path)}`,
        'mkdir -p "$(dirname "$dest")"',
        ...retried(
          'the copy to the object store',
          'cp "$STEPOPS_DUMP_FILE" "$dest.partial" && mv -f "$dest.partial" "$dest"',
        ),
      ];
  }
}

/** `a=1&b=2` (URL-encoded) as the AWS CLI's `TagSet=[{Key=a,Value=1},…]`. */
function toTagSet(tagging: string): string {
  const pairs = new URLSearchParams(tagging);
  return `TagSet=[${[...pairs].map(([k, v]) => `{Key=${k},Value=${v}}`).join(',')}]`;
}

function runAs(user: string | undefined, names: string[]): string {
  return user && user !== 'root'
    ? `sudo -u ${shellQuote(user)} -H --preserve-env=${names.join(',')} -- `
    : '';
}

/**
 * The host script of one dump run.
 *
 * @example
 * renderDumpScript(job, { target: 'docsai', runId: 'r1', uri: 's3://b/k', upload: { kind: 'presigned', url, tagging }, secrets: { kind: 'ssm' } });
 */
export function renderDumpScript(job: DumpBackupJob, options: DumpScriptOptions): string {
  const env: Record<string, string> = {
    STEPOPS_TARGET: options.target,
    STEPOPS_BACKUP: job.name,
    STEPOPS_JOB: job.name,
    STEPOPS_RUN_ID: options.runId,
    STEPOPS_DUMP_URI: options.uri,
  };
  const preserved = [...Object.keys(env), 'STEPOPS_DUMP_FILE', ...Object.keys(job.secrets)];
  return `${[
    '#!/usr/bin/env bash',
    `# stepops backup ${options.target} ${job.name}`,
    'set -euo pipefail',
    'umask 077',
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    'workdir=$(mktemp -d)',
    'trap \'rm -rf "$workdir"\' EXIT',
    'export STEPOPS_DUMP_FILE="$workdir/dump"',
    ...(options.user && options.user !== 'root' ? [`chown ${shellQuote(options.user)} "$workdir"`] : []),
    ...(options.workingDirectory ? [`cd ${shellQuote(options.workingDirectory)}`] : []),
    ...secretLines(job.secrets, options.secrets),
    `echo ${shellQuote(`==> dump ${job.name}`)}`,
    '# shellcheck disable=SC2016 # the script is quoted on purpose: its own shell expands it',
    `${runAs(options.user, preserved)}timeout ${Math.trunc(job.timeout)} ${hostShell(job.script, options)} || {`,
    '  status=$?',
    `  echo ${shellQuote(`==> dump ${job.name} failed`)}" with exit code \${status}; nothing was uploaded" >&2`,
    '  exit "${status}"',
    '}',
    'if [ ! -s "$STEPOPS_DUMP_FILE" ]; then',
    `  echo ${shellQuote(`stepops: the dump script of ${job.name} wrote an empty dump file; nothing was uploaded`)} >&2`,
    '  exit 1',
    'fi',
    'sha=$(sha256sum "$STEPOPS_DUMP_FILE" | cut -d" " -f1)',
    'size=$(wc -c < "$STEPOPS_DUMP_FILE" | tr -d " ")',
    `echo "==> upload $size bytes to ${options.uri.replaceAll(/["$`\\]/g, '_')}"`,
    ...uploadLines(options.upload),
    'echo "STEPOPS_DUMP_RESULT sha256=$sha size=$size"',
  ].join('\n')}\n`;
}

/** What the restore-test wrapper needs besides the job. */
export interface RestoreScriptOptions extends Pick<RenderOptions, 'loginShell' | 'path'> {
  target: string;
  runId: string;
  /** The run whose copy is tested. */
  copyRunId: string;
  uri: string;
  sha256: string;
  download: DownloadSource;
  secrets: SecretSource;
  workingDirectory?: string;
  user?: string;
}

function downloadLines(download: DownloadSource): string[] {
  switch (download.kind) {
    case 'presigned':
      return [
        `download_url=${shellQuote(download.url)}`,
        ...retried(
          'the download',
          'curl --fail --silent --show-error --max-time 3600 -o "$STEPOPS_RESTORE_FILE" "$download_url"',
        ),
      ];
    case 'aws-cli': {
      const region = download.region ? ` --region ${shellQuote(download.region)}` : '';
      return retried(
        'the download',
        `aws s3 cp${region} --only-show-errors ${shellQuote(`s3://${download.bucket}/${download.key}`)} "$STEPOPS_RESTORE_FILE"`,
      );
    }
    case 'file':
      return retried(
        'the copy from the object store',
        `cp ${shellQuote(download.path)} "$STEPOPS_RESTORE_FILE"`,
      );
  }
}

/**
 * The host script of a restore test: fetch the dump, check its SHA-256 against the catalogue,
 * restore it with the job's `restoreTest.script` into scratch, run `restoreTest.check`.
 *
 * @example
 * renderRestoreTestScript(job, { target: 'docsai', runId, copyRunId, uri, sha256, download, secrets: { kind: 'ssm' } });
 * @throws InvalidInputError when the job declares no restore test
 */
export function renderRestoreTestScript(job: DumpBackupJob, options: RestoreScriptOptions): string {
  const test = job.restoreTest;
  if (!test) throw new InvalidInputError(`backup "${job.name}" of ${options.target} declares no restoreTest`);
  if (!/^[0-9a-f]{64}$/.test(options.sha256)) throw new InvalidInputError('expected a hex SHA-256');
  const env: Record<string, string> = {
    STEPOPS_TARGET: options.target,
    STEPOPS_BACKUP: job.name,
    STEPOPS_RUN_ID: options.runId,
    STEPOPS_COPY_RUN_ID: options.copyRunId,
    STEPOPS_DUMP_URI: options.uri,
  };
  const preserved = [
    ...Object.keys(env),
    'STEPOPS_RESTORE_FILE',
    'STEPOPS_SCRATCH_DIR',
    ...Object.keys(job.secrets),
  ];
  const step = (name: string, body: string, timeout: number) => [
    `echo ${shellQuote(`==> ${name}`)}`,
    '# shellcheck disable=SC2016 # the script is quoted on purpose: its own shell expands it',
    `${runAs(options.user, preserved)}timeout ${Math.trunc(timeout)} ${hostShell(body, options)} || {`,
    '  status=$?',
    `  echo ${shellQuote(`==> ${name} failed`)}" with exit code \${status}" >&2`,
    '  exit "${status}"',
    '}',
  ];
  return `${[
    '#!/usr/bin/env bash',
    `# stepops restore test ${options.target} ${job.name}`,
    'set -euo pipefail',
    'umask 077',
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    'workdir=$(mktemp -d)',
    'trap \'rm -rf "$workdir"\' EXIT',
    'export STEPOPS_RESTORE_FILE="$workdir/dump" STEPOPS_SCRATCH_DIR="$workdir/scratch"',
    'mkdir "$STEPOPS_SCRATCH_DIR"',
    ...(options.user && options.user !== 'root' ? [`chown -R ${shellQuote(options.user)} "$workdir"`] : []),
    ...(options.workingDirectory ? [`cd ${shellQuote(options.workingDirectory)}`] : []),
    `echo ${shellQuote(`==> fetch ${options.uri}`)}`,
    ...downloadLines(options.download),
    'sha=$(sha256sum "$STEPOPS_RESTORE_FILE" | cut -d" " -f1)',
    `if [ "$sha" != ${shellQuote(options.sha256)} ]; then`,
    `  echo "stepops: the dump's SHA-256 is $sha, the catalogue recorded ${options.sha256}" >&2`,
    '  exit 1',
    'fi',
    ...secretLines(job.secrets, options.secrets),
    ...step(`restore ${job.name} into scratch`, test.script, test.timeout),
    ...step(`check ${job.name}`, test.check, test.timeout),
    'echo "STEPOPS_RESTORE_RESULT ok sha256=$sha"',
  ].join('\n')}\n`;
}
