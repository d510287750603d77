/**
 * `stepops graph`: Mermaid from the real definitions, and the copy of each workflow's diagram in
 * docs/workflows.md kept in step with them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { graph } from '../../../cli/commands/graph.ts';
import { type Output, reportError } from '../../../cli/output.ts';
import { mermaid } from '../../../cli/runs/mermaid.ts';
import { WORKFLOWS } from '../../../cli/runs/workflows.ts';
import { localArns } from '../../../workflows/asl.ts';
import { DEPLOY_FUNCTIONS, deployWorkflow } from '../../../workflows/deploy.ts';

const DIAGRAMS_FILE = path.join(import.meta.dirname, '..', '..', '..', 'docs', 'workflows.md');

/**
 * With `STEPOPS_WRITE_DOCS=1`, the diagrams in docs/workflows.md are rewritten from the definitions
 * first (a workflow without a block gets one at the end of the file), so the checks below pass.
 */
async function writtenDiagrams(): Promise<string> {
  let text = readFileSync(DIAGRAMS_FILE, 'utf8');
  if (process.env.STEPOPS_WRITE_DOCS !== '1') return text;
  for (const entry of WORKFLOWS) {
    const block = `<!-- stepops graph ${entry.name} -->\n\`\`\`mermaid\n${mermaid(await entry.definition())}\`\`\`\n<!-- end stepops graph ${entry.name} -->`;
    const pattern = new RegExp(
      `<!-- stepops graph ${entry.name} -->\\n[\\s\\S]*?<!-- end stepops graph ${entry.name} -->`,
    );
    text = pattern.test(text) ? text.replace(pattern, () => block) : `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(DIAGRAMS_FILE, text);
  return text;
}

const DIAGRAMS = await writtenDiagrams();

function documentedDiagram(workflow: string): string | undefined {
  const match = new RegExp(
    `<!-- stepops graph ${workflow} -->\\n\`\`\`mermaid\\n([\\s\\S]*?)\`\`\`\\n<!-- end stepops graph ${workflow} -->`,
  ).exec(DIAGRAMS);
  return match?.[1];
}

describe('stepops graph', () => {
  it.each(WORKFLOWS.map((w) => w.name))(
    'docs/workflows.md shows the %s diagram exactly as the definition gives it',
    async (name) => {
      // Prepare
      const entry = WORKFLOWS.find((w) => w.name === name)!;

      // Act
      const generated = mermaid(await entry.definition());

      // Assess
      expect(
        documentedDiagram(name),
        `docs/workflows.md has no diagram for ${name}: paste \`stepops graph ${name}\``,
      ).toBe(generated);
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

  it('changes when the definition changes, so a stale copy in docs/ fails', () => {
    // Prepare
    const definition = deployWorkflow(localArns(DEPLOY_FUNCTIONS));
    const changed = structuredClone(definition);
    (changed.States.ClaimHosts as { Next: string }).Next = 'Notify';

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
    expect(errors).toEqual([
      'stepops: unknown workflow "nope" (known: deploy, health, backup, recover, maintenance)',
    ]);
  });
});
