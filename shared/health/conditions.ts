/**
 * Conditions: the pure checks a probe's observation must pass. The same verdict whether the
 * prober or the host made the request.
 */
import type { HttpProbe } from '../config/schema.ts';
import { numericVerdict } from './numeric.ts';

/** Characters of a value an alert quotes at most: a field can hold a whole page. */
export const SHOWN_VALUE_LIMIT = 80;

function show(value: unknown): string {
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return text.length > SHOWN_VALUE_LIMIT
    ? `${text.slice(0, SHOWN_VALUE_LIMIT)}… (${text.length} characters)`
    : text;
}

/**
 * Reads a dotted path (`db.status`) from a parsed JSON value.
 *
 * @example
 * fieldAt({ db: { status: 'up' } }, 'db.status') // 'up'
 */
export function fieldAt(value: unknown, dottedPath: string): unknown {
  let current: unknown = value;
  for (const part of dottedPath.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** An HTTP response as the conditions of a probe see it. */
export interface HttpObservation {
  status: number;
  /** The body, or its first bytes when {@link HttpObservation.truncated}. */
  body: string;
  latencyMs: number;
  /** The body was cut: only its first bytes are in `body`. */
  truncated?: boolean;
  /** Whether the whole body contains `bodyContains`, when the host checked it (a truncated body). */
  containsOnHost?: boolean;
}

/**
 * Checks a response against an HTTP probe's conditions, in order: status, body contains, JSON
 * field, latency. Pure: the same verdict whether the prober or the host made the request.
 *
 * @example
 * httpVerdict(probe, { status: 503, body: 'down', latencyMs: 12 }) // { ok: false, detail: 'expected status 200, got 503' }
 */
export function httpVerdict(probe: HttpProbe, seen: HttpObservation): { ok: boolean; detail: string } {
  const fail = (detail: string) => ({ ok: false, detail });
  const { status, body, latencyMs } = seen;
  let measured: string | undefined;
  if (!probe.expectStatus.includes(status)) {
    return fail(`expected status ${probe.expectStatus.join(' or ')}, got ${status}`);
  }
  if (probe.bodyContains !== undefined) {
    const contains =
      seen.truncated && seen.containsOnHost !== undefined
        ? seen.containsOnHost
        : body.includes(probe.bodyContains);
    if (!contains) return fail(`body does not contain ${JSON.stringify(probe.bodyContains)}`);
  }
  if (probe.bodyMatches !== undefined) {
    if (!new RegExp(probe.bodyMatches, 'm').test(body)) {
      return fail(
        `body does not match /${probe.bodyMatches}/${seen.truncated ? ` (first ${body.length} characters read)` : ''}`,
      );
    }
  }
  if (probe.jsonField !== undefined) {
    const { path: fieldPath, equals, oneOf } = probe.jsonField;
    if (seen.truncated) {
      return fail(
        `body too large to read field ${fieldPath} back from the host (first ${body.length} characters kept)`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return fail(`body is not JSON, expected field ${fieldPath}`);
    }
    const value = fieldAt(parsed, fieldPath);
    if (value === undefined) return fail(`field ${fieldPath} is missing`);
    if (equals !== undefined && value !== equals) {
      return fail(`${fieldPath} is ${show(value)}, expected ${show(equals)}`);
    }
    if (oneOf !== undefined && !oneOf.some((allowed) => allowed === value)) {
      return fail(`${fieldPath} is ${show(value)}, expected one of ${oneOf.join(', ')}`);
    }
    if (probe.jsonField.compare !== undefined) {
      const verdict = numericVerdict(fieldPath, value, probe.jsonField.compare);
      if (!verdict.ok) return verdict;
      measured = verdict.detail;
    }
  }
  if (probe.maxLatencyMs !== undefined && latencyMs > probe.maxLatencyMs) {
    return fail(`took ${latencyMs} ms, limit ${probe.maxLatencyMs} ms`);
  }
  return { ok: true, detail: `${status} in ${latencyMs} ms${measured ? `, ${measured}` : ''}` };
}
