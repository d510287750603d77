/**
 * Datizmo: NestJS backend (PM2 `backend`, :3001) and Next.js frontend (PM2 `frontend`, :3000) under
 * `/home/ubuntu/formatic-unified` on one Ubuntu 22.04 t3.small in us-east-1, behind Nginx with a
 * Let's Encrypt certificate for datizmo.com; RDS PostgreSQL 14; uploads in S3 (`datizmo-uploads`).
 *
 * Source: its operations document. The document names no instance or database ids, no
 * repository and not the build commands `server-deployment.sh` runs: the database identifier, the
 * backup bucket, the Elastic IP, the GitHub repository and the two build commands are marked
 * `unfilled(…)` and must be filled in before a stage deploys this target; the instance is the one
 * tagged `stepops:target` = `datizmo`, as stepops' preparation asks.
 */
import { defineTarget, unfilled } from '../shared/config/schema.ts';
import {
  checkoutLastReplaced,
  checkoutPrevious,
  checkoutRef,
  diskUsageBelow,
  revertAgreement,
  verifyRef,
} from '../shared/recipes/scripts.ts';

// The document says server-deployment.sh "builds and deploys both backend and frontend", not how.
const buildBackend = `cd backend
${unfilled("datizmo's backend build commands, run in backend/ (what server-deployment.sh runs there)")}`;

const migrate = `cd backend
# Prisma reads DATABASE_URL from the environment; the app keeps it in the shared .env.
set -a
# shellcheck source=/dev/null
. ../.env
set +a
npx prisma migrate deploy`;

const buildFrontend = `cd frontend
${unfilled("datizmo's frontend build commands, run in frontend/ (what server-deployment.sh runs there)")}`;

const restartApps = `pm2 restart backend frontend --update-env
pm2 save`;

const reloadNginx = `sudo nginx -t
sudo systemctl reload nginx`;

/** Not in the operations document (it names only the uploads bucket, datizmo-uploads). */
const database = unfilled("RDS instance id of datizmo's PostgreSQL 14 database");
const backupBucket = unfilled("S3 bucket for datizmo's .env backups");
const elasticIp = unfilled("Elastic IP allocation id of datizmo's instance");

export default defineTarget({
  name: 'datizmo',
  description: 'Datizmo: NestJS + Next.js under PM2 behind Nginx on Ubuntu EC2, RDS PostgreSQL 14',
  // Its GitHub Actions workflow deploys on a push to main.
  repository: unfilled('GitHub repository (owner/name) of datizmo, whose pushes to main deploy it'),
  hosts: {
    type: 'ec2',
    region: 'us-east-1',
    tags: { 'stepops:target': 'datizmo' },
    user: 'ubuntu',
    workingDirectory: '/home/ubuntu/formatic-unified',
  },
  deploy: {
    // On every host before any changes: a mistyped ref fails here, not at a half-done checkout.
    verify: [{ name: 'ref-exists', script: verifyRef, timeout: 120 }],
    steps: [
      { name: 'checkout', script: checkoutRef, timeout: 120 },
      { name: 'build-backend', script: buildBackend, timeout: 900 },
      // One RDS database for every host: the migration runs once, on the first host of the first batch.
      { name: 'migrate-database', script: migrate, timeout: 600, runOnce: true },
      { name: 'build-frontend', script: buildFrontend, timeout: 1200 },
      { name: 'restart-apps', script: restartApps, timeout: 120 },
      { name: 'reload-nginx', script: reloadNginx, timeout: 60 },
    ],
    // Prisma migrations have no down step: the RDS snapshot taken before the deploy is the way
    // back for the schema (runbook "restore-database"); the rollback returns the code.
    rollback: [
      { name: 'checkout-previous', script: checkoutPrevious, timeout: 60 },
      { name: 'build-backend', script: buildBackend, timeout: 900 },
      { name: 'build-frontend', script: buildFrontend, timeout: 1200 },
      { name: 'restart-apps', script: restartApps, timeout: 120 },
      { name: 'reload-nginx', script: reloadNginx, timeout: 60 },
    ],
    batches: { size: 1, maxErrors: 0 },
    snapshotBeforeDeploy: { ebs: false, rdsInstance: database },
    healthGate: { probes: ['backend', 'frontend', 'pm2-processes'], timeout: 300, interval: 5, successes: 2 },
  },
  health: {
    schedule: 'rate(5 minutes)',
    failureThreshold: 2,
    successThreshold: 1,
    probes: [
      { name: 'site', type: 'http', url: 'https://datizmo.com/', expectStatus: [200], maxLatencyMs: 3000 },
      { name: 'tls-certificate', runbook: false, type: 'tls', host: 'datizmo.com', minDaysLeft: 14 },
      // The NestJS backend has no documented health route: any answer below 500 means it serves.
      {
        name: 'backend',
        type: 'http',
        from: 'host',
        url: 'http://127.0.0.1:3001/',
        expectStatus: [200, 301, 302, 401, 403, 404],
        timeout: 5,
      },
      { name: 'frontend', type: 'http', from: 'host', url: 'http://127.0.0.1:3000/', timeout: 10 },
      {
        name: 'pm2-processes',
        type: 'command',
        script: `for app in backend frontend; do
  pid=$(pm2 pid "$app")
  if [ -z "$pid" ] || [ "$pid" = 0 ]; then
    echo "pm2 process $app is not running" >&2
    exit 1
  fi
done
echo "backend and frontend online"`,
        timeout: 30,
      },
      {
        name: 'nginx',
        type: 'command',
        script: `systemctl is-active --quiet nginx
sudo nginx -t -q`,
        timeout: 15,
      },
      {
        name: 'disk',
        runbook: false,
        type: 'command',
        script: diskUsageBelow('/', 90),
        timeout: 15,
      },
      { name: 'instance-status', runbook: false, type: 'ec2-status' },
      { name: 'ssm-agent', runbook: false, type: 'ssm-agent' },
    ],
    onFailure: { runbook: 'restart-apps' },
  },
  backup: [
    {
      name: 'database',
      type: 'rds-snapshot',
      dbInstance: database,
      region: 'us-east-1',
      schedule: 'cron(0 3 * * ? *)',
      retention: { days: 7 },
      rpoHours: 26,
      // Weekly: restore the newest snapshot to a temporary instance, wait until available, delete it.
      restoreTest: { schedule: 'cron(0 6 ? * SUN *)', instanceClass: 'db.t4g.micro', timeout: 3600 },
    },
    {
      name: 'server-volume',
      type: 'ebs-snapshot',
      schedule: 'cron(30 3 * * ? *)',
      retention: { days: 7 },
      rpoHours: 26,
    },
    {
      name: 'env-file',
      type: 'dump',
      script: `test -s .env
cp .env "$STEPOPS_DUMP_FILE"
echo "copied .env ($(wc -l < .env) lines)"`,
      timeout: 120,
      bucket: backupBucket,
      prefix: 'stepops',
      schedule: 'cron(0 4 * * ? *)',
      retention: { days: 30, count: 5 },
      // Monthly: the copy still holds the variables the backend cannot start without.
      restoreTest: {
        schedule: 'cron(0 7 1 * ? *)',
        script: 'cp "$STEPOPS_RESTORE_FILE" "$STEPOPS_SCRATCH_DIR/.env"',
        check: 'grep -q "^DATABASE_URL=" "$STEPOPS_SCRATCH_DIR/.env"',
        timeout: 60,
      },
    },
  ],
  recovery: {
    'restart-apps': {
      description:
        'Application not reachable: restart every PM2 process (pm2 restart all), then check Nginx is serving.',
      steps: [
        { type: 'restart', name: 'pm2-restart-all', manager: 'pm2', services: ['all'] },
        { type: 'script', name: 'check-nginx', script: reloadNginx, timeout: 60 },
      ],
    },
    'revert-to-last-good': {
      description:
        'A bad release is live: check out the commit deployed before the current one (.stepops-previous), rebuild backend and frontend, restart them under PM2.',
      steps: [
        {
          type: 'script',
          name: 'checkout-previous',
          script: checkoutLastReplaced,
          timeout: 60,
          agree: revertAgreement,
        },
        { type: 'script', name: 'build-backend', script: buildBackend, timeout: 900 },
        { type: 'script', name: 'build-frontend', script: buildFrontend, timeout: 1200 },
        { type: 'restart', name: 'restart-apps', manager: 'pm2', services: ['backend', 'frontend'] },
      ],
      verify: ['site', 'backend', 'frontend', 'pm2-processes'],
    },
    'restore-database': {
      description:
        'Database damaged or a migration went wrong: restore the RDS instance from its newest snapshot (the one taken before the last deploy or the daily one), run the migrations of the deployed code, restart the backend.',
      steps: [
        {
          type: 'restore-rds',
          name: 'restore-rds',
          dbInstance: database,
          snapshot: 'latest',
          snapshotParam: 'snapshot',
          swapNames: true,
        },
        { type: 'script', name: 'migrate-database', script: migrate, timeout: 600 },
        { type: 'restart', name: 'restart-backend', manager: 'pm2', services: ['backend'] },
      ],
      verify: ['site', 'backend'],
      params: {
        snapshot: {
          type: 'string',
          description:
            'a stepops DB snapshot to restore instead of the newest (e.g. "stepops-datizmo-20260301-020304")',
          default: '',
        },
      },
    },
    'rebuild-server': {
      description:
        'Instance lost: launch a replacement from the newest image, move the Elastic IP to it (no DNS change), restore the .env file from its backup, restart the apps.',
      steps: [
        {
          type: 'replace-instance',
          name: 'replace-instance',
          elasticIpAllocationId: elasticIp,
        },
        {
          type: 'restore-dump',
          name: 'restore-env-file',
          backup: 'env-file',
          // stepops downloads the dump to $STEPOPS_RESTORE_FILE first (curl: no AWS CLI on the host).
          script: `cp "$STEPOPS_RESTORE_FILE" .env.restored
chmod 600 .env.restored
mv .env.restored .env`,
          timeout: 120,
        },
        { type: 'restart', name: 'restart-apps', manager: 'pm2', services: ['all'] },
        { type: 'script', name: 'reload-nginx', script: reloadNginx, timeout: 60 },
      ],
    },
  },
  // The document: Let's Encrypt with auto-renewal, and "regular security updates applied".
  maintenance: {
    certificates: {
      description:
        "Renew the Let's Encrypt certificate of datizmo.com (certbot renew); reload Nginx only when it was renewed, then check the TLS probe.",
      schedule: 'cron(15 4 * * ? *)',
      steps: [{ type: 'certbot-renew', name: 'certbot-renew', reload: 'nginx' }],
      healthGate: ['tls-certificate', 'site', 'nginx'],
      mute: ['site', 'nginx'],
    },
    'security-updates': {
      description:
        'Apply Ubuntu security updates (unattended-upgrade); reboot only if /var/run/reboot-required, one host at a time, then the health gate.',
      schedule: 'cron(0 5 ? * SUN *)',
      timezone: 'America/New_York',
      steps: [{ type: 'os-updates', name: 'security-updates', manager: 'apt' }],
      healthGate: ['site', 'backend', 'frontend', 'pm2-processes', 'nginx'],
      mute: [
        'site',
        'tls-certificate',
        'backend',
        'frontend',
        'pm2-processes',
        'nginx',
        'instance-status',
        'ssm-agent',
      ],
    },
  },
  alerts: { slackWebhookParameter: '/stepops/datizmo/slack-webhook' },
});
