import { EXIT, type Output, stdio } from '../output.ts';
import { mermaid } from '../runs/mermaid.ts';
import { workflowEntry } from '../runs/workflows.ts';

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
