/**
 * AI chat: a Node/Express server (:3000) with MongoDB (`mongo:7`, container `mongo-db`, volume
 * `mongo_data`) and Qdrant (`qdrant/qdrant:v1.16.0`, :6333, container `qdrant-db`, volume
 * `qdrant_storage`) under Docker Compose (`docker-compose.yml` in `~/ai-chat-node-server`) on one
 * EC2 t3.medium (Ubuntu).
 *
 * Source: its operations document. RTO 30 minutes, RPO 24 hours. The document names no
 * region, bucket, repository, database name or instance ids: the region, the bucket
 * ("your-backup-bucket" in the document) and the GitHub repository are marked `unfilled(…)`; the
 * restore test checks every application database the dump holds (the document's `MONGO_URI` names
 * only "database_name"); the instance is the one tagged `stepops:target` = `ai-chat`, as stepops'
 * preparation asks.
 */
import { defineTarget, unfilled } from '../shared/config/schema.ts';
import { checkoutPrevious, checkoutRef, diskUsageBelow, verifyRef } from '../shared/recipes/scripts.ts';

// The documented sequence: pull, stop the containers, build, start. Volumes survive `down`.
const stopContainers = 'docker compose down';
const buildImages = 'docker compose build --pull';
const startContainers = `docker compose up -d
docker compose ps`;

/**
 * Counts the collections of every database but MongoDB's own (admin, config, local): the document
 * names the application's database only as "database_name".
 */
const appCollections =
  'db.adminCommand({ listDatabases: 1 }).databases.filter((d) => !["admin", "config", "local"].includes(d.name)).reduce((n, d) => n + db.getSiblingDB(d.name).getCollectionNames().length, 0)';

const backupBucket = unfilled(
  'S3 bucket for ai-chat\'s dumps ("your-backup-bucket" in its operations document)',
);

export default defineTarget({
  name: 'ai-chat',
  description: 'AI chat: Node/Express server with MongoDB and Qdrant under Docker Compose on EC2 t3.medium',
  // Its GitHub Actions workflow deploys on a push to main.
  repository: unfilled('GitHub repository (owner/name) of ai-chat, whose pushes to main deploy it'),
  hosts: {
    type: 'ec2',
    region: unfilled("AWS region of ai-chat's EC2 instance"),
    tags: { 'stepops:target': 'ai-chat' },
    user: 'ubuntu',
    workingDirectory: '/home/ubuntu/ai-chat-node-server',
  },
  deploy: {
    // On every host before any changes: a mistyped ref fails here, not at a half-done checkout.
    verify: [{ name: 'ref-exists', script: verifyRef, timeout: 120 }],
    steps: [
      { name: 'checkout', script: checkoutRef, timeout: 120 },
      // Build before stopping: the old containers keep serving while the image builds.
      { name: 'build-images', script: buildImages, timeout: 1200 },
      { name: 'stop-containers', script: stopContainers, timeout: 180 },
      { name: 'start-containers', script: startContainers, timeout: 300 },
    ],
    rollback: [
      { name: 'checkout-previous', script: checkoutPrevious, timeout: 60 },
      { name: 'build-images', script: buildImages, timeout: 1200 },
      { name: 'stop-containers', script: stopContainers, timeout: 180 },
      { name: 'start-containers', script: startContainers, timeout: 300 },
    ],
    batches: { size: 1, maxErrors: 0 },
    snapshotBeforeDeploy: { ebs: true },
    healthGate: { probes: ['server', 'mongodb', 'qdrant'], timeout: 300, interval: 5, successes: 2 },
  },
  health: {
    schedule: 'rate(5 minutes)',
    failureThreshold: 2,
    successThreshold: 1,
    probes: [
      // The Express server has no documented health route: any answer below 500 means it serves.
      {
        name: 'server',
        type: 'http',
        from: 'host',
        url: 'http://127.0.0.1:3000/',
        expectStatus: [200, 301, 302, 401, 403, 404],
        maxLatencyMs: 2000,
        timeout: 5,
      },
      {
        name: 'mongodb',
        type: 'command',
        script: 'docker exec mongo-db mongosh --quiet --eval "db.adminCommand({ ping: 1 }).ok"',
        outputMatches: '\\b1\\s*$',
        timeout: 30,
      },
      // Qdrant's health route is /healthz (the document's /health is not one of Qdrant's routes).
      {
        name: 'qdrant',
        type: 'http',
        from: 'host',
        url: 'http://127.0.0.1:6333/healthz',
        bodyContains: 'passed',
        timeout: 5,
      },
      {
        name: 'disk',
        runbook: false,
        type: 'command',
        script: diskUsageBelow('/', 85),
        timeout: 15,
      },
      { name: 'instance-status', runbook: false, type: 'ec2-status' },
      { name: 'ssm-agent', runbook: false, type: 'ssm-agent' },
    ],
    onFailure: { runbook: 'restart-containers' },
  },
  backup: [
    {
      name: 'mongodb',
      type: 'dump',
      script: 'docker exec mongo-db mongodump --archive --gzip > "$STEPOPS_DUMP_FILE"',
      timeout: 1800,
      bucket: backupBucket,
      prefix: 'dumps',
      schedule: 'cron(0 2 * * ? *)',
      retention: { days: 30, count: 7 },
      rpoHours: 24,
      restoreTest: {
        schedule: 'cron(0 4 ? * SUN *)',
        script: `docker run -d --name "stepops-rt-$STEPOPS_RUN_ID" mongo:7 >/dev/null
trap 'docker rm -f "stepops-rt-$STEPOPS_RUN_ID" >/dev/null' EXIT
for _ in $(seq 1 30); do docker exec "stepops-rt-$STEPOPS_RUN_ID" mongosh --quiet --eval 'db.adminCommand({ ping: 1 }).ok' >/dev/null 2>&1 && break; sleep 2; done
docker exec -i "stepops-rt-$STEPOPS_RUN_ID" mongorestore --quiet --archive --gzip < "$STEPOPS_RESTORE_FILE"
docker exec "stepops-rt-$STEPOPS_RUN_ID" mongosh --quiet --eval '${appCollections}' > "$STEPOPS_SCRATCH_DIR/collections"`,
        check: `collections=$(cat "$STEPOPS_SCRATCH_DIR/collections")
echo "application collections restored: $collections"
test "$collections" -ge 1`,
        timeout: 1800,
      },
    },
    {
      name: 'qdrant-storage',
      type: 'dump',
      script: 'docker exec qdrant-db tar czf - -C /qdrant storage > "$STEPOPS_DUMP_FILE"',
      timeout: 1800,
      bucket: backupBucket,
      prefix: 'dumps',
      schedule: 'cron(0 2 * * ? *)',
      retention: { days: 30, count: 7 },
      rpoHours: 24,
      restoreTest: {
        schedule: 'cron(30 4 ? * SUN *)',
        script: 'tar xzf "$STEPOPS_RESTORE_FILE" -C "$STEPOPS_SCRATCH_DIR"',
        check: 'test -d "$STEPOPS_SCRATCH_DIR/storage/collections"',
        timeout: 1800,
      },
    },
    {
      name: 'volumes',
      type: 'ebs-snapshot',
      schedule: 'cron(30 2 * * ? *)',
      // Daily, kept 7 to 30 days: the newest 7 always, and one a week for the rest of the month.
      retention: { days: 7, weekly: 4 },
      rpoHours: 26,
    },
  ],
  recovery: {
    'restart-containers': {
      description:
        'Server, MongoDB or Qdrant unhealthy: restart the three containers (docker compose restart).',
      steps: [
        {
          type: 'restart',
          name: 'restart-containers',
          manager: 'docker-compose',
          composeFile: 'docker-compose.yml',
          services: ['server', 'mongo', 'qdrant'],
        },
      ],
      verify: ['server', 'mongodb', 'qdrant'],
    },
    'restore-from-dumps': {
      description:
        'Data lost or corrupt: mongorestore --drop the newest MongoDB archive, replace Qdrant storage with the newest archive, restart the containers. RTO 30 min.',
      steps: [
        {
          type: 'restore-dump',
          name: 'restore-mongodb',
          backup: 'mongodb',
          // stepops downloads the dump to $STEPOPS_RESTORE_FILE first (curl: no AWS CLI on the host).
          script: 'docker exec -i mongo-db mongorestore --archive --gzip --drop < "$STEPOPS_RESTORE_FILE"',
          timeout: 1800,
        },
        {
          type: 'restore-dump',
          name: 'restore-qdrant',
          backup: 'qdrant-storage',
          script: `docker compose stop qdrant
docker run --rm -v qdrant_storage:/qdrant/storage -v "$STEPOPS_RESTORE_FILE":/restore/storage.tar.gz:ro busybox \\
  sh -c 'rm -rf /qdrant/storage/* && tar xzf /restore/storage.tar.gz -C /qdrant'
docker compose start qdrant`,
          timeout: 1800,
        },
        {
          type: 'restart',
          name: 'restart-server',
          manager: 'docker-compose',
          composeFile: 'docker-compose.yml',
          services: ['server'],
        },
      ],
      verify: ['server', 'mongodb', 'qdrant'],
    },
    'restore-from-snapshot': {
      description:
        'Disk lost or corrupt: replace the root volume with the newest daily EBS snapshot (the instance is stopped meanwhile), then start the containers. RTO 30 min.',
      steps: [
        { type: 'restore-volume', name: 'restore-root-volume', device: '/dev/sda1', snapshot: 'latest' },
        { type: 'script', name: 'start-containers', script: startContainers, timeout: 300 },
      ],
      verify: ['server', 'mongodb', 'qdrant'],
    },
  },
  // The document's maintenance tasks: "Update Docker images" monthly, "docker system prune -a" when
  // the disk fills, "Update EC2 instance OS" quarterly.
  maintenance: {
    'update-images': {
      description:
        'Monthly: pull the documented images again (mongo:7, qdrant/qdrant) and recreate the containers on them, then prune images and build cache older than a week.',
      schedule: 'cron(0 3 1 * ? *)',
      steps: [
        { type: 'docker-pull', name: 'pull-images', composeFile: 'docker-compose.yml' },
        { type: 'docker-prune', name: 'system-prune', olderThanHours: 168, system: true },
      ],
      healthGate: ['server', 'mongodb', 'qdrant'],
      mute: ['server', 'mongodb', 'qdrant'],
    },
    'os-updates': {
      description:
        'Quarterly: apply Ubuntu security updates (unattended-upgrade); reboot only if /var/run/reboot-required, then the health gate.',
      schedule: 'cron(0 4 1 1,4,7,10 ? *)',
      steps: [{ type: 'os-updates', name: 'security-updates', manager: 'apt' }],
      healthGate: ['server', 'mongodb', 'qdrant'],
      mute: ['server', 'mongodb', 'qdrant', 'instance-status', 'ssm-agent'],
    },
  },
  alerts: { slackWebhookParameter: '/stepops/ai-chat/slack-webhook' },
});
