#!/usr/bin/env node
/**
 * The `stepops` command. Each command lives in `cli/commands/<name>.ts` and exports
 * `register(program)`; adding a command is one line in {@link commands}.
 */
import { Command } from 'commander';
import { register as registerDemo } from './commands/demo.ts';
import { register as registerPlan } from './commands/plan.ts';
import { register as registerApprovals } from './commands/recover.ts';
import { register as registerRun } from './commands/run.ts';
import { register as registerValidate } from './commands/validate.ts';
import { reportError } from './output.ts';

/** Every command, in the order `--help` lists them. */
const commands: ((program: Command) => void)[] = [
  registerValidate,
  registerPlan,
  registerRun,
  registerApprovals,
  registerDemo,
];

/**
 * Builds the program with every command registered; errors are thrown, not exited on.
 *
 * @example
 * await buildProgram().parseAsync(['node', 'stepops', 'validate']);
 */
export function buildProgram(): Command {
  const program = new Command('stepops')
    .description('serverless operations orchestrator: deploys, backups, health probes and recovery runbooks')
    .showHelpAfterError('(run "stepops --help" for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
