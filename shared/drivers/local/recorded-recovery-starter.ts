/**
 * Local recovery starter: records each request as a line of `<stepopsHome()>/recoveries.jsonl`,
 * for the local recover workflow (or the operator) to pick up, and tells an optional listener.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RecoveryRequest, RecoveryStarter } from '../ports.ts';
import { stepopsHome } from './home.ts';

/**
 * Records recovery requests locally.
 *
 * @example
 * const starter = new RecordedRecoveryStarter({ onStart: (r) => console.log(`would run ${r.runbook}`) });
 */
export class RecordedRecoveryStarter implements RecoveryStarter {
  readonly #home: () => string;
  readonly #onStart: ((request: RecoveryRequest, executionId: string) => Promise<void> | void) | undefined;

  constructor(
    options: {
      home?: () => string;
      onStart?: (request: RecoveryRequest, executionId: string) => Promise<void> | void;
    } = {},
  ) {
    this.#home = options.home ?? stepopsHome;
    this.#onStart = options.onStart;
  }

  async start(request: RecoveryRequest): Promise<{ executionId: string }> {
    const executionId = `local-recovery-${request.target}-${request.runbook}-${request.runId}`;
    await mkdir(this.#home(), { recursive: true });
    await appendFile(
      path.join(this.#home(), 'recoveries.jsonl'),
      `${JSON.stringify({ ...request, executionId, at: new Date().toISOString() })}\n`,
    );
    await this.#onStart?.(request, executionId);
    return { executionId };
  }
}
