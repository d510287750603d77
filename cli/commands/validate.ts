/**
 * `stepops validate [target...]`: validates target files (every file in targets/ when none is
 * named) and lists every problem as `file: path: message`. Exit 0 when all are valid, 2 otherwise.
 */
import type { Command } from 'commander';
import { formatIssue, isTargetPath, loadTargets, resolveTargetFile } from '../../shared/config/load.ts';
import { unregisteredTargetFiles } from '../../shared/config/registry.ts';
import { EXIT, type Output, stdio } from '../output.ts';

/**
 * Validates the named targets (names or file paths), printing ✓ per valid target and every issue of
 * the invalid ones. A file of `targets/` missing from the registry in `targets/index.ts` is an issue
 * too, naming the lines to add.
 *
 * @example
 * const code = await validate(['datizmo', './my-target.ts']);
 * @returns the exit code
 */
export async function validate(
  names: readonly string[],
  output: Output = stdio,
  targetsDir?: string,
): Promise<number> {
  const loaded = await loadTargets(names, targetsDir);
  const named = names.filter((name) => !isTargetPath(name));
  // A file the Lambdas' registry lacks would validate, plan and run here but be unknown on AWS.
  const unregistered = unregisteredTargetFiles(targetsDir, names.length === 0 ? undefined : named);
  const targets = loaded.targets.filter((t) => !unregistered.some((issue) => issue.target === t.name));
  const issues = [...loaded.issues, ...unregistered];
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
