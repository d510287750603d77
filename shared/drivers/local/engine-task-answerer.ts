/**
 * Answers task tokens of the local engine, as `SendTaskSuccess` / `SendTaskFailure` answer them on
 * AWS: the waiting callback Task of a local run continues or fails.
 */
import type { TaskTokens } from '../../engine/callback.ts';
import type { TaskAnswerer } from '../ports.ts';

/**
 * A task answerer over the local engine's token registry.
 *
 * @example
 * await new EngineTaskAnswerer(engine.taskTokens).succeed(token, { approved: true, by: 'ana', at });
 */
export class EngineTaskAnswerer implements TaskAnswerer {
  readonly #tokens: TaskTokens;

  constructor(tokens: TaskTokens) {
    this.#tokens = tokens;
  }

  async succeed(token: string, output: unknown): Promise<void> {
    this.#tokens.sendTaskSuccess(token, output);
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    this.#tokens.sendTaskFailure(token, error, cause);
  }
}
