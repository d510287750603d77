/**
 * Whether a local run is still alive, from its record `<stepopsHome()>/runs/<run id>/run.json`
 * (written by the CLI when the run starts and when it ends): alive while its status is `RUNNING`
 * and the process that runs it exists; unknown without a record. A run is named by its id (the
 * execution name) or by the execution ARN the local engine gives it (`$$.Execution.Id`, ending in
 * `:execution:<state machine>:<run id>`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunLiveness } from '../ports.ts';
import { stepopsHome } from './home.ts';
import { processExists } from './process.ts';

/**
 * Local run liveness.
 *
 * @example
 * await new LocalRunLiveness().alive('demo-3f2a…') // false once the run ended or its process died
 */
export class LocalRunLiveness implements RunLiveness {
  readonly #home: () => string;

  constructor(options: { home?: () => string } = {}) {
    this.#home = options.home ?? stepopsHome;
  }

  /** True while the run is running in a live process, false once it is not, undefined when unknown. */
  async alive(id: string): Promise<boolean | undefined> {
    const runId = /:execution:[^:]+:([^:]+)$/.exec(id)?.[1] ?? id;
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(runId)) return undefined;
    const text = await readFile(path.join(this.#home(), 'runs', runId, 'run.json'), 'utf8').catch(
      () => undefined,
    );
    if (text === undefined) return undefined;
    try {
      const run = JSON.parse(text) as { status?: unknown; pid?: unknown };
      if (run.status !== 'RUNNING') return false;
      return typeof run.pid === 'number' ? processExists(run.pid) : undefined;
    } catch {
      return undefined;
    }
  }
}
