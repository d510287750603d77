/**
 * Secrets from SSM Parameter Store, read at run time (never from the environment or the bundle) and
 * cached for a few minutes per container so that a rotated secret is picked up without a deploy.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';

/** How long a parameter value is reused before it is read again. */
export const SECRET_CACHE_MS = 5 * 60 * 1000;

/** Reads parameters with decryption and caches them; values never appear in errors or logs. */
export class ParameterCache {
  readonly #ssm: SSMClient;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #values = new Map<string, { value: Promise<string>; at: number }>();

  /**
   * @example
   * const secrets = new ParameterCache(new SSMClient({}));
   * const secret = await secrets.get('/stepops/prod/github-webhook-secret');
   */
  constructor(ssm: SSMClient, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#ssm = ssm;
    this.#ttlMs = options.ttlMs ?? SECRET_CACHE_MS;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The decrypted value of a parameter.
   *
   * @throws Error naming the parameter (never its value) when it is missing or empty
   */
  get(name: string): Promise<string> {
    const cached = this.#values.get(name);
    if (cached && this.#now() - cached.at < this.#ttlMs) return cached.value;
    const value = this.#ssm
      .send(new GetParameterCommand({ Name: name, WithDecryption: true }))
      .then((out) => {
        const text = out.Parameter?.Value;
        if (!text) throw new Error(`SSM parameter ${name} is empty`);
        return text;
      });
    // A failed read is not cached: the next request tries again.
    value.catch(() => this.#values.delete(name));
    this.#values.set(name, { value, at: this.#now() });
    return value;
  }

  /** Forgets every cached value. */
  clear(): void {
    this.#values.clear();
  }
}
