/** `stepops demo`: its options and help; the work loads on use from `../commands/demo.ts`. */
import type { Command } from 'commander';
import { DEMO_PARTS } from '../choices.ts';

/** Adds `demo` to the program. */
export function define(program: Command): void {
  program
    .command('demo')
    .description(
      'the product on this machine, no AWS needed: deploy and rollback, backups, health checks and recovery',
    )
    .option(
      '--dir <dir>',
      'lab directory, wiped and re-created (default: .stepops/demo, or demo in $STEPOPS_HOME)',
    )
    .option('--port <port>', 'port of the sample app (default: 47613)')
    .option('--only <parts>', `run only these parts, comma-separated: ${DEMO_PARTS.join(', ')}`)
    .action(async (options: { dir?: string; port?: string; only?: string }) => {
      const { demoParts, portFrom, runDemo } = await import('../commands/demo.ts');
      const port = portFrom(options.port);
      const parts = demoParts(options.only);
      const report = await runDemo({
        ...(options.dir ? { dir: options.dir } : {}),
        ...(port ? { port } : {}),
        parts,
      });
      process.exitCode = report.interrupted ? 130 : report.ok ? 0 : 1;
    });
}
