/**
 * Regions and the per-region cache of AWS SDK clients. Each service's client lives in its own
 * module (`ssm-client.ts`, `ec2-client.ts`, …), so that a bundle evaluates at start only the
 * clients its static imports reach: a client loaded through a dynamic `import()` on a rare path
 * stays out of the cold start.
 */

const cache = new Map<string, unknown>();

/**
 * The region of this process: `AWS_REGION` (set in Lambda), else `AWS_DEFAULT_REGION`.
 *
 * @example
 * const region = defaultRegion() ?? 'eu-west-1';
 */
export function defaultRegion(): string | undefined {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
}

/**
 * The region inside an ARN (`arn:aws:sns:eu-west-1:123456789012:alerts` → `eu-west-1`).
 *
 * @example
 * regionOfArn('arn:aws:sns:eu-west-1:123456789012:alerts') // 'eu-west-1'
 */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

/**
 * The client of a service for a region (the given one, else this process's), created once per
 * process and region and kept so that warm Lambda invocations reuse its connections.
 *
 * @example
 * const client = cachedClient('ssm', region, (r) => new SSMClient({ region: r }));
 * @throws Error when no region is given and none is set in the environment
 */
export function cachedClient<T>(kind: string, region: string | undefined, create: (region: string) => T): T {
  const resolved = region ?? defaultRegion();
  if (!resolved) throw new Error('no AWS region: set AWS_REGION or declare the region in the target');
  const key = `${kind}:${resolved}`;
  let client = cache.get(key) as T | undefined;
  if (client === undefined) {
    client = create(resolved);
    cache.set(key, client);
  }
  return client;
}
