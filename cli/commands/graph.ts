/**
 * `stepops graph <workflow> [--json]`: the workflow's diagram in Mermaid, generated from the very
 * definition that is deployed (the README's diagrams are its output, checked by a test).
 */
import type { Command } from 'commander';
import { EXIT, type Output, stdio } from '../output.ts';
import { mermaid } from '../runs/mermaid.ts';
import { workflowEntry, workflowNames } from '../runs/workflows.ts';

/**
 * Prints a workflow's Mermaid diagram.
 *
 * @example
 * process.exitCode = await graph('deploy');
 * @returns the exit code
 */
export async function graph(
  workflow: string,
  options: { json?: boolean } = {},
  output: Output = stdio,
): Promise<number> {
  const entry = workflowEntry(workflow);
  const diagram = mermaid(await entry.definition());
  output.out(options.json ? JSON.stringify({ workflow: entry.name, mermaid: diagram }, null, 2) : diagram);
  return EXIT.ok;
}

/**
 * Adds `graph` to the program.
 *
 * @example
 * register(program);
 */
export function register(program: Command): void {
  program
    .command('graph <workflow>')
    .description(`a workflow's diagram in Mermaid, from its definition (${workflowNames().join(', ')})`)
    .option('--json', 'print JSON')
    .action(async (workflow: string, options: { json?: boolean }) => {
      process.exitCode = await graph(workflow, options);
    });
}
