/**
 * Shop: an e-commerce platform on one EC2 t3.large (Ubuntu 22.04) under Docker Compose
 * (`docker/compose.infrastructure.yaml` in `/opt/ecommerce`): gateway :5921, backend :3847,
 * MongoDB (container `mongo`), Prometheus :9090, Grafana :3000, Alertmanager :9093,
 * Elasticsearch :9200, Kibana :5601, MinIO :9000/:9001.
 *
 * Source: its operations document. Only the gateway is public (and without a documented domain),
 * so every HTTP probe runs on the host (`from: 'host'`). The document names no region, bucket,
 * Elastic IP or instance ids: the region, the bucket and the Elastic IP are marked `unfilled(…)` and
 * must be filled in before a stage deploys this target; the instance is the one tagged
 * `stepops:target` = `shop`, as stepops' preparation asks.
 */
import { defineTarget, unfilled } from '../shared/config/schema.ts';
import { checkoutPrevious, checkoutRef, diskUsageBelow, verifyRef } from '../shared/recipes/scripts.ts';

const compose = 'docker compose -f docker/compose.infrastructure.yaml';

/** Elasticsearch refuses to start below this (documented under "Elasticsearch Memory Error"). */
const maxMapCount = `current=$(sysctl -n vm.max_map_count)
if [ "$current" -lt 262144 ]; then
  sysctl -w vm.max_map_count=262144
fi`;

// The document deploys with `./scripts/deploy.sh production` but does not say what that script
// does (and it may `git pull`, which would move the checkout away from the ref being deployed).
// These steps are the document's own commands, from its Quick Start: `up -d`, then `ps`; `--build`
// is the one addition, so that the checked-out code is what runs. A deploy.sh that does more
// (migrations, seeding) needs its steps added here.
const buildAndStart = `${compose} up -d --build
${compose} ps`;
const startServices = `${compose} up -d
${compose} ps`;

/** The application's database (`MONGO_DATABASE`, "ecommerce" by default in the document). */
const appDatabase = 'ecommerce';

/**
 * Runs a command in the `mongo` container with the root credentials the container was created with
 * (the variables expand inside the container, hence the single quotes and the directive, which
 * must precede the whole command or pipeline: see {@link mongoDirective}).
 */
const inMongo = (command: string) =>
  `docker exec -i mongo sh -c '${command} --authenticationDatabase admin -u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD"'`;
const mongoDirective = '# shellcheck disable=SC2016 # expanded inside the container';

export default defineTarget({
  name: 'shop',
  description:
    'E-commerce platform: gateway, backend, MongoDB, monitoring and ELK under Docker Compose on EC2',
  hosts: {
    type: 'ec2',
    region: unfilled("AWS region of shop's EC2 instance"),
    tags: { 'stepops:target': 'shop' },
    user: 'root',
    workingDirectory: '/opt/ecommerce',
  },
  deploy: {
    // On every host before any changes: a mistyped ref fails here, not at a half-done checkout.
    verify: [{ name: 'ref-exists', script: verifyRef, timeout: 120 }],
    steps: [
      { name: 'checkout', script: checkoutRef, timeout: 120 },
      { name: 'kernel-settings', script: maxMapCount, timeout: 30 },
      { name: 'build-and-start', script: buildAndStart, timeout: 2400 },
    ],
    rollback: [
      { name: 'checkout-previous', script: checkoutPrevious, timeout: 60 },
      { name: 'build-and-start', script: buildAndStart, timeout: 2400 },
    ],
    batches: { size: 1, maxErrors: 0 },
    snapshotBeforeDeploy: { ebs: true },
    healthGate: {
      probes: ['gateway-health', 'gateway-ready', 'backend-health', 'mongodb'],
      timeout: 600,
      interval: 10,
      successes: 2,
    },
  },
  health: {
    schedule: 'rate(5 minutes)',
    failureThreshold: 2,
    successThreshold: 1,
    probes: [
      { name: 'gateway-health', type: 'http', from: 'host', url: 'http://127.0.0.1:5921/health' },
      { name: 'gateway-ready', type: 'http', from: 'host', url: 'http://127.0.0.1:5921/ready' },
      { name: 'gateway-live', type: 'http', from: 'host', url: 'http://127.0.0.1:5921/live' },
      { name: 'backend-health', type: 'http', from: 'host', url: 'http://127.0.0.1:5921/api/health' },
      { name: 'prometheus', type: 'http', from: 'host', url: 'http://127.0.0.1:9090/-/healthy' },
      {
        name: 'grafana',
        type: 'http',
        from: 'host',
        url: 'http://127.0.0.1:3000/api/health',
        jsonField: { path: 'database', equals: 'ok' },
      },
      {
        name: 'elasticsearch',
        type: 'http',
        from: 'host',
        url: 'http://127.0.0.1:9200/_cluster/health',
        jsonField: { path: 'status', oneOf: ['green', 'yellow'] },
      },
      { name: 'minio', type: 'http', from: 'host', url: 'http://127.0.0.1:9000/minio/health/live' },
      {
        name: 'mongodb',
        type: 'command',
        script: `${mongoDirective}
${inMongo('mongosh --quiet --eval "db.adminCommand({ ping: 1 }).ok"')}`,
        outputMatches: '\\b1\\s*$',
        timeout: 30,
      },
      {
        name: 'containers',
        type: 'command',
        script: `stopped=$(${compose} ps --all --status exited --status dead --services)
if [ -n "$stopped" ]; then
  echo "stopped services: $stopped" >&2
  exit 1
fi
echo "all services running"`,
        timeout: 30,
      },
      {
        name: 'disk',
        type: 'command',
        script: diskUsageBelow('/', 85),
        timeout: 15,
      },
      { name: 'instance-status', type: 'ec2-status' },
      { name: 'ssm-agent', type: 'ssm-agent' },
    ],
  },
  backup: [
    {
      name: 'mongodb',
      type: 'dump',
      script: `${mongoDirective}
${inMongo('exec mongodump --archive --gzip')} > "$STEPOPS_DUMP_FILE"`,
      timeout: 3600,
      bucket: unfilled("S3 bucket for shop's MongoDB dumps"),
      prefix: 'dumps',
      // The archive may pass the 5 GiB one presigned PUT takes: upload with the AWS CLI.
      awsCli: true,
      schedule: 'cron(0 2 * * ? *)',
      rpoHours: 24,
      // Weekly: restore into a throwaway mongo container; the application's database must come back
      // with collections (a fresh server already has admin, config and local: counting databases
      // would pass on an empty dump).
      restoreTest: {
        schedule: 'cron(0 4 ? * SUN *)',
        script: `docker run -d --name "stepops-rt-$STEPOPS_RUN_ID" mongo:7 >/dev/null
trap 'docker rm -f "stepops-rt-$STEPOPS_RUN_ID" >/dev/null' EXIT
for _ in $(seq 1 30); do docker exec "stepops-rt-$STEPOPS_RUN_ID" mongosh --quiet --eval 'db.adminCommand({ ping: 1 }).ok' >/dev/null 2>&1 && break; sleep 2; done
docker exec -i "stepops-rt-$STEPOPS_RUN_ID" mongorestore --quiet --archive --gzip < "$STEPOPS_RESTORE_FILE"
docker exec "stepops-rt-$STEPOPS_RUN_ID" mongosh --quiet --eval 'db.getSiblingDB("${appDatabase}").getCollectionNames().length' > "$STEPOPS_SCRATCH_DIR/collections"`,
        check: `collections=$(cat "$STEPOPS_SCRATCH_DIR/collections")
echo "${appDatabase}: $collections collections"
test "$collections" -ge 1`,
        timeout: 3600,
      },
      retention: { days: 14, count: 3 },
    },
    {
      name: 'volumes',
      type: 'ebs-snapshot',
      schedule: 'cron(30 2 * * ? *)',
      retention: { days: 7 },
      rpoHours: 26,
    },
  ],
  recovery: {
    'restart-service': {
      description:
        'A service is down or unhealthy: restart the gateway and backend containers (docker compose restart), the same for any other service by editing the list.',
      steps: [
        {
          type: 'restart',
          name: 'restart-app-services',
          manager: 'docker-compose',
          composeFile: 'docker/compose.infrastructure.yaml',
          services: ['gateway', 'backend'],
        },
      ],
      verify: ['gateway-health', 'backend-health'],
    },
    'elasticsearch-memory': {
      description:
        'Elasticsearch fails with "max virtual memory areas vm.max_map_count too low": raise vm.max_map_count to 262144 (and persist it), then restart Elasticsearch.',
      steps: [
        {
          type: 'script',
          name: 'raise-max-map-count',
          script: `sysctl -w vm.max_map_count=262144
printf 'vm.max_map_count=262144\\n' > /etc/sysctl.d/99-elasticsearch.conf`,
          timeout: 30,
        },
        {
          type: 'restart',
          name: 'restart-elasticsearch',
          manager: 'docker-compose',
          composeFile: 'docker/compose.infrastructure.yaml',
          services: ['elasticsearch'],
        },
      ],
      verify: ['elasticsearch'],
    },
    'restore-mongodb': {
      description:
        'MongoDB data lost or corrupt: mongorestore --drop the newest mongodump archive from S3 into the mongo container, then restart the backend.',
      steps: [
        {
          type: 'restore-dump',
          name: 'mongorestore',
          backup: 'mongodb',
          // stepops downloads the dump to $STEPOPS_RESTORE_FILE first (curl: no AWS CLI on the host).
          script: `${mongoDirective}
${inMongo('exec mongorestore --archive --gzip --drop')} < "$STEPOPS_RESTORE_FILE"`,
          timeout: 3600,
        },
        {
          type: 'restart',
          name: 'restart-backend',
          manager: 'docker-compose',
          composeFile: 'docker/compose.infrastructure.yaml',
          services: ['backend', 'gateway'],
        },
      ],
      verify: ['mongodb', 'backend-health'],
    },
    'restore-volume': {
      description:
        'Host disk lost or corrupt: replace the root volume with the newest EBS snapshot (the instance is stopped meanwhile), then start the stack.',
      steps: [
        { type: 'restore-volume', name: 'restore-root-volume', device: '/dev/sda1', snapshot: 'latest' },
        { type: 'script', name: 'kernel-settings', script: maxMapCount, timeout: 30 },
        { type: 'script', name: 'start-services', script: startServices, timeout: 600 },
      ],
    },
    'instance-loss': {
      description:
        'Instance lost: launch a replacement from the newest stepops image (or the old instance settings), move the Elastic IP to it, raise vm.max_map_count, start the stack; restore MongoDB with "restore-mongodb" if the image is older than the data.',
      steps: [
        {
          type: 'replace-instance',
          name: 'replace-instance',
          elasticIpAllocationId: unfilled("Elastic IP allocation id of shop's instance"),
        },
        { type: 'script', name: 'kernel-settings', script: maxMapCount, timeout: 30 },
        { type: 'script', name: 'start-services', script: startServices, timeout: 600 },
      ],
      verify: ['gateway-health', 'backend-health', 'mongodb'],
    },
  },
  // No maintenance job: the document asks to "keep services updated" and "rotate credentials", with
  // no schedule or procedure; its Nginx and TLS are optional and without a domain.
  alerts: { slackWebhookParameter: '/stepops/shop/slack-webhook' },
});
