import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupTimestamp,
  describeRetention,
  dumpPrefix,
  dumpUri,
  planBackup,
  snapshotName,
} from '../../../shared/backup/plan.ts';
import { parseTarget } from '../../../shared/config/load.ts';
import { findTarget } from '../../../shared/config/registry.ts';
import type { Target } from '../../../shared/config/schema.ts';
import { InvalidInputError } from '../../../shared/errors.ts';
import {
  describeProbe,
  parseHostHttpOutput,
  planHealth,
  renderProbeScript,
} from '../../../shared/health/plan.ts';
import { planRecovery, restartCommand } from '../../../shared/recovery/plan.ts';
import { registerFilledTargets } from '../../fixtures/filled-targets.ts';
import full from '../../fixtures/targets/full.ts';

const NOW = new Date('2025-03-01T02:00:00.123Z');
const scratch = mkdtempSync(path.join(tmpdir(), 'stepops-plans-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
// The real targets as a user deploys them: with their unfilled(…) values filled in.
afterAll(registerFilledTargets());

function localTarget(extra: Record<string, unknown>): Target {
  return parseTarget(
    { name: 'local', description: 'a local host', hosts: { type: 'local', directory: scratch }, ...extra },
    'local.ts',
  );
}

/** Runs bash without blocking the event loop, so servers of this process can answer it. */
function runBashAsync(script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: scratch });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function runBash(script: string) {
  return spawnSync('bash', ['-c', script], { cwd: scratch, encoding: 'utf8' });
}

describe('planBackup', () => {
  it('names dumps s3://bucket/prefix/<target>/<job>/<timestamp>', () => {
    expect(backupTimestamp(NOW)).toBe('20250301T020000Z');
    expect(dumpUri('shop', { name: 'mongodb', bucket: 'b', prefix: 'dumps/' }, NOW)).toBe(
      's3://b/dumps/shop/mongodb/20250301T020000Z',
    );
    expect(dumpPrefix('shop', { name: 'mongodb', bucket: 'b', prefix: '' })).toBe('s3://b/shop/mongodb/');
    expect(dumpPrefix('shop', { name: 'mongodb', bucket: 'b', prefix: 'x' }, '/var/dumps/')).toBe(
      '/var/dumps/shop/mongodb/',
    );
  });

  it('renders a dump script that exports STEPOPS_DUMP_URI and runs the job as the host user', () => {
    // Act
    const plan = planBackup(findTarget('shop'), { now: NOW, runId: 'run-7', job: 'mongodb' });

    // Assess
    const [mongodb] = plan.jobs;
    expect(plan.jobs).toHaveLength(1);
    expect(mongodb?.dumpUri).toBe('s3://shop-stepops-backups/dumps/shop/mongodb/20250301T020000Z');
    expect(mongodb?.script).toContain(
      "export STEPOPS_DUMP_URI='s3://shop-stepops-backups/dumps/shop/mongodb/20250301T020000Z'",
    );
    expect(mongodb?.script).toContain("export STEPOPS_RUN_ID='run-7'");
    expect(mongodb?.script).toContain("cd '/opt/ecommerce'");
    expect(mongodb?.timeoutSeconds).toBe(3600 + 30);
    expect(mongodb?.schedule).toBe('cron(0 2 * * ? *)');
  });

  it('describes snapshot jobs as the AWS calls they make, with retention', () => {
    // Act
    const plan = planBackup(findTarget('datizmo'), { now: NOW, runId: 'run-1' });

    // Assess
    const rds = plan.jobs.find((j) => j.name === 'database');
    const ebs = plan.jobs.find((j) => j.name === 'server-volume');
    expect(rds?.script).toBeUndefined();
    expect(rds?.actions[0]).toBe(
      'rds:CreateDBSnapshot of DB instance datizmo-db in us-east-1 as stepops-datizmo-database-20250301t020000z, tags stepops:target=datizmo, stepops:job=database, stepops:run=run-1',
    );
    expect(rds?.retentionRule).toBe('delete copies older than 7 days; never the newest good copy');
    expect(ebs?.actions.join('\n')).toContain('ec2:CreateSnapshots');
    expect(ebs?.actions[0]).toContain('instances tagged stepops:target=datizmo in us-east-1');
  });

  it('describes AWS Backup jobs with their vault, role and lifecycle', () => {
    // Act
    const plan = planBackup(parseTarget(full, 'full.ts'), { now: NOW, runId: 'r' });

    // Assess
    const vault = plan.jobs.find((j) => j.type === 'aws-backup');
    expect(vault?.actions[0]).toContain(
      'backup:StartBackupJob into vault full-vault with role arn:aws:iam::123456789012:role/backup',
    );
    expect(describeRetention({ days: 7, count: 3 })).toBe(
      'delete copies older than 7 days and beyond the newest 3; never the newest good copy',
    );
    expect(snapshotName('a--b', 'job', NOW)).toBe('stepops-a-b-job-20250301t020000z');
  });

  it('uploads what the script writes to STEPOPS_DUMP_FILE to STEPOPS_DUMP_URI when run', () => {
    // Prepare
    const target = localTarget({
      backup: [
        {
          name: 'notes',
          type: 'dump',
          script: 'echo "dump of $STEPOPS_TARGET" > "$STEPOPS_DUMP_FILE"',
          timeout: 10,
          bucket: 'unused-bucket',
          schedule: 'rate(1 day)',
          retention: { count: 2 },
        },
      ],
    });
    const plan = planBackup(target, { now: NOW, runId: 'r', dumpRoot: path.join(scratch, 'dumps') });

    // Act
    const result = runBash(plan.jobs[0]!.script!);

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(plan.jobs[0]?.dumpUri).toBe(path.join(scratch, 'dumps/local/notes/20250301T020000Z'));
    expect(readFileSync(plan.jobs[0]!.dumpUri!, 'utf8')).toBe('dump of local\n');
    expect(result.stdout).toMatch(/STEPOPS_DUMP_RESULT sha256=[0-9a-f]{64} size=14/);
  });

  it('rejects an unknown job or a target without backups', () => {
    expect(() => planBackup(findTarget('shop'), { now: NOW, runId: 'r', job: 'nope' })).toThrow(
      /no backup job "nope" \(jobs: mongodb, volumes\)/,
    );
    expect(() => planBackup(localTarget({}), { now: NOW, runId: 'r' })).toThrow(InvalidInputError);
  });
});

describe('planHealth', () => {
  it('plans zmanim: every minute, the public check from outside and the local one on the host', () => {
    // Act
    const plan = planHealth(findTarget('zmanim'));

    // Assess
    expect(plan).toMatchObject({
      schedule: 'rate(1 minute)',
      failureThreshold: 3,
      onFailureRunbook: 'restart-api',
    });
    const health = plan.probes.find((p) => p.name === 'api-health');
    expect(health?.runsOn).toBe('prober');
    expect(health?.script).toBeUndefined();
    expect(health?.check).toBe(
      'GET https://zmanim.shtetl.io/backend/api/v1/health → status 200, body contains "healthy" (timeout 10 s)',
    );
    const local = plan.probes.find((p) => p.name === 'api-local');
    expect(local?.runsOn).toBe('host');
    expect(local?.script).toContain("'\\''http://127.0.0.1:8080/health'\\''");
    expect(local?.script).toContain("sudo -u 'ec2-user'");
    expect(plan.probes.find((p) => p.name === 'instance-status')?.runsOn).toBe('aws');
  });

  it('describes the Elasticsearch condition of shop', () => {
    const es = planHealth(findTarget('shop')).probes.find((p) => p.name === 'elasticsearch');
    expect(es?.check).toBe(
      'GET http://127.0.0.1:9200/_cluster/health from the host → status 200, JSON status is one of "green", "yellow" (timeout 10 s)',
    );
  });

  it('describes command and TLS probes', () => {
    const target = findTarget('datizmo');
    const tls = target.health!.probes.find((p) => p.name === 'tls-certificate')!;
    expect(describeProbe(tls)).toBe(
      'TLS certificate of datizmo.com:443 valid for at least 14 more days (timeout 10 s)',
    );
    const disk = target.health!.probes.find((p) => p.name === 'disk')!;
    expect(describeProbe(disk)).toBe('command on the host → exit code 0 (timeout 15 s)');
  });

  it('rejects a target without health and unknown probe names', () => {
    expect(() => planHealth(localTarget({}))).toThrow(/has no health section/);
    expect(() => planHealth(findTarget('shop'), ['nope'])).toThrow(/no probe named "nope"/);
  });

  describe('host-side HTTP probes, run for real', () => {
    let server: Server;
    let base: string;

    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url === '/_cluster/health') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"status":"yellow"}');
        } else {
          res.writeHead(503);
          res.end('down');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('prints the body and the status line that parseHostHttpOutput reads back', async () => {
      // Prepare
      const target = localTarget({
        health: {
          schedule: 'rate(1 minute)',
          probes: [
            { name: 'es', type: 'http', from: 'host', url: `${base}/_cluster/health` },
            { name: 'down', type: 'http', from: 'host', url: `${base}/down` },
          ],
        },
      });
      const [es, down] = target.health!.probes;

      // Act (asynchronously: the server answers from this process)
      const esRun = await runBashAsync(renderProbeScript(target, es!)!);
      const downRun = await runBashAsync(renderProbeScript(target, down!)!);

      // Assess
      expect(esRun.status, esRun.stderr).toBe(0);
      expect(parseHostHttpOutput(esRun.stdout)).toMatchObject({ status: 200, body: '{"status":"yellow"}' });
      expect(parseHostHttpOutput(downRun.stdout)).toMatchObject({ status: 503, body: 'down' });
    });

    it('exits non-zero when nothing listens', () => {
      // Prepare
      const target = localTarget({
        health: {
          schedule: 'rate(1 minute)',
          probes: [{ name: 'x', type: 'http', from: 'host', url: 'http://127.0.0.1:9/' }],
        },
      });

      // Act
      const run = spawnSync('bash', ['-c', renderProbeScript(target, target.health!.probes[0]!)!], {
        encoding: 'utf8',
      });

      // Assess
      expect(run.status).not.toBe(0);
      expect(parseHostHttpOutput(run.stdout)).toBeUndefined();
    });
  });

  it('runs a command probe whose exit code is the probe result', () => {
    // Prepare
    const target = localTarget({
      health: {
        schedule: 'rate(1 minute)',
        probes: [{ name: 'c', type: 'command', script: 'echo "$STEPOPS_PROBE"; exit 3' }],
      },
    });

    // Act
    const run = runBash(renderProbeScript(target, target.health!.probes[0]!)!);

    // Assess
    expect(run.status).toBe(3);
    expect(run.stdout).toContain('c\n');
  });

  it('reads status lines with a comma decimal and without a preceding body', () => {
    expect(parseHostHttpOutput('\nSTEPOPS_HTTP 204 0,250\n')).toEqual({
      status: 204,
      latencyMs: 250,
      body: '',
    });
  });
});

describe('planRecovery', () => {
  it('renders restart steps per process manager, quoting every name and ending options with --', () => {
    expect(restartCommand({ manager: 'systemd', services: ['gunicorn.socket', 'nginx'] }, 'ubuntu')).toBe(
      "sudo systemctl restart -- 'gunicorn.socket' 'nginx'\nsudo systemctl is-active --quiet -- 'gunicorn.socket'\nsudo systemctl is-active --quiet -- 'nginx'",
    );
    expect(restartCommand({ manager: 'systemd', services: ['x'] }, 'root')).toMatch(
      /^systemctl restart -- 'x'/,
    );
    expect(restartCommand({ manager: 'pm2', services: ['all'] })).toBe(
      "pm2 restart 'all' --update-env\npm2 save",
    );
    expect(
      restartCommand({ manager: 'docker-compose', services: ['es'], composeFile: 'docker/c.yaml' }),
    ).toBe("docker compose -f 'docker/c.yaml' restart -- 'es'");
    expect(restartCommand({ manager: 'docker-compose', services: ["a'b"] })).toBe(
      "docker compose restart -- 'a'\\''b'",
    );
  });

  it('plans zmanim database corruption: stop, restic restore with the dump URI, start', () => {
    // Act
    const plan = planRecovery(findTarget('zmanim'), 'database-corruption', {
      runId: 'run-9',
      dumpUris: { database: 's3://zmanim-prod-backups/stepops/zmanim/database/20250301T010000Z' },
    });

    // Assess
    expect(plan.description).toContain('restic restore');
    expect(plan.steps.map((s) => [s.name, s.runsOn])).toEqual([
      ['stop-api', 'host'],
      ['restic-restore', 'host'],
      ['start-api', 'host'],
    ]);
    expect(plan.steps[1]?.script).toContain(
      "export STEPOPS_DUMP_URI='s3://zmanim-prod-backups/stepops/zmanim/database/20250301T010000Z'",
    );
    expect(plan.steps[1]?.script).toContain("export STEPOPS_RUNBOOK='database-corruption'");
    expect(plan.verify).toEqual(['api-local', 'api-health']);
  });

  it('names the dump prefix when the newest dump is resolved at run time', () => {
    const plan = planRecovery(findTarget('shop'), 'restore-mongodb', { runId: 'r' });
    expect(plan.steps[0]?.script).toContain(
      "export STEPOPS_DUMP_URI='s3://shop-stepops-backups/dumps/shop/mongodb/<newest>'",
    );
  });

  it('describes instance replacement and RDS restores as AWS actions', () => {
    // Act
    const zmanim = planRecovery(findTarget('zmanim'), 'instance-failure', { runId: 'r' });
    const datizmo = planRecovery(findTarget('datizmo'), 'restore-database', { runId: 'r' });

    // Assess
    const replace = zmanim.steps[0]!;
    expect(replace).toMatchObject({ runsOn: 'aws', timeoutSeconds: 1800 });
    expect(replace.script).toBeUndefined();
    expect(replace.actions).toEqual(
      expect.arrayContaining([
        'ec2:DetachVolume of the data volume at /dev/sdf',
        'ec2:AssociateAddress of Elastic IP eipalloc-0a1b2c3d4e5f60718 to the new instance (AllowReassociation)',
      ]),
    );
    expect(datizmo.steps[0]?.actions?.[1]).toContain(
      'rds:RestoreDBInstanceFromDBSnapshot to a NEW instance datizmo-db-r<8 hex of the run id>',
    );
  });

  it('plans every kind of step of the fixture, verifying every probe when none are named', () => {
    const plan = planRecovery(parseTarget(full, 'full.ts'), 'everything', { runId: 'r' });
    expect(plan.steps.map((s) => s.runsOn)).toEqual(['host', 'aws', 'aws', 'aws', 'aws', 'host']);
    expect(plan.steps[1]?.actions?.[0]).toBe(
      'ec2:RebootInstances for instances i-0123456789abcdef0, i-0123456789abcdef1, i-0123456789abcdef2 in eu-west-1',
    );
    expect(plan.verify).toEqual(['site', 'tls', 'status', 'agent', 'disk']);
  });

  it('rejects an unknown runbook, naming the known ones', () => {
    expect(() => planRecovery(findTarget('ai-chat'), 'nope', { runId: 'r' })).toThrow(
      'target "ai-chat" has no runbook "nope" (runbooks: restart-containers, restore-from-dumps, restore-from-snapshot)',
    );
    expect(() => planRecovery(findTarget('ai-chat'), 'constructor', { runId: 'r' })).toThrow(
      InvalidInputError,
    );
  });
});
