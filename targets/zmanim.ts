/**
 * Shtetl Zmanim backend: a Go API (systemd `zmanim-api`, :8080) built from `/opt/zmanim/api` into
 * `/opt/zmanim/bin/api`, PostgreSQL and Redis on the same Amazon Linux 2023 ARM m7g.medium in
 * eu-west-1, data on the EBS volume mounted at `/data`, secrets in SSM `/zmanim/prod/*`.
 * Served as https://zmanim.shtetl.io/backend/* through CloudFront and API Gateway.
 *
 * Source: its operations document. RTO 1 hour, RPO 24 hours. The document names no instance,
 * volume, Elastic IP or bucket ids, not the device of the /data volume and not where its restic
 * repository is: the bucket, the Elastic IP, the device and the repository are marked
 * `unfilled(…)` and must be filled in before a stage deploys this target; the instance is the one
 * tagged `stepops:target` = `zmanim`, as stepops' preparation asks. The backend deploys by hand or
 * `gh workflow run` (only the frontend deploys on a push to main), so no repository is declared.
 */
import { defineTarget, unfilled } from '../shared/config/schema.ts';
import {
  checkoutPrevious,
  checkoutRef,
  diskUsageBelow,
  scratchDatabase,
  verifyRef,
} from '../shared/recipes/scripts.ts';
import { shellQuote } from '../shared/shell/script.ts';

/**
 * Keeps the running binary, marked with the run that kept it, so that this run's rollback does not
 * have to rebuild it.
 */
const build = `mkdir -p bin
if [ -x bin/api ]; then
  cp --preserve=mode bin/api bin/api.stepops-previous
  printf '%s\\n' "$STEPOPS_RUN_ID" > bin/api.stepops-previous.run
fi
cd api
go build -o ../bin/api ./cmd/api`;

const restartApi = `sudo systemctl restart zmanim-api
sudo systemctl is-active --quiet zmanim-api`;

/**
 * Returns to the commit this run replaced (nothing to do on a host this run did not change) and to
 * the binary this run kept, or rebuilds it when this run kept none.
 */
const rollbackBinary = `${checkoutPrevious}
if [ -x bin/api.stepops-previous ] && [ "$(cat bin/api.stepops-previous.run 2>/dev/null)" = "$STEPOPS_RUN_ID" ]; then
  mv bin/api.stepops-previous bin/api
else
  (cd api && go build -o ../bin/api ./cmd/api)
fi`;

/**
 * The restic repository zmanim's own backup (`/opt/zmanim/scripts/backup.sh`, daily) already
 * writes to: stepops backs up into it too, tagged `stepops`, and forgets only its own snapshots.
 * The document says only "stored in S3 with encryption".
 */
const repository = unfilled(
  'RESTIC_REPOSITORY of the existing zmanim restic repository, as /opt/zmanim/scripts/backup.sh sets it',
);

/** Restic's repository and password; the password comes from SSM at run time, never from the file. */
const resticEnv = `export AWS_DEFAULT_REGION=eu-west-1
export RESTIC_REPOSITORY=${shellQuote(repository)}
RESTIC_PASSWORD=$(aws ssm get-parameter --name /zmanim/prod/restic-password --with-decryption --query Parameter.Value --output text)
export RESTIC_PASSWORD
PGPASSWORD=$(aws ssm get-parameter --name /zmanim/prod/postgres-password --with-decryption --query Parameter.Value --output text)
export PGPASSWORD PGHOST=localhost PGUSER=zmanim PGDATABASE=zmanim`;

/** Where restic keeps the data; the password and the database password come as declared secrets. */
const resticRepository = `export AWS_DEFAULT_REGION=eu-west-1
export RESTIC_REPOSITORY=${shellQuote(repository)}
export PGHOST=localhost PGUSER=zmanim PGDATABASE=zmanim`;

/**
 * pg_dump into restic (encrypted, deduplicated); the object stepops stores is a manifest naming the
 * restic snapshot of this run.
 */
const resticBackup = `${resticRepository}
summary=$(pg_dump --clean --if-exists --no-owner |
  restic backup --json --stdin --stdin-filename dump.sql --tag stepops --tag "run-$STEPOPS_RUN_ID" |
  grep '"message_type":"summary"')
snapshot=$(printf '%s\\n' "$summary" | sed -n 's/.*"snapshot_id":"\\([0-9a-f]*\\)".*/\\1/p')
test -n "$snapshot"
printf 'restic-snapshot=%s\\nrepository=%s\\n' "$snapshot" "$RESTIC_REPOSITORY" > "$STEPOPS_DUMP_FILE"
restic forget --quiet --tag stepops --keep-within 30d --prune
echo "restic snapshot $snapshot"`;

/**
 * Restores the manifest's restic snapshot into scratch and loads it into a scratch database (as
 * `postgres` when the zmanim role may not create databases: see scratchDatabase).
 */
const resticRestoreTest = `${resticRepository}
${scratchDatabase}
snapshot=$(sed -n 's/^restic-snapshot=//p' "$STEPOPS_RESTORE_FILE")
test -n "$snapshot"
restic restore "$snapshot" --target "$STEPOPS_SCRATCH_DIR"
scratch="stepops_rt_$(printf '%s' "$STEPOPS_RUN_ID" | tr -c 'a-zA-Z0-9' '_' | cut -c 1-40)"
echo "$scratch" > "$STEPOPS_SCRATCH_DIR/database"
trap 'status=$?; if [ "$status" -ne 0 ]; then drop_scratch; fi' EXIT
create_scratch
psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname "$scratch" -f "$STEPOPS_SCRATCH_DIR/dump.sql" > /dev/null`;

/** The scratch database has the API's tables; it is dropped afterwards. */
const resticRestoreCheck = `${resticRepository}
${scratchDatabase}
scratch=$(cat "$STEPOPS_SCRATCH_DIR/database")
trap drop_scratch EXIT
tables=$(psql --no-psqlrc --tuples-only --no-align --dbname "$scratch" -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
echo "public tables: $tables"
test "$tables" -gt 0`;

export default defineTarget({
  name: 'zmanim',
  description: 'Shtetl Zmanim Go API with PostgreSQL and Redis on Amazon Linux 2023 ARM (m7g.medium)',
  hosts: {
    type: 'ec2',
    region: 'eu-west-1',
    tags: { 'stepops:target': 'zmanim' },
    user: 'ec2-user',
    workingDirectory: '/opt/zmanim',
    // Go is installed under /usr/local/go (as its operations document builds with `go build`), which
    // is on no default PATH: neither SSM's nor sudo's secure_path.
    path: ['/usr/local/go/bin'],
  },
  deploy: {
    // On every host before any changes: a mistyped ref fails here, not at a half-done checkout.
    verify: [{ name: 'ref-exists', script: verifyRef, timeout: 120 }],
    steps: [
      { name: 'checkout', script: checkoutRef, timeout: 120 },
      { name: 'build-api', script: build, timeout: 900 },
      { name: 'restart-api', script: restartApi, timeout: 120 },
    ],
    rollback: [
      { name: 'previous-binary', script: rollbackBinary, timeout: 900 },
      { name: 'restart-api', script: restartApi, timeout: 120 },
    ],
    batches: { size: 1, maxErrors: 0 },
    snapshotBeforeDeploy: { ebs: true },
    healthGate: { probes: ['api-health', 'api-local'], timeout: 300, interval: 5, successes: 2 },
  },
  health: {
    schedule: 'rate(1 minute)',
    failureThreshold: 3,
    successThreshold: 1,
    probes: [
      {
        name: 'api-health',
        type: 'http',
        method: 'GET',
        url: 'https://zmanim.shtetl.io/backend/api/v1/health',
        expectStatus: [200],
        bodyContains: 'healthy',
        timeout: 10,
      },
      { name: 'tls-certificate', runbook: false, type: 'tls', host: 'zmanim.shtetl.io', minDaysLeft: 21 },
      { name: 'api-local', type: 'http', from: 'host', url: 'http://127.0.0.1:8080/health', timeout: 5 },
      {
        name: 'services',
        type: 'command',
        script: `for unit in zmanim-api postgresql redis; do
  if ! systemctl is-active --quiet "$unit"; then
    echo "$unit is not active" >&2
    exit 1
  fi
done
echo "zmanim-api, postgresql and redis active"`,
        timeout: 15,
      },
      {
        name: 'data-disk',
        runbook: false,
        type: 'command',
        script: `mountpoint -q /data
${diskUsageBelow('/data', 85)}`,
        timeout: 15,
      },
      { name: 'instance-status', runbook: false, type: 'ec2-status' },
      { name: 'ssm-agent', runbook: false, type: 'ssm-agent' },
    ],
    onFailure: { runbook: 'restart-api' },
  },
  backup: [
    {
      // Restic keeps the data (encrypted, deduplicated) in its repository; the object stepops
      // writes at $STEPOPS_DUMP_URI is a manifest naming the restic snapshot of this run.
      name: 'database',
      type: 'dump',
      script: resticBackup,
      timeout: 3600,
      bucket: unfilled("S3 bucket of zmanim's backups and restic repository"),
      prefix: 'stepops',
      // Read on the host from SSM SecureString just before the script; never in the command.
      secrets: {
        RESTIC_PASSWORD: '/zmanim/prod/restic-password',
        PGPASSWORD: '/zmanim/prod/postgres-password',
      },
      awsCli: true,
      schedule: 'cron(0 1 * * ? *)',
      retention: { days: 30, count: 7 },
      rpoHours: 24,
      // Weekly: restic restore into scratch, load into a scratch database, count the tables.
      restoreTest: {
        schedule: 'cron(0 3 ? * SUN *)',
        script: resticRestoreTest,
        check: resticRestoreCheck,
        timeout: 3600,
      },
    },
    {
      name: 'volumes',
      type: 'ebs-snapshot',
      schedule: 'cron(30 1 * * ? *)',
      retention: { days: 7 },
      rpoHours: 26,
    },
  ],
  recovery: {
    'restart-api': {
      description: 'API not responding: restart the zmanim-api service (systemctl restart zmanim-api).',
      steps: [{ type: 'restart', name: 'restart-api', manager: 'systemd', services: ['zmanim-api'] }],
      verify: ['api-local', 'api-health'],
    },
    'database-corruption': {
      description:
        'Database corruption: stop the API, restic restore the newest dump to /tmp/restore, psql -f /tmp/restore/dump.sql, start the API. RPO 24 h.',
      steps: [
        { type: 'script', name: 'stop-api', script: 'sudo systemctl stop zmanim-api', timeout: 60 },
        {
          type: 'restore-dump',
          name: 'restic-restore',
          backup: 'database',
          // stepops downloads the manifest to $STEPOPS_RESTORE_FILE first (curl).
          script: `${resticEnv}
snapshot=$(sed -n 's/^restic-snapshot=//p' "$STEPOPS_RESTORE_FILE")
if [ -z "$snapshot" ]; then
  echo "no restic snapshot named in $STEPOPS_DUMP_URI" >&2
  exit 1
fi
rm -rf /tmp/restore
restic restore "$snapshot" --target /tmp/restore
psql --set ON_ERROR_STOP=1 --single-transaction -f /tmp/restore/dump.sql
rm -rf /tmp/restore`,
          timeout: 3600,
        },
        { type: 'script', name: 'start-api', script: 'sudo systemctl start zmanim-api', timeout: 60 },
      ],
      verify: ['api-local', 'api-health'],
    },
    'redis-failure': {
      description:
        'Redis down or its cache stale: restart Redis (systemctl restart redis), flush its cache (redis-cli FLUSHDB, as the document allows "if needed") when flush=true, then restart the API.',
      steps: [
        { type: 'restart', name: 'restart-redis', manager: 'systemd', services: ['redis'] },
        {
          type: 'script',
          name: 'flush-cache',
          script: `if [ "$STEPOPS_PARAM_FLUSH" = true ]; then
  REDISCLI_AUTH=$(aws ssm get-parameter --name /zmanim/prod/redis-password --with-decryption --query Parameter.Value --output text)
  export REDISCLI_AUTH
  redis-cli FLUSHDB
else
  echo "cache kept (flush=false)"
fi`,
          timeout: 60,
        },
        { type: 'restart', name: 'restart-api', manager: 'systemd', services: ['zmanim-api'] },
      ],
      verify: ['services', 'api-local', 'api-health'],
      params: {
        flush: {
          type: 'boolean',
          description: 'also empty the Redis cache (redis-cli FLUSHDB)',
          default: false,
        },
      },
    },
    'postgresql-failure': {
      description:
        'PostgreSQL down: restart it (systemctl restart postgresql), then the API; data damage is "database-corruption".',
      steps: [
        { type: 'restart', name: 'restart-postgresql', manager: 'systemd', services: ['postgresql'] },
        { type: 'restart', name: 'restart-api', manager: 'systemd', services: ['zmanim-api'] },
      ],
      verify: ['services', 'api-local'],
    },
    'instance-failure': {
      description:
        'EC2 failure: launch a new instance from the newest AMI, move the /data EBS volume to it, associate the Elastic IP with it, verify the services. RTO 1 h.',
      steps: [
        {
          type: 'replace-instance',
          name: 'replace-instance',
          dataVolumeDevice: unfilled("device name of zmanim's /data EBS volume (e.g. /dev/sdf)"),
          elasticIpAllocationId: unfilled("Elastic IP allocation id of zmanim's instance"),
        },
        {
          type: 'script',
          name: 'start-services',
          script: `mountpoint -q /data || sudo mount /data
sudo systemctl start postgresql redis zmanim-api`,
          timeout: 300,
        },
      ],
      verify: ['services', 'data-disk', 'api-local', 'api-health'],
    },
  },
  // No maintenance job: the document updates the OS by building a new AMI with Packer (a v*-ami tag
  // pushed runs build-prod-ami.yml), not in place; the instance-failure runbook launches from the
  // newest image. TLS ends at CloudFront, not on the host: no certificate to renew there.
  alerts: { slackWebhookParameter: '/zmanim/prod/slack-webhook' },
});
