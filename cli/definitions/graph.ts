/** `stepops graph`: its options and help; the work loads on use from `../commands/graph.ts`. */
import type { Command } from 'commander';
import { workflowNames } from '../runs/workflows.ts';

/** Adds `graph` to the program. */
export function define(program: Command): void {
  program
    .command('graph <workflow>')
    .description(`a workflow's diagram in Mermaid, from its definition (${workflowNames().join(', ')})`)
    .option('--json', 'print JSON')
    .action(async (workflow: string, options: { json?: boolean }) => {
      const { graph } = await import('../commands/graph.ts');
      process.exitCode = await graph(workflow, options);
    });
}
