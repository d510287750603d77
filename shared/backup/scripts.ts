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
 * - the tool's own output goes to a file; the wrapper prints only its last
 *   {@link OUTPUT_SUMMARY_BYTES} bytes, so that the result line (`STEPOPS_DUMP_RESULT sha256=<hex>
 *   size=<bytes>`, `STEPOPS_RESTORE_RESULT ok …`), printed last, is always within the first 24,000
 *   characters of stdout that SSM's GetCommandInvocation returns, however much the tool prints.
 *
 * Uploads need `curl` and `sha256sum` on the host, not the AWS CLI. A dump to S3 from such a host
 * is two commands: the dump command writes the dump into a private spool directory and prints its
 * result; only then does the Lambda presign a PUT URL (for that one key, its tags signed in, valid
 * for the upload's attempts only: {@link uploadWindowSeconds}) and send the short upload command,
 * which checks the spooled file's SHA-256, uploads it and deletes it. The URL (and the session
 * token in it) is in the command history only from the upload's start, and expired soon after; it
 * can no longer expire during a long dump because the Lambda that signed it is gone. Hosts that
 * declare `awsCli: true` upload with `aws s3 cp` in the dump command (any size; a presigned PUT
 * takes at most 5 GiB).
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

/** The result line of an upload command (the second command of a presigned upload). */
export const UPLOAD_RESULT_PATTERN = /STEPOPS_UPLOAD_RESULT sha256=([0-9a-f]{64}) size=(\d+)/;
/** The most of a tool's output a wrapper prints (its end); the rest stays in a file on the host. */
export const OUTPUT_SUMMARY_BYTES = 4_000;
/** Where dumps wait on the host for their upload command (root only). */
export const DEFAULT_SPOOL_DIRECTORY = '/var/tmp/stepops-spool';
/** The slowest upload rate a presigned upload's window allows for, in bytes per second. */
const SLOWEST_UPLOAD_BYTES_PER_SECOND = 1024 ** 2;

/**
 * The seconds one upload attempt of `sizeBytes` may take: 5 minutes plus the size at 1 MiB/s.
 *
 * @example
 * uploadAttemptSeconds(0) // 300
 */
export function uploadAttemptSeconds(sizeBytes: number): number {
  return 300 + Math.ceil(sizeBytes / SLOWEST_UPLOAD_BYTES_PER_SECOND);
}

/**
 * How long a presigned upload URL stays valid: every attempt of the upload may start within it
 * (S3 checks a presigned URL's expiry when a request starts, so an upload that started in time
 * finishes), and no longer: at most 7 days, S3's limit for a presigned URL.
 *
 * @example
 * uploadWindowSeconds(100 * 1024 ** 2) // 1660: four attempts of 400 s, and their pauses
 */
export function uploadWindowSeconds(sizeBytes: number): number {
  const pauses = (TRANSFER_ATTEMPTS * (TRANSFER_ATTEMPTS - 1)) / 2;
  return Math.min(7 * 86_400, TRANSFER_ATTEMPTS * uploadAttemptSeconds(sizeBytes) + pauses + 60);
}

/**
 * The host file a dump waits in for its upload command.
 *
 * @example
 * spoolPath('docsai', 'database', 'r-1') // '/var/tmp/stepops-spool/docsai-database-r-1'
 */
export function spoolPath(target: string, backup: string, runId: string): string {
  const run = runId.replace(/[^A-Za-z0-9._-]/g, '-').slice(-64);
  return `${DEFAULT_SPOOL_DIRECTORY}/${target}-${backup}-${run}`;
}

/** Where a dump goes, as the Lambda decided it for this run. */
export type UploadTarget =
  /** Kept in the host's spool file for the upload command ({@link renderUploadScript}). */
  | { kind: 'spool'; path: string }
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

/** Runs a tool with its output in `$workdir/<log>`, then prints the log's end (to stderr on failure). */
function summarised(command: string, log: string, failure: string): string[] {
  return [
    `${command} >"$workdir/${log}" 2>&1 || {`,
    '  status=$?',
    `  summarise "$workdir/${log}" >&2`,
    `  ${failure}`,
    '}',
    `summarise "$workdir/${log}"`,
  ];
}

/** A bash function printing at most {@link OUTPUT_SUMMARY_BYTES} bytes: the end of a log file. */
const SUMMARISE = [
  'summarise() {',
  '  local bytes',
  '  bytes=$(wc -c < "$1" | tr -d " ")',
  `  if [ "$bytes" -gt ${OUTPUT_SUMMARY_BYTES} ]; then`,
  `    echo "[… $((bytes - ${OUTPUT_SUMMARY_BYTES})) earlier bytes of output not shown]"`,
  '  fi',
  `  tail -c ${OUTPUT_SUMMARY_BYTES} "$1"`,
  '  echo',
  '}',
];

function uploadLines(upload: UploadTarget): string[] {
  switch (upload.kind) {
    case 'spool':
      return [
        `spool=${shellQuote(upload.path)}`,
        'mkdir -p "$(dirname "$spool")"',
        'if [ ! -O "$(dirname "$spool")" ] || [ -L "$(dirname "$spool")" ]; then',
        '  echo "stepops: the spool directory $(dirname "$spool") belongs to another user; nothing was kept" >&2',
        '  exit 1',
        'fi',
        'chmod 700 "$(dirname "$spool")"',
        // A dump whose upload command never came (the run failed in between) is not kept for ever.
        'find "$(dirname "$spool")" -maxdepth 1 -type f -mmin +2880 -delete 2>/dev/null || true',
        'mv -f "$STEPOPS_DUMP_FILE" "$spool"',
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
    ...SUMMARISE,
    `echo ${shellQuote(`==> dump ${job.name}`)}`,
    '# shellcheck disable=SC2016,SC2024 # quoted on purpose: its own shell expands it; the log file is root-owned',
    ...summarised(
      `${runAs(options.user, preserved)}timeout ${Math.trunc(job.timeout)} ${hostShell(job.script, options)}`,
      'dump.log',
      `echo ${shellQuote(`==> dump ${job.name} failed`)}" with exit code \${status}; nothing was uploaded" >&2; exit "\${status}"`,
    ),
    'if [ ! -s "$STEPOPS_DUMP_FILE" ]; then',
    `  echo ${shellQuote(`stepops: the dump script of ${job.name} wrote an empty dump file; nothing was uploaded`)} >&2`,
    '  exit 1',
    'fi',
    'sha=$(sha256sum "$STEPOPS_DUMP_FILE" | cut -d" " -f1)',
    'size=$(wc -c < "$STEPOPS_DUMP_FILE" | tr -d " ")',
    ...(options.upload.kind === 'spool'
      ? [
          `if [ "$size" -gt ${PRESIGNED_PUT_LIMIT_BYTES} ]; then`,
          `  echo "stepops: the dump is $size bytes, over the 5 GiB one presigned PUT takes; declare awsCli: true to upload with the AWS CLI" >&2`,
          '  exit 1',
          'fi',
          `echo "==> keep $size bytes for the upload to ${options.uri.replaceAll(/["$`\\]/g, '_')}"`,
        ]
      : [`echo "==> upload $size bytes to ${options.uri.replaceAll(/["$`\\]/g, '_')}"`]),
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
  const step = (name: string, body: string, timeout: number, log: string) => [
    `echo ${shellQuote(`==> ${name}`)}`,
    '# shellcheck disable=SC2016,SC2024 # quoted on purpose: its own shell expands it; the log file is root-owned',
    ...summarised(
      `${runAs(options.user, preserved)}timeout ${Math.trunc(timeout)} ${hostShell(body, options)}`,
      log,
      `echo ${shellQuote(`==> ${name} failed`)}" with exit code \${status}" >&2; exit "\${status}"`,
    ),
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
    ...SUMMARISE,
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
    ...step(`restore ${job.name} into scratch`, test.script, test.timeout, 'restore.log'),
    ...step(`check ${job.name}`, test.check, test.timeout, 'check.log'),
    'echo "STEPOPS_RESTORE_RESULT ok sha256=$sha"',
  ].join('\n')}\n`;
}

/** What the upload command needs: the spooled dump, what the dump command reported, the URL. */
export interface UploadScriptOptions {
  target: string;
  runId: string;
  uri: string;
  /** The spool file the dump command wrote. */
  spool: string;
  sha256: string;
  sizeBytes: number;
  /** The presigned PUT URL, made just before this command is sent. */
  url: string;
  /** The `x-amz-tagging` header signed into the URL. */
  tagging: string;
}

/**
 * The short second command of a presigned upload: checks that the spooled dump is the one the
 * dump command reported, PUTs it to the URL (retried), deletes it whatever happens, and prints
 * `STEPOPS_UPLOAD_RESULT sha256=<hex> size=<bytes>`.
 *
 * @example
 * renderUploadScript(job, { target: 'docsai', runId, uri, spool, sha256, sizeBytes, url, tagging });
 * @throws InvalidInputError when the SHA-256 is not hex or the size not a whole number
 */
export function renderUploadScript(job: DumpBackupJob, options: UploadScriptOptions): string {
  if (!/^[0-9a-f]{64}$/.test(options.sha256)) throw new InvalidInputError('expected a hex SHA-256');
  if (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes < 0)
    throw new InvalidInputError('expected the dump size in bytes');
  const env: Record<string, string> = {
    STEPOPS_TARGET: options.target,
    STEPOPS_BACKUP: job.name,
    STEPOPS_RUN_ID: options.runId,
    STEPOPS_DUMP_URI: options.uri,
  };
  return `${[
    '#!/usr/bin/env bash',
    `# stepops upload ${options.target} ${job.name}`,
    'set -euo pipefail',
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    `spool=${shellQuote(options.spool)}`,
    'trap \'rm -f "$spool"\' EXIT',
    'if [ ! -f "$spool" ]; then',
    `  echo "stepops: the dump $spool is gone from the host (restarted or cleaned?); nothing was uploaded" >&2`,
    '  exit 1',
    'fi',
    'sha=$(sha256sum "$spool" | cut -d" " -f1)',
    'size=$(wc -c < "$spool" | tr -d " ")',
    `if [ "$sha" != ${shellQuote(options.sha256)} ] || [ "$size" != ${shellQuote(String(options.sizeBytes))} ]; then`,
    `  echo "stepops: the spooled dump changed since the dump command (now $size bytes, sha256 $sha); nothing was uploaded" >&2`,
    '  exit 1',
    'fi',
    `echo "==> upload $size bytes to ${options.uri.replaceAll(/["$`\\]/g, '_')}"`,
    `upload_url=${shellQuote(options.url)}`,
    ...retried(
      'the upload',
      `curl --fail --silent --show-error --max-time ${uploadAttemptSeconds(options.sizeBytes)} -X PUT -H ${shellQuote(`x-amz-tagging: ${options.tagging}`)} --upload-file "$spool" "$upload_url" >/dev/null`,
    ),
    'echo "STEPOPS_UPLOAD_RESULT sha256=$sha size=$size"',
  ].join('\n')}\n`;
}
