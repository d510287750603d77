import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listTargetNames, loadTarget, TARGETS_DIR } from '../../../shared/config/load.ts';
import { findTarget, listTargets } from '../../../shared/config/registry.ts';
import type { Probe, Target } from '../../../shared/config/schema.ts';
import { planDeploy } from '../../../shared/deploy/plan.ts';
import { planHealth } from '../../../shared/health/plan.ts';
import { verifyRef } from '../../../shared/recipes/scripts.ts';

const REAL_SYSTEMS = ['ai-chat', 'datizmo', 'docsai', 'shop', 'zmanim'];

function probe(target: Target, name: string): Probe {
  const found = target.health?.probes.find((p) => p.name === name);
  expect(found, `probe ${name} of ${target.name}`).toBeDefined();
  return found!;
}

function job(target: Target, name: string) {
  const found = target.backup?.find((b) => b.name === name);
  expect(found, `backup ${name} of ${target.name}`).toBeDefined();
  return found!;
}

function allScripts(target: Target): string {
  return JSON.stringify(target);
}

describe('the target registry', () => {
  it('holds every file in targets/ and nothing else', () => {
    // Prepare
    const files = readdirSync(TARGETS_DIR)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3))
      .sort();

    // Act
    const registered = listTargets();

    // Assess
    expect(registered).toEqual(files);
    expect(files).toEqual(expect.arrayContaining([...REAL_SYSTEMS, 'demo']));
  });

  it('registers each file under the name the file declares', async () => {
    for (const name of await listTargetNames()) {
      expect((await loadTarget(name)).name).toBe(name);
      expect(findTarget(name).name).toBe(name);
    }
  });
});

describe.each(REAL_SYSTEMS)('target %s', (name) => {
  const target = findTarget(name);

  it('runs on the ec2 hosts tagged stepops:target as docs/hosts.md prepares them, and no other tag', () => {
    expect(target.hosts.type).toBe('ec2');
    expect('tags' in target.hosts && target.hosts.tags).toEqual({ 'stepops:target': name });
    expect(target.deploy?.batches.maxErrors).toBe(0);
  });

  it('deploys exactly $STEPOPS_REF and records the version it replaces', () => {
    const first = target.deploy!.steps[0]!;
    expect(first.script).toContain('git fetch --tags');
    expect(first.script).toContain('"${STEPOPS_REF}^{commit}"');
    expect(first.script).toContain('git checkout --force --detach "$commit"');
    expect(first.script).toContain('> .stepops-previous');
    expect(target.deploy!.steps.map((s) => s.script).join('\n')).not.toMatch(/git pull/);
  });

  it('rolls back to the version this run recorded, after verifying the ref on every host', () => {
    expect(target.deploy!.rollback[0]!.script).toContain('previous=$(cat "$record")');
    expect(target.deploy!.rollback[0]!.script).toContain('git checkout --force --detach "$previous"');
    expect(target.deploy!.verify?.map((s) => s.script)).toEqual([verifyRef]);
  });

  it('gates deploys on probes that run on the host or hit its endpoints', () => {
    for (const name of target.deploy!.healthGate.probes) {
      expect(['http', 'command']).toContain(probe(target, name).type);
    }
  });

  it('writes every dump to $STEPOPS_DUMP_FILE; every restore reads the downloaded $STEPOPS_RESTORE_FILE, without the AWS CLI', () => {
    const dumps = (target.backup ?? []).filter((b) => b.type === 'dump');
    for (const dump of dumps) expect(dump.script).toContain('"$STEPOPS_DUMP_FILE"');
    for (const runbook of Object.values(target.recovery ?? {})) {
      for (const step of runbook.steps) {
        if (step.type !== 'restore-dump') continue;
        expect(step.script).toContain('"$STEPOPS_RESTORE_FILE"');
        expect(step.script).not.toMatch(/aws s3/);
      }
    }
  });

  it('backs up with EBS snapshots or RDS snapshots and checks the instance and its agent', () => {
    expect(target.backup?.some((b) => b.type === 'ebs-snapshot' || b.type === 'rds-snapshot')).toBe(true);
    expect(probe(target, 'instance-status').type).toBe('ec2-status');
    expect(probe(target, 'ssm-agent').type).toBe('ssm-agent');
  });

  it('describes every runbook for the operator', () => {
    for (const runbook of Object.values(target.recovery ?? {}))
      expect(runbook.description.length).toBeGreaterThan(30);
    expect(Object.keys(target.recovery ?? {}).length).toBeGreaterThanOrEqual(2);
  });
});

describe('datizmo', () => {
  const target = findTarget('datizmo');

  it('runs as ubuntu in /home/ubuntu/formatic-unified in us-east-1', () => {
    expect(target.hosts).toMatchObject({
      region: 'us-east-1',
      user: 'ubuntu',
      workingDirectory: '/home/ubuntu/formatic-unified',
    });
  });

  it('snapshots RDS before deploys and daily, kept 7 days (the instance id marked unfilled)', () => {
    const database = "<unfilled: RDS instance id of datizmo's PostgreSQL 14 database>";
    expect(target.deploy?.snapshotBeforeDeploy?.rdsInstance).toBe(database);
    expect(job(target, 'database')).toMatchObject({
      type: 'rds-snapshot',
      dbInstance: database,
      retention: { days: 7 },
    });
    expect(job(target, 'server-volume').type).toBe('ebs-snapshot');
    expect(job(target, 'env-file')).toMatchObject({ type: 'dump' });
  });

  it('builds both apps, migrates with prisma, restarts PM2 and reloads Nginx after nginx -t', () => {
    const scripts = target.deploy!.steps.map((s) => s.script).join('\n');
    expect(scripts).toContain('npx prisma migrate deploy');
    expect(scripts).toContain('pm2 restart backend frontend');
    expect(scripts).toMatch(/sudo nginx -t\nsudo systemctl reload nginx/);
  });

  it('migrates the shared RDS database once, on the first host, not on every host', () => {
    const migrate = target.deploy!.steps.find((s) => s.script.includes('prisma migrate deploy'));
    expect(migrate?.runOnce).toBe(true);
    expect(target.deploy!.steps.filter((s) => s.runOnce).map((s) => s.name)).toEqual(['migrate-database']);
  });

  it('probes the site, its certificate, backend :3001, frontend :3000, PM2, Nginx and disk', () => {
    expect(probe(target, 'site')).toMatchObject({ type: 'http', url: 'https://datizmo.com/' });
    expect(probe(target, 'tls-certificate')).toMatchObject({ type: 'tls', host: 'datizmo.com' });
    expect(probe(target, 'backend')).toMatchObject({ from: 'host', url: 'http://127.0.0.1:3001/' });
    expect(probe(target, 'frontend')).toMatchObject({ from: 'host', url: 'http://127.0.0.1:3000/' });
    for (const name of ['pm2-processes', 'nginx', 'disk']) expect(probe(target, name).type).toBe('command');
  });

  it('has the documented recoveries: pm2 restart all, last good commit, RDS restore, new server', () => {
    const recovery = target.recovery!;
    expect(recovery['restart-apps']?.steps[0]).toMatchObject({
      type: 'restart',
      manager: 'pm2',
      services: ['all'],
    });
    expect(allScripts(target)).toContain('.stepops-previous');
    expect(recovery['restore-database']?.steps.map((s) => s.type)).toEqual([
      'restore-rds',
      'script',
      'restart',
    ]);
    expect(recovery['rebuild-server']?.steps[0]?.type).toBe('replace-instance');
  });
});

describe('shop', () => {
  const target = findTarget('shop');

  it('deploys with docker compose in /opt/ecommerce', () => {
    expect(target.hosts).toMatchObject({ workingDirectory: '/opt/ecommerce', user: 'root' });
    const scripts = target.deploy!.steps.map((s) => s.script).join('\n');
    // The document's own commands (Quick Start), building the checked-out code; never its git pull.
    expect(scripts).toContain('docker compose -f docker/compose.infrastructure.yaml up -d --build');
    expect(scripts).toContain('docker compose -f docker/compose.infrastructure.yaml ps');
  });

  it('probes every documented endpoint, Elasticsearch by its status not being red', () => {
    const urls = target.health!.probes.flatMap((p) => (p.type === 'http' ? [p.url] : []));
    expect(urls).toEqual(
      expect.arrayContaining([
        'http://127.0.0.1:5921/health',
        'http://127.0.0.1:5921/ready',
        'http://127.0.0.1:5921/live',
        'http://127.0.0.1:5921/api/health',
        'http://127.0.0.1:9090/-/healthy',
        'http://127.0.0.1:3000/api/health',
        'http://127.0.0.1:9200/_cluster/health',
        'http://127.0.0.1:9000/minio/health/live',
      ]),
    );
    expect(probe(target, 'elasticsearch')).toMatchObject({
      from: 'host',
      jsonField: { path: 'status', oneOf: ['green', 'yellow'] },
    });
  });

  it('dumps MongoDB with mongodump --archive to S3 and snapshots EBS', () => {
    const dump = job(target, 'mongodb');
    expect(dump.type === 'dump' && dump.script).toContain('mongodump --archive');
    expect(job(target, 'volumes').type).toBe('ebs-snapshot');
  });

  it('recovers with docker compose restart, mongorestore and vm.max_map_count=262144', () => {
    const recovery = target.recovery!;
    expect(recovery['restart-service']?.steps[0]).toMatchObject({
      manager: 'docker-compose',
      composeFile: 'docker/compose.infrastructure.yaml',
    });
    expect(JSON.stringify(recovery['restore-mongodb'])).toContain('mongorestore --archive');
    expect(JSON.stringify(recovery['elasticsearch-memory'])).toContain('sysctl -w vm.max_map_count=262144');
  });
});

describe('docsai', () => {
  const target = findTarget('docsai');

  it('deploys with the venv, requirements, migrate, collectstatic and a gunicorn restart', () => {
    const scripts = target.deploy!.steps.map((s) => s.script).join('\n');
    expect(target.hosts).toMatchObject({ workingDirectory: '/home/ubuntu/docsai', user: 'ubuntu' });
    expect(scripts).toContain('venv/bin/pip install --quiet -r requirements.txt');
    expect(scripts).toContain('manage.py migrate --noinput');
    expect(scripts).toContain('manage.py collectstatic --noinput');
    expect(scripts).toContain('sudo systemctl restart gunicorn');
  });

  it('probes the health endpoint, the gunicorn unit and socket, and nginx', () => {
    expect(
      probe(target, 'gunicorn-socket').type === 'command' && probe(target, 'gunicorn-socket'),
    ).toMatchObject({
      script: expect.stringContaining('test -S /run/gunicorn.sock'),
    });
    expect(probe(target, 'app')).toMatchObject({ type: 'http', from: 'host' });
    expect(probe(target, 'nginx').type).toBe('command');
  });

  it('dumps PostgreSQL daily with pg_dump and restores it', () => {
    expect(job(target, 'database')).toMatchObject({ type: 'dump', schedule: 'cron(0 2 * * ? *)' });
    expect(JSON.stringify(target.recovery?.['restore-database'])).toContain('pg_restore');
    expect(
      target.recovery?.['restart-services']?.steps.map((s) => s.type === 'restart' && s.services),
    ).toEqual([['gunicorn.socket', 'gunicorn.service'], ['nginx']]);
  });
});

describe('zmanim', () => {
  const target = findTarget('zmanim');

  it('checks GET /backend/api/v1/health = 200 with "healthy" every minute', () => {
    expect(target.health?.schedule).toBe('rate(1 minute)');
    expect(probe(target, 'api-health')).toMatchObject({
      type: 'http',
      method: 'GET',
      url: 'https://zmanim.shtetl.io/backend/api/v1/health',
      expectStatus: [200],
      bodyContains: 'healthy',
      from: 'outside',
    });
  });

  it('finds go in /usr/local/go/bin in every script it runs on the host', () => {
    expect(target.hosts).toMatchObject({ path: ['/usr/local/go/bin'] });
    const plan = planDeploy(target, 'v1', 'run-1');
    // Inside each quoted step: export PATH='/usr/local/go/bin'":$PATH"
    const exported = `export PATH='\\''/usr/local/go/bin'\\''":$PATH"`;
    expect(plan.deployScript.split(exported)).toHaveLength(target.deploy!.steps.length + 1);
    expect(plan.rollbackScript).toContain(exported);
    expect(planHealth(target).hostScript).toContain(exported);
  });

  it('builds the Go API into ../bin/api and restarts zmanim-api', () => {
    const scripts = target.deploy!.steps.map((s) => s.script).join('\n');
    expect(target.hosts).toMatchObject({
      region: 'eu-west-1',
      user: 'ec2-user',
      workingDirectory: '/opt/zmanim',
    });
    expect(scripts).toContain('go build -o ../bin/api ./cmd/api');
    expect(scripts).toContain('sudo systemctl restart zmanim-api');
  });

  it('backs up with restic, its password read from SSM /zmanim/prod', () => {
    const dump = job(target, 'database');
    expect(dump.type).toBe('dump');
    const script = dump.type === 'dump' ? dump.script : '';
    expect(dump.type === 'dump' && dump.secrets).toEqual({
      RESTIC_PASSWORD: '/zmanim/prod/restic-password',
      PGPASSWORD: '/zmanim/prod/postgres-password',
    });
    expect(script).not.toContain('get-parameter');
    expect(script).toContain('restic backup');
    expect(dump.schedule).toMatch(/^cron\(0 \d+ \* \* \? \*\)$/);
  });

  it('recovers from database corruption in the documented order and from instance failure', () => {
    const corruption = target.recovery!['database-corruption']!;
    expect(corruption.steps.map((s) => s.name)).toEqual(['stop-api', 'restic-restore', 'start-api']);
    expect(JSON.stringify(corruption)).toContain(
      'psql --set ON_ERROR_STOP=1 --single-transaction -f /tmp/restore/dump.sql',
    );
    expect(target.recovery!['instance-failure']!.steps[0]).toMatchObject({
      type: 'replace-instance',
      dataVolumeDevice: "<unfilled: device name of zmanim's /data EBS volume (e.g. /dev/sdf)>",
    });
  });
});

describe('ai-chat', () => {
  const target = findTarget('ai-chat');

  it('deploys with docker compose down, build and up -d', () => {
    const scripts = target.deploy!.steps.map((s) => s.script);
    expect(scripts).toEqual(expect.arrayContaining(['docker compose down', 'docker compose build --pull']));
    expect(scripts.join('\n')).toContain('docker compose up -d');
  });

  it('probes the server, MongoDB ping and Qdrant', () => {
    expect(probe(target, 'server')).toMatchObject({ from: 'host', url: 'http://127.0.0.1:3000/' });
    expect(probe(target, 'mongodb').type === 'command' && probe(target, 'mongodb')).toMatchObject({
      script: expect.stringContaining('ping'),
    });
    expect(probe(target, 'qdrant')).toMatchObject({ url: 'http://127.0.0.1:6333/healthz' });
  });

  it('dumps MongoDB and the Qdrant storage at 02:00 and snapshots EBS daily for 7 to 30 days', () => {
    expect(job(target, 'mongodb').schedule).toBe('cron(0 2 * * ? *)');
    expect(job(target, 'qdrant-storage').schedule).toBe('cron(0 2 * * ? *)');
    const ebs = job(target, 'volumes');
    expect(ebs.type).toBe('ebs-snapshot');
    expect(ebs.retention.days).toBeGreaterThanOrEqual(7);
    expect(ebs.retention.days).toBeLessThanOrEqual(30);
  });
});
