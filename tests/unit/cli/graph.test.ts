/**
 * `stepops graph`: Mermaid from the real definitions, and the README's copy of each workflow's
 * diagram kept in step with them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { graph } from '../../../cli/commands/graph.ts';
import { type Output, reportError } from '../../../cli/output.ts';
import { mermaid } from '../../../cli/runs/mermaid.ts';
import { WORKFLOWS } from '../../../cli/runs/workflows.ts';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';
import { localArns } from '../../../workflows/asl.ts';
import { DEPLOY_FUNCTIONS, deployWorkflow } from '../../../workflows/deploy.ts';

const README = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');

function readmeDiagram(workflow: string): string | undefined {
  const match = new RegExp(
    `<!-- stepops graph ${workflow} -->\\n\`\`\`mermaid\\n([\\s\\S]*?)\`\`\`\\n<!-- end stepops graph ${workflow} -->`,
  ).exec(README);
  return match?.[1];
}

describe('stepops graph', () => {
  it.each(WORKFLOWS.map((w) => w.name))(
    'the README shows the %s diagram exactly as the definition gives it',
    async (name) => {
      // Prepare
      const entry = WORKFLOWS.find((w) => w.name === name)!;

      // Act
      const generated = mermaid(await entry.definition());

      // Assess
      expect(readmeDiagram(name), `README has no diagram for ${name}: paste \`stepops graph ${name}\``).toBe(
        generated,
      );
    },
  );

  it('draws every state, every transition, each Choice rule and each Catch of the deploy workflow', () => {
    // Prepare
    const definition = deployWorkflow(localArns(DEPLOY_FUNCTIONS));

    // Act
    const diagram = mermaid(definition);

    // Assess
    for (const name of Object.keys(definition.States)) expect(diagram).toMatch(new RegExp(`\\b${name}\\b`));
    expect(diagram).toContain(
      'DeployBatches__DeployCommandDone -->|"commandStatus.status = running and commandStatus.waitSeconds present"| DeployBatches__WaitBeforeDeployPoll',
    );
    expect(diagram).toContain(
      'DeployBatches__DeployCommandDone -->|"commandStatus.status = failed"| DeployBatches__RecordCommandFailure',
    );
    expect(diagram).toContain('SnapshotRequested -->|"plan.snapshot.enabled = true"| CreateSnapshots');
    expect(diagram).toContain('DeployBatches -.->|"States.ALL"| PlanRollback');
    expect(diagram).toContain('subgraph DeployBatches__sub["DeployBatches: each item"]');
    expect(diagram).toContain('Failed[["Failed"]]');
  });

  it('changes when the definition changes, so a stale README copy fails', () => {
    // Prepare
    const definition = deployWorkflow(localArns(DEPLOY_FUNCTIONS));
    const changed = structuredClone(definition);
    (changed.States.AcquireLock as { Next: string }).Next = 'Notify';

    // Act & Assess
    expect(mermaid(changed)).not.toBe(mermaid(definition));
  });

  it('refuses an unknown workflow with exit 2, naming the known ones', async () => {
    // Prepare
    const errors: string[] = [];
    const output: Output = { out: () => {}, err: (t) => errors.push(t) };

    // Act
    const code = await graph('nope', {}, output).catch((error: unknown) => reportError(error, output));

    // Assess
    expect(code).toBe(2);
    expect(errors).toEqual(['stepops: unknown workflow "nope" (known: deploy, health, backup, recover, maintenance)']);
  });
});
