/**
 * DocsAI: Django served by Gunicorn (systemd `gunicorn.service` + `gunicorn.socket`,
 * `unix:/run/gunicorn.sock`) behind Nginx with Let's Encrypt, in `/home/ubuntu/docsai` with its
 * virtualenv `venv/` and `.env.prod`, on an Ubuntu EC2 instance; PostgreSQL `docsai` on the host
 * or on RDS (`DATABASE_HOST` in `.env.prod`).
 *
 * Source: its operations document. The document names neither domain nor health route: the
 * domain is marked `unfilled(…)` (as is the backup bucket), and the probes ask for `/`, where any
 * answer from Django below 500 means it serves; the region is the one of its S3 settings
 * (us-east-1); the GitHub repository (its workflow deploys on a push to main) is marked
 * `unfilled(…)`; the instance is the one tagged `stepops:target` = `docsai`, as stepops'
 * preparation asks.
 */
import { defineTarget, unfilled } from '../shared/config/schema.ts';
import {
  checkoutLastReplaced,
  checkoutPrevious,
  checkoutRef,
  diskUsageBelow,
  revertAgreement,
  scratchDatabase,
  verifyRef,
} from '../shared/recipes/scripts.ts';

/** The "update deployment" of remote-deploy.sh: venv, requirements, migrate, collectstatic. */
const manage = 'DJANGO_SETTINGS_MODULE=config.settings.production venv/bin/python manage.py';
const installRequirements = `test -x venv/bin/python || python3 -m venv venv
venv/bin/pip install --quiet --upgrade pip
venv/bin/pip install --quiet -r requirements.txt`;
const migrate = `${manage} migrate --noinput`;
const collectStatic = `${manage} collectstatic --noinput`;
const checkDjango = `${manage} check --deploy --fail-level ERROR`;
const restartGunicorn = `sudo systemctl restart gunicorn
sudo systemctl is-active --quiet gunicorn`;

/** Reads the database settings from `.env.prod` into PG* variables for pg_dump / psql. */
const databaseEnv = `setting() { grep -E "^$1=" .env.prod | tail -n 1 | cut -d= -f2- | sed -e "s/^[\\"']//" -e "s/[\\"']\\$//"; }
PGDATABASE=$(setting DATABASE_NAME)
PGUSER=$(setting DATABASE_USER)
PGPASSWORD=$(setting DATABASE_PASSWORD)
PGHOST=$(setting DATABASE_HOST)
PGPORT=$(setting DATABASE_PORT)
export PGDATABASE PGUSER PGPASSWORD PGHOST="\${PGHOST:-localhost}" PGPORT="\${PGPORT:-5432}"`;

/** Not in the operations document. */
const domain = unfilled("docsai's public domain");
const backupBucket = unfilled("S3 bucket for docsai's database dumps");

/** Django's answers that show it serves (400: a Host not in ALLOWED_HOSTS); Nginx says 502 when Gunicorn is down. */
const djangoServes = [200, 301, 302, 400, 401, 403, 404];

export default defineTarget({
  name: 'docsai',
  description: 'DocsAI: Django + Gunicorn (systemd) behind Nginx on Ubuntu EC2, PostgreSQL local or RDS',
  // Its GitHub Actions workflow deploys on a push to main.
  repository: unfilled('GitHub repository (owner/name) of docsai, whose pushes to main deploy it'),
  hosts: {
    type: 'ec2',
    region: 'us-east-1',
    tags: { 'stepops:target': 'docsai' },
    user: 'ubuntu',
    workingDirectory: '/home/ubuntu/docsai',
  },
  deploy: {
    // On every host before any changes: a mistyped ref fails here, not at a half-done checkout.
    verify: [{ name: 'ref-exists', script: verifyRef, timeout: 120 }],
    steps: [
      { name: 'checkout', script: checkoutRef, timeout: 120 },
      { name: 'install-requirements', script: installRequirements, timeout: 900 },
      { name: 'check', script: checkDjango, timeout: 120 },
      // Not run-once: with PostgreSQL on the host (the documented default), each host has its own database.
      { name: 'migrate', script: migrate, timeout: 600 },
      { name: 'collectstatic', script: collectStatic, timeout: 300 },
      { name: 'restart-gunicorn', script: restartGunicorn, timeout: 120 },
    ],
    // Django migrations are not reversed automatically (a data migration may not be reversible):
    // the daily dump and runbook "restore-database" are the way back for the schema.
    rollback: [
      { name: 'checkout-previous', script: checkoutPrevious, timeout: 60 },
      { name: 'install-requirements', script: installRequirements, timeout: 900 },
      { name: 'collectstatic', script: collectStatic, timeout: 300 },
      { name: 'restart-gunicorn', script: restartGunicorn, timeout: 120 },
    ],
    batches: { size: 1, maxErrors: 0 },
    snapshotBeforeDeploy: { ebs: true },
    healthGate: { probes: ['app', 'gunicorn', 'gunicorn-socket'], timeout: 300, interval: 5, successes: 2 },
  },
  health: {
    schedule: 'rate(5 minutes)',
    failureThreshold: 2,
    successThreshold: 1,
    probes: [
      {
        name: 'site',
        type: 'http',
        url: `https://${domain}/`,
        expectStatus: djangoServes,
        maxLatencyMs: 3000,
      },
      { name: 'tls-certificate', runbook: false, type: 'tls', host: domain, minDaysLeft: 14 },
      // Through Nginx on the host, as the document's verification step does.
      {
        name: 'app',
        type: 'http',
        from: 'host',
        url: 'http://127.0.0.1/',
        expectStatus: djangoServes,
        timeout: 10,
      },
      {
        name: 'gunicorn',
        type: 'command',
        script: 'systemctl is-active gunicorn.service',
        outputMatches: '\\bactive\\s*$',
        timeout: 15,
      },
      {
        name: 'gunicorn-socket',
        type: 'command',
        script: `systemctl is-active --quiet gunicorn.socket
test -S /run/gunicorn.sock
echo "/run/gunicorn.sock present"`,
        timeout: 15,
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
    onFailure: { runbook: 'restart-services' },
  },
  backup: [
    {
      name: 'database',
      type: 'dump',
      script: `${databaseEnv}
pg_dump --format=custom --no-owner --no-privileges --file "$STEPOPS_DUMP_FILE"
echo "pg_dump of $PGDATABASE: $(wc -c < "$STEPOPS_DUMP_FILE") bytes"`,
      timeout: 1800,
      bucket: backupBucket,
      prefix: 'dumps',
      schedule: 'cron(0 2 * * ? *)',
      retention: { days: 14, count: 3, weekly: 4 },
      rpoHours: 24,
      // Weekly: restore into a scratch database beside the real one, check Django's migrations are
      // there. The document's docsai_user need not have CREATEDB: see scratchDatabase.
      restoreTest: {
        schedule: 'cron(0 5 ? * SUN *)',
        script: `${databaseEnv}
${scratchDatabase}
scratch="stepops_rt_$(printf '%s' "$STEPOPS_RUN_ID" | tr -c 'a-zA-Z0-9' '_' | cut -c 1-40)"
echo "$scratch" > "$STEPOPS_SCRATCH_DIR/database"
trap 'status=$?; if [ "$status" -ne 0 ]; then drop_scratch; fi' EXIT
create_scratch
pg_restore --no-owner --no-privileges --exit-on-error --dbname "$scratch" "$STEPOPS_RESTORE_FILE"`,
        check: `${databaseEnv}
${scratchDatabase}
scratch=$(cat "$STEPOPS_SCRATCH_DIR/database")
trap drop_scratch EXIT
rows=$(psql --no-psqlrc --tuples-only --no-align --dbname "$scratch" -c 'SELECT count(*) FROM django_migrations')
echo "django_migrations: $rows rows"
test "$rows" -gt 0`,
        timeout: 1800,
      },
    },
    {
      name: 'server-volume',
      type: 'ebs-snapshot',
      schedule: 'cron(30 2 * * ? *)',
      retention: { days: 7 },
      rpoHours: 26,
    },
  ],
  recovery: {
    'restart-services': {
      description: '502 Bad Gateway or the site down: restart the Gunicorn socket and service, then Nginx.',
      steps: [
        {
          type: 'restart',
          name: 'restart-gunicorn',
          manager: 'systemd',
          services: ['gunicorn.socket', 'gunicorn.service'],
        },
        { type: 'restart', name: 'restart-nginx', manager: 'systemd', services: ['nginx'] },
      ],
      verify: ['app', 'gunicorn', 'gunicorn-socket', 'nginx'],
    },
    'restore-database': {
      description:
        'Database lost or corrupt: stop Gunicorn, restore the newest pg_dump from S3 (pg_restore --clean), start Gunicorn again.',
      steps: [
        {
          type: 'script',
          name: 'stop-gunicorn',
          script: 'sudo systemctl stop gunicorn.service gunicorn.socket',
          timeout: 60,
        },
        {
          type: 'restore-dump',
          name: 'pg-restore',
          backup: 'database',
          // stepops downloads the dump to $STEPOPS_RESTORE_FILE first (curl: no AWS CLI on the host).
          script: `${databaseEnv}
pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --dbname "$PGDATABASE" "$STEPOPS_RESTORE_FILE"`,
          timeout: 3600,
        },
        {
          type: 'script',
          name: 'start-gunicorn',
          script: 'sudo systemctl start gunicorn.socket gunicorn.service',
          timeout: 60,
        },
      ],
      verify: ['app', 'gunicorn'],
    },
    'revert-to-last-good': {
      description:
        'A bad release is live: check out the commit deployed before the current one (.stepops-previous), reinstall requirements, collect static files, restart Gunicorn.',
      steps: [
        {
          type: 'script',
          name: 'checkout-previous',
          script: checkoutLastReplaced,
          timeout: 60,
          agree: revertAgreement,
        },
        { type: 'script', name: 'install-requirements', script: installRequirements, timeout: 900 },
        { type: 'script', name: 'collectstatic', script: collectStatic, timeout: 300 },
        { type: 'restart', name: 'restart-gunicorn', manager: 'systemd', services: ['gunicorn.service'] },
      ],
      verify: ['app', 'gunicorn'],
    },
  },
  // The document: Certbot installed with auto-renewal ("sudo certbot renew --dry-run" to test it).
  maintenance: {
    certificates: {
      description:
        "Renew the Let's Encrypt certificate (certbot renew); reload Nginx only when it was renewed, then check the TLS probe.",
      schedule: 'cron(15 4 * * ? *)',
      steps: [{ type: 'certbot-renew', name: 'certbot-renew', reload: 'nginx' }],
      healthGate: ['tls-certificate', 'site', 'nginx'],
      mute: ['site', 'app', 'nginx'],
    },
  },
  alerts: { slackWebhookParameter: '/stepops/docsai/slack-webhook' },
});
