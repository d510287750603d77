/**
 * What the AWS fakes share: errors shaped as SDK v3 raises them (a `name` that is the service's
 * error code, `$fault`, `$metadata.httpStatusCode`), tag lists, and a record of every call.
 */

/** A command's input as a fake reads it (each command's own SDK type is checked by the code under test). */
// biome-ignore lint/suspicious/noExplicitAny: one shape for the inputs of every command of a service
export type Input = Record<string, any>;

/** An AWS error as the SDK raises it for an unmodelled code (EC2's codes, SSM throttling, …). */
export function awsError(
  name: string,
  message: string,
  options: { status?: number; fault?: 'client' | 'server'; headers?: Record<string, string> } = {},
): Error {
  const status = options.status ?? 400;
  return Object.assign(new Error(message), {
    name,
    Code: name,
    $fault: options.fault ?? (status >= 500 ? 'server' : 'client'),
    $metadata: { httpStatusCode: status, attempts: 1, totalRetryDelay: 0 },
    ...(options.headers ? { $response: { statusCode: status, headers: options.headers } } : {}),
  });
}

/** `[{ Key, Value }]` as a map. */
export function tagMap(
  tags: readonly { Key?: string; Value?: string }[] | undefined,
): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** A map as `[{ Key, Value }]`. */
export function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** Tags given at creation in EC2's `TagSpecifications`, for one resource type. */
export function specifiedTags(
  specs: readonly { ResourceType?: string; Tags?: { Key?: string; Value?: string }[] }[] | undefined,
  resourceType: string,
): Record<string, string> {
  return tagMap((specs ?? []).filter((s) => s.ResourceType === resourceType).flatMap((s) => s.Tags ?? []));
}

/** One call a fake answered (or refused), in order across every service of one install. */
export interface FakeCall {
  /** `service:Operation`, e.g. `ec2:DescribeSnapshots`. */
  call: string;
  input: Record<string, unknown>;
  /** The region of the client that sent it. */
  region: string;
  /** The error name when the fake refused it. */
  error?: string;
}

/** The calls of one install, shared by its services. */
export class CallLog {
  readonly calls: FakeCall[] = [];

  /** The inputs of every call of `service:Operation`. */
  of(call: string): Record<string, unknown>[] {
    return this.calls.filter((c) => c.call === call).map((c) => c.input);
  }

  /** `service:Operation` of every call, in order. */
  names(): string[] {
    return this.calls.map((c) => c.call);
  }
}

/** The region a mocked client was built for (aws-sdk-client-mock hands the client to a fake). */
export async function clientRegion(getClient: () => unknown): Promise<string> {
  const config = (getClient() as { config?: { region?: string | (() => Promise<string>) } }).config;
  const region = config?.region;
  return typeof region === 'function' ? await region() : (region ?? '');
}

/**
 * Wraps a fake's answer: records the call (and its refusal) and hands the answer the client's region.
 */
export function answer<I extends object, O>(
  log: CallLog,
  call: string,
  fn: (input: I, region: string, getClient: () => unknown) => O | Promise<O>,
): (input: I, getClient: () => unknown) => Promise<O> {
  return async (input, getClient) => {
    const region = await clientRegion(getClient);
    const entry: FakeCall = { call, input: input as Record<string, unknown>, region };
    log.calls.push(entry);
    try {
      return await fn(input, region, getClient);
    } catch (error) {
      entry.error = (error as Error).name;
      throw error;
    }
  };
}
