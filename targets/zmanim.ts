/**
 * Shtetl Zmanim backend: a Go API (systemd `zmanim-api`, :8080) built from `/opt/zmanim/api` into
 * `/opt/zmanim/bin/api`, PostgreSQL and Redis on the same Amazon Linux 2023 ARM m7g.medium in
 * eu-west-1, data on the EBS volume mounted at `/data`, secrets in SSM `/zmanim/prod/*`.
 * Served as https://zmanim.shtetl.io/backend/* through CloudFront and API Gateway.
 *
 * Source: its operations document. RTO 1 hour, RPO 24 hours. The document names no instance,
 * volume, Elastic IP or bucket ids: the instance is selected by tags, the volume by its device; the
 * bucket and the Elastic IP are marked `unfilled(…)` and must be filled in before a stage deploys
 * this target.
 */
import { defineTarget, unfilled } from '../shared/config/schema.ts';
import { checkoutPrevious, checkoutRef, diskUsageBelow, verifyRef } from '../shared/recipes/scripts.ts';

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
 * Restic's repository (in the bucket of the dump job, from `$STEPOPS_DUMP_URI`) and password; the
 * password comes from SSM at run time, never from the file.
 */
const resticEnv = `export AWS_DEFAULT_REGION=eu-west-1
bucket=\${STEPOPS_DUMP_URI#s3://}
export RESTIC_REPOSITORY="s3:s3.eu-west-1.amazonaws.com/\${bucket%%/*}/restic"
RESTIC_PASSWORD=$(aws ssm get-parameter --name /zmanim/prod/restic-password --with-decryption --query Parameter.Value --output text)
export RESTIC_PASSWORD
PGPASSWORD=$(aws ssm get-parameter --name /zmanim/prod/postgres-password --with-decryption --query Parameter.Value --output text)
export PGPASSWORD PGHOST=localhost PGUSER=zmanim PGDATABASE=zmanim`;

/** Where restic keeps the data; the password and the database password come as declared secrets. */
const resticRepository = `export AWS_DEFAULT_REGION=eu-west-1
bucket=\${STEPOPS_DUMP_URI#s3://}
export RESTIC_REPOSITORY="s3:s3.eu-west-1.amazonaws.com/\${bucket%%/*}/restic"
export PGHOST=localhost PGUSER=zmanim PGDATABASE=zmanim`;

/**
 * pg_dump into restic (encrypted, deduplicated); the object stepops stores is a manifest naming the
 * restic snapshot of this run.
 */
const resticBackup = `${resticRepository}
restic cat config > /dev/null 2>&1 || restic init
summary=$(pg_dump --clean --if-exists --no-owner |
  restic backup --json --stdin --stdin-filename dump.sql --tag stepops --tag "run-$STEPOPS_RUN_ID" |
  grep '"message_type":"summary"')
snapshot=$(printf '%s\\n' "$summary" | sed -n 's/.*"snapshot_id":"\\([0-9a-f]*\\)".*/\\1/p')
test -n "$snapshot"
printf 'restic-snapshot=%s\\nrepository=%s\\n' "$snapshot" "$RESTIC_REPOSITORY" > "$STEPOPS_DUMP_FILE"
restic forget --quiet --tag stepops --keep-within 30d --prune
echo "restic snapshot $snapshot"`;

/** Restores the manifest's restic snapshot into scratch and loads it into a scratch database. */
const resticRestoreTest = `${resticRepository}
snapshot=$(sed -n 's/^restic-snapshot=//p' "$STEPOPS_RESTORE_FILE")
test -n "$snapshot"
restic restore "$snapshot" --target "$STEPOPS_SCRATCH_DIR"
scratch="stepops_rt_$(date +%s)"
echo "$scratch" > "$STEPOPS_SCRATCH_DIR/database"
createdb "$scratch"
psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname "$scratch" -f "$STEPOPS_SCRATCH_DIR/dump.sql" > /dev/null`;

/** The scratch database has the API's tables; it is dropped afterwards. */
const resticRestoreCheck = `${resticRepository}
scratch=$(cat "$STEPOPS_SCRATCH_DIR/database")
trap 'dropdb --if-exists "$scratch"' EXIT
tables=$(psql --no-psqlrc --tuples-only --no-align --dbname "$scratch" -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
echo "public tables: $tables"
test "$tables" -gt 0`;

export default defineTarget({
  name: 'zmanim',
  description: 'Shtetl Zmanim Go API with PostgreSQL and Redis on Amazon Linux 2023 ARM (m7g.medium)',
  hosts: {
    type: 'ec2',
    region: 'eu-west-1',
    tags: { App: 'zmanim', Env: 'prod' },
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
          script: `${resticEnv}
snapshot=$(aws s3 cp --only-show-errors "$STEPOPS_DUMP_URI" - | sed -n 's/^restic-snapshot=//p')
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
    'instance-failure': {
      description:
        'EC2 failure: launch a new instance from the newest AMI, move the /data EBS volume to it, associate the Elastic IP with it, verify the services. RTO 1 h.',
      steps: [
        {
          type: 'replace-instance',
          name: 'replace-instance',
          dataVolumeDevice: '/dev/sdf',
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
  alerts: { slackWebhookParameter: '/zmanim/prod/slack-webhook' },
});
