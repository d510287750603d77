/**
 * `stepops validate [target...]`: validates target files (every file in targets/ when none is
 * named) and lists every problem as `file: path: message`. Exit 0 when all are valid, 2 otherwise.
 */
import type { Command } from 'commander';
import { formatIssue, loadTargets, resolveTargetFile } from '../../shared/config/load.ts';
import { EXIT, type Output, stdio } from '../output.ts';

/**
 * Validates the named targets (names or file paths), printing ✓ per valid target and every issue of
 * the invalid ones.
 *
 * @example
 * const code = await validate(['datizmo', './my-target.ts']);
 * @returns the exit code
 */
export async function validate(names: readonly string[], output: Output = stdio): Promise<number> {
  const { targets, issues } = await loadTargets(names);
  for (const target of targets) output.out(`✓ ${target.name}`);
  for (const issue of issues) output.err(formatIssue(issue));
  const invalidFiles = new Set(issues.map((i) => i.file)).size;
  if (invalidFiles > 0) {
    output.err(
      `${invalidFiles} invalid target file${invalidFiles === 1 ? '' : 's'}, ${issues.length} problem${issues.length === 1 ? '' : 's'}; ${targets.length} valid`,
    );
    return EXIT.invalidInput;
  }
  if (targets.length === 0) {
    output.err(
      `no target files found${names.length === 0 ? ` in ${resolveTargetFile('x').replace(/x\.ts$/, '')}` : ''}`,
    );
    return EXIT.invalidInput;
  }
  return EXIT.ok;
}

/**
 * Adds `validate` to the program.
 *
 * @example
 * register(new Command('stepops'));
 */
export function register(program: Command): void {
  program
    .command('validate')
    .description('validate target files (all of targets/ when none given); exit 2 listing every problem')
    .argument('[target...]', 'target names (targets/<name>.ts) or paths to target files')
    .action(async (names: string[]) => {
      process.exitCode = await validate(names);
    });
}
