/**
 * `stepops plan deploy` shows exactly what a deploy runs: each batch's script with its host table
 * (STEPOPS_HOST_INDEX of each host, STEPOPS_HOST_COUNT) and the run-once wrapper, local host lists
 * as one host per directory in their batches; the scripts a real local deploy then sends are
 * these very scripts.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDeploy } from '../../../cli/commands/deploy.ts';
import { deployBatches, plan } from '../../../cli/commands/plan.ts';
import type { Output } from '../../../cli/output.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import type { TargetInput } from '../../../shared/config/schema.ts';

function capture(): Output & { text: () => string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

let root: string;
let previousHome: string | undefined;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-plan-deploy-'));
  previousHome = process.env.STEPOPS_HOME;
  process.env.STEPOPS_HOME = path.join(root, 'home');
});

afterAll(async () => {
  if (previousHome === undefined) delete process.env.STEPOPS_HOME;
  else process.env.STEPOPS_HOME = previousHome;
  await rm(root, { recursive: true, force: true });
});

afterEach(() => clearRegisteredTargets());

/** Three local hosts, two per batch, a migration that runs once. */
function threeHosts(): TargetInput {
  const dirs = ['a', 'b', 'c'].map((name) => path.join(root, 'hosts', name));
  return {
    name: 'plan-three',
    description: 'three local hosts',
    hosts: { type: 'local', directory: dirs },
    deploy: {
      steps: [
        { name: 'migrate', script: 'echo "migrated by $STEPOPS_HOST_INDEX"', timeout: 30, runOnce: true },
        {
          name: 'restart',
          script: 'echo "restarted $STEPOPS_HOST_INDEX of $STEPOPS_HOST_COUNT"',
          timeout: 30,
        },
      ],
      rollback: [{ name: 'back', script: 'echo back', timeout: 30 }],
      verify: [{ name: 'ref-exists', script: 'true', timeout: 30 }],
      batches: { size: 2, maxErrors: 0 },
      healthGate: { probes: ['up'], timeout: 20, interval: 1, successes: 1 },
    },
    health: { schedule: 'rate(5 minutes)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
  };
}

describe('plan deploy', () => {
  it('lists each directory of a local host list as a host of its own, in its batch', async () => {
    // Prepare: the target's file, as plan reads it
    const file = path.join(root, 'plan-three.ts');
    writeFileSync(file, `export default ${JSON.stringify(threeHosts())};\n`);
    const output = capture();
    const [a, b, c] = ['a', 'b', 'c'].map((name) => `local:${path.join(root, 'hosts', name)}`);

    // Act
    const code = await plan('deploy', file, { ref: 'v1', runId: 'plan-preview' }, output);

    // Assess
    expect(code).toBe(0);
    const text = output.text();
    expect(text).toContain(`  batch 1: ${a}, ${b}\n  batch 2: ${c}\n`);
    expect(text).toContain('(one host each)');
    expect(text).toContain(`----- deploy script of batch 1/2: ${a}, ${b} (timeout 90 s) -----`);
    expect(text).toContain(`----- deploy script of batch 2/2: ${c} (timeout 90 s) -----`);
  });

  it("shows each batch's host table and the run-once wrapper", () => {
    // Prepare
    registerTarget(threeHosts());
    const [a, b, c] = ['a', 'b', 'c'].map((name) => `local:${path.join(root, 'hosts', name)}`);

    // Act
    const scripts = deployBatches(findTarget('plan-three'), 'v1', 'plan-preview');

    // Assess: host indexes count across batches, the migration runs on host 0 only
    const [first, second] = scripts?.batches ?? [];
    expect(first?.hosts).toEqual([a, b]);
    expect(first?.deployScript).toContain(
      `  '${a}') STEPOPS_HOST_INDEX=0 ;;\n  '${b}') STEPOPS_HOST_INDEX=1 ;;\n`,
    );
    expect(second?.deployScript).toContain(`  '${c}') STEPOPS_HOST_INDEX=2 ;;\n`);
    expect(second?.deployScript).not.toContain(`'${a}')`);
    expect(first?.deployScript).toContain('export STEPOPS_HOST_INDEX STEPOPS_HOST_COUNT=3');
    expect(first?.deployScript).toContain(
      'if [ "$STEPOPS_HOST_INDEX" = 0 ]; then\n  # shellcheck disable=SC2016 # the step is quoted on purpose: its own shell expands it\n  stepops_step \'step 1/2: migrate\'',
    );
    expect(first?.deployScript).toContain(
      "echo '==> step 1/2: migrate: skipped, it runs once, on the first host'",
    );
    expect(scripts?.verifyScript).toContain(`  '${c}') STEPOPS_HOST_INDEX=2 ;;`);
    expect(scripts?.rollbackScript).toContain(`  '${a}') STEPOPS_HOST_INDEX=0 ;;`);
  });

  it('prints, for hosts that tags select, that the host table comes at run time', async () => {
    // Prepare
    const output = capture();

    // Act
    await plan('deploy', 'shop', { ref: 'v1', runId: 'plan-preview' }, output);

    // Assess
    expect(deployBatches(findTarget('shop'), 'v1', 'plan-preview')).toBeUndefined();
    expect(output.text()).toContain(
      "each script a batch is sent starts with a table of the batch's instances (found by their tags at run time)",
    );
  });

  it('shows the very scripts a local deploy sends to each batch', async () => {
    // Prepare
    registerTarget(threeHosts());
    const output = capture();

    // Act
    const report = await runDeploy({ target: 'plan-three', ref: 'v1', output, interactive: false });

    // Assess: every script the run sent is one the plan shows for that run id
    expect(report.exitCode, output.text()).toBe(0);
    const planned = deployBatches(findTarget('plan-three'), 'v1', report.executionName ?? '');
    const commands = path.join(root, 'home', 'commands');
    const sent = readdirSync(commands).flatMap((id) =>
      readdirSync(path.join(commands, id))
        .filter((file) => file.endsWith('.sh'))
        .map((file) => readFileSync(path.join(commands, id, file), 'utf8')),
    );
    const deploys = sent.filter((script) => script.includes('# stepops deploy plan-three'));
    expect(deploys).toHaveLength(3);
    for (const script of deploys) {
      expect(planned?.batches.map((batch) => batch.deployScript)).toContain(script);
    }
    expect(sent).toContain(planned?.verifyScript);
  });
});
