/**
 * Shtetl Zmanim backend: a Go API (systemd `zmanim-api`, :8080) built from `/opt/zmanim/api` into
 * `/opt/zmanim/bin/api`, PostgreSQL and Redis on the same Amazon Linux 2023 ARM m7g.medium in
 * eu-west-1, data on the EBS volume mounted at `/data`, secrets in SSM `/zmanim/prod/*`.
 * Served as https://zmanim.shtetl.io/backend/* through CloudFront and API Gateway.
 *
 * Source: its operations document. RTO 1 hour, RPO 24 hours. The document names no instance,
 * volume, Elastic IP or bucket ids: the instance is selected by tags, the rest are placeholders.
 */
import { defineTarget } from '../shared/config/schema.ts';
import { checkoutRef, diskUsageBelow } from '../shared/recipes/scripts.ts';

/** Keeps the running binary so a rollback does not have to rebuild it. */
const build = `mkdir -p bin
if [ -x bin/api ]; then
  cp --preserve=mode bin/api bin/api.stepops-previous
fi
cd api
go build -o ../bin/api ./cmd/api`;

const restartApi = `sudo systemctl restart zmanim-api
sudo systemctl is-active --quiet zmanim-api`;

const rollbackBinary = `if [ ! -s .stepops-previous ]; then
  echo "no .stepops-previous: nothing recorded to return to" >&2
  exit 1
fi
previous=$(cat .stepops-previous)
git checkout --force --detach "$previous"
if [ -x bin/api.stepops-previous ]; then
  mv bin/api.stepops-previous bin/api
else
  (cd api && go build -o ../bin/api ./cmd/api)
fi
echo "returned to $previous"`;

/** Restic's repository and password; the password comes from SSM at run time, never from the file. */
const resticEnv = `export AWS_DEFAULT_REGION=eu-west-1
export RESTIC_REPOSITORY=s3:s3.eu-west-1.amazonaws.com/zmanim-prod-backups/restic
RESTIC_PASSWORD=$(aws ssm get-parameter --name /zmanim/prod/restic-password --with-decryption --query Parameter.Value --output text)
export RESTIC_PASSWORD
PGPASSWORD=$(aws ssm get-parameter --name /zmanim/prod/postgres-password --with-decryption --query Parameter.Value --output text)
export PGPASSWORD PGHOST=localhost PGUSER=zmanim PGDATABASE=zmanim`;

export default defineTarget({
  name: 'zmanim',
  description: 'Shtetl Zmanim Go API with PostgreSQL and Redis on Amazon Linux 2023 ARM (m7g.medium)',
  hosts: {
    type: 'ec2',
    region: 'eu-west-1',
    tags: { App: 'zmanim', Env: 'prod' },
    user: 'ec2-user',
    workingDirectory: '/opt/zmanim',
  },
  deploy: {
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
      { name: 'tls-certificate', type: 'tls', host: 'zmanim.shtetl.io', minDaysLeft: 21 },
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
        type: 'command',
        script: `mountpoint -q /data
${diskUsageBelow('/data', 85)}`,
        timeout: 15,
      },
      { name: 'instance-status', type: 'ec2-status' },
      { name: 'ssm-agent', type: 'ssm-agent' },
    ],
    onFailure: { runbook: 'restart-api' },
  },
  backup: [
    {
      // Restic keeps the data (encrypted, deduplicated) in its repository; the object stepops
      // writes at $STEPOPS_DUMP_URI is a manifest naming the restic snapshot of this run.
      name: 'database',
      type: 'dump',
      script: `${resticEnv}
restic cat config > /dev/null 2>&1 || restic init
summary=$(pg_dump --clean --if-exists --no-owner |
  restic backup --json --stdin --stdin-filename dump.sql --tag stepops --tag "run-$STEPOPS_RUN_ID" |
  grep '"message_type":"summary"')
snapshot=$(printf '%s\\n' "$summary" | sed -n 's/.*"snapshot_id":"\\([0-9a-f]*\\)".*/\\1/p')
test -n "$snapshot"
printf 'restic-snapshot=%s\\nrepository=%s\\n' "$snapshot" "$RESTIC_REPOSITORY" |
  aws s3 cp --only-show-errors - "$STEPOPS_DUMP_URI"
restic forget --quiet --tag stepops --keep-within 30d --prune
echo "restic snapshot $snapshot recorded at $STEPOPS_DUMP_URI"`,
      timeout: 3600,
      bucket: 'zmanim-prod-backups',
      prefix: 'stepops',
      schedule: 'cron(0 1 * * ? *)',
      retention: { days: 30, count: 7 },
    },
    {
      name: 'volumes',
      type: 'ebs-snapshot',
      schedule: 'cron(30 1 * * ? *)',
      retention: { days: 7 },
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
          elasticIpAllocationId: 'eipalloc-0a1b2c3d4e5f60718',
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
