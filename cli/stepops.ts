#!/usr/bin/env node
/**
 * The `stepops` command. Each command lives in `cli/commands/<name>.ts` and exports
 * `register(program)`; adding a command is one line in {@link commands}.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { register as registerBackup } from './commands/backup.ts';
import { register as registerConsole } from './commands/console.ts';
import { register as registerDemo } from './commands/demo.ts';
import { register as registerDeploy } from './commands/deploy.ts';
import { register as registerFollow } from './commands/follow.ts';
import { register as registerGraph } from './commands/graph.ts';
import { register as registerHealth } from './commands/health.ts';
import { register as registerHistory } from './commands/history.ts';
import { register as registerLogs } from './commands/logs.ts';
import { register as registerPlan } from './commands/plan.ts';
import { register as registerRecover } from './commands/recover.ts';
import { register as registerReport } from './commands/report.ts';
import { register as registerRollback } from './commands/rollback.ts';
import { register as registerStatus } from './commands/status.ts';
import { register as registerUnlock } from './commands/unlock.ts';
import { register as registerValidate } from './commands/validate.ts';
import { reportError } from './output.ts';

/** Every command, in the order `--help` lists them. */
const commands: ((program: Command) => void)[] = [
  registerValidate,
  registerPlan,
  registerDeploy,
  registerBackup,
  registerRecover,
  registerHealth,
  registerDemo,
  registerUnlock,
  registerFollow,
  registerStatus,
  registerHistory,
  registerLogs,
  registerRollback,
  registerGraph,
  registerReport,
  registerConsole,
];

/** The package's version, for `stepops --version`. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * Builds the program with every command registered; errors are thrown, not exited on.
 *
 * @example
 * await buildProgram().parseAsync(['node', 'stepops', 'validate']);
 */
export function buildProgram(): Command {
  const program = new Command('stepops')
    .description('serverless operations orchestrator: deploys, backups, health probes and recovery runbooks')
    .version(VERSION, '-V, --version', 'print the version')
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
