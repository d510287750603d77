/**
 * `stepops plan maintenance <target> [--job J]`: each job's schedule, rolling, gate, muted probes
 * and every step's script exactly as the hosts run it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { plan } from '../../../cli/commands/plan.ts';
import type { Output } from '../../../cli/output.ts';
import { InvalidInputError } from '../../../shared/errors.ts';

const run = promisify(execFile);

function capture(): Output & { text: () => string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

describe('plan maintenance', () => {
  it("prints datizmo's certificate renewal and security updates with their scripts", async () => {
    // Prepare
    const output = capture();

    // Act
    const code = await plan('maintenance', 'datizmo', { runId: 'plan-preview' }, output);

    // Assess
    expect(code).toBe(0);
    const text = output.text();
    expect(text).toContain('job certificates: cron(15 4 * * ? *) (UTC)');
    expect(text).toContain('job security-updates: cron(0 5 ? * SUN *) (America/New_York)');
    expect(text).toContain(
      "1 host at a time under the target's lease; gate after each batch: tls-certificate, site, nginx",
    );
    expect(text).toContain('certbot renew --non-interactive');
    expect(text).toContain('unattended-upgrade --verbose');
    expect(text).toContain("sudo -u 'ubuntu'");
    // The run's own header and environment: the job runs as its unattended runbook
    expect(text).toContain('# stepops recover datizmo maintain-certificates ');
    expect(text).toContain("export STEPOPS_RUNBOOK='maintain-certificates'");
    expect(text).toContain("export STEPOPS_RUN_ID='plan-preview'");
  });

  it('renders scripts bash parses, as JSON with --json, one job with --job', async () => {
    // Prepare
    const output = capture();

    // Act
    await plan('maintenance', 'ai-chat', { runId: 'r-1', job: 'update-images', json: true }, output);

    // Assess
    const result = JSON.parse(output.text()) as { jobs: { name: string; steps: { script: string }[] }[] };
    expect(result.jobs.map((j) => j.name)).toEqual(['update-images']);
    const dir = await mkdtemp(path.join(tmpdir(), 'stepops-plan-maintenance-'));
    try {
      for (const [i, step] of result.jobs[0]!.steps.entries()) {
        const file = path.join(dir, `${i}.sh`);
        await writeFile(file, step.script);
        await expect(run('bash', ['-n', file])).resolves.toBeDefined();
        // The job's name, exported in the step's own shell, as the run sends it
        expect(step.script).toContain("export STEPOPS_JOB='\\''update-images'\\''");
        expect(step.script).toContain('# stepops recover ai-chat maintain-update-images ');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a job the target does not have, naming the ones it has', async () => {
    // Act
    const act = plan('maintenance', 'docsai', { runId: 'r', job: 'nope' }, capture());

    // Assess
    await expect(act).rejects.toThrow(InvalidInputError);
    await expect(act).rejects.toThrow('target "docsai" has no maintenance job "nope" (jobs: certificates)');
  });

  it('says when a target has no maintenance job', async () => {
    // Prepare
    const output = capture();

    // Act
    await plan('maintenance', 'zmanim', { runId: 'r' }, output);

    // Assess
    expect(output.text()).toContain('no maintenance jobs');
  });
});
