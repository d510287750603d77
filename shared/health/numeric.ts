/**
 * Numeric conditions, as a probe declares them (`"< 60"`, `">= 99.5"`, `"!= 0"`): a comparison
 * operator and a number, checked against a value a probe measured (a JSON field, a command's output).
 */
import { NUMERIC_CONDITION_PATTERN } from '../config/names.ts';

/** The operators a numeric condition may use. */
export type NumericOperator = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** A parsed numeric condition. */
export interface NumericCondition {
  operator: NumericOperator;
  value: number;
}

/**
 * Parses a condition such as `"< 60"`; `undefined` when it is not one.
 *
 * @example
 * parseNumericCondition('<= 90') // { operator: '<=', value: 90 }
 * parseNumericCondition('about 60') // undefined
 */
export function parseNumericCondition(text: string): NumericCondition | undefined {
  const match = NUMERIC_CONDITION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  return { operator: match[1] as NumericOperator, value: Number(match[2]) };
}

/**
 * Whether a measured number meets a condition.
 *
 * @example
 * meetsCondition(42, { operator: '<', value: 60 }) // true
 */
export function meetsCondition(measured: number, condition: NumericCondition): boolean {
  const { operator, value } = condition;
  switch (operator) {
    case '<':
      return measured < value;
    case '<=':
      return measured <= value;
    case '>':
      return measured > value;
    case '>=':
      return measured >= value;
    case '==':
      return measured === value;
    case '!=':
      return measured !== value;
  }
}

/**
 * Reads a measured value as a number: a JSON number, or text that is one number (surrounding
 * white space allowed); `undefined` otherwise.
 *
 * @example
 * measuredNumber('  42.5\n') // 42.5
 * measuredNumber('42 ms') // undefined
 */
export function measuredNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || !/^\s*-?\d+(\.\d+)?\s*$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Checks a measured value against a condition, with the detail a person reads.
 *
 * @example
 * numericVerdict('queue latency', 75, '< 60') // { ok: false, detail: 'queue latency is 75, expected < 60' }
 */
export function numericVerdict(
  label: string,
  measured: unknown,
  condition: string,
): { ok: boolean; detail: string } {
  const parsed = parseNumericCondition(condition);
  if (!parsed)
    return { ok: false, detail: `condition ${JSON.stringify(condition)} is not a numeric condition` };
  const number = measuredNumber(measured);
  if (number === undefined) {
    const shown = String(typeof measured === 'string' ? JSON.stringify(measured) : measured).slice(0, 80);
    return { ok: false, detail: `${label} is ${shown}, not a number (expected ${condition.trim()})` };
  }
  const ok = meetsCondition(number, parsed);
  return {
    ok,
    detail: `${label} is ${number}${ok ? ` (${condition.trim()})` : `, expected ${condition.trim()}`}`,
  };
}
