/**
 * How deep a JSON value nests, checked without recursion: input nested thousands of levels deep
 * makes aws-local-stepfunctions overflow its stack where no one sees it, and the run never settles.
 * No stepops input comes near the limit (a run's input is a flat object; a GitHub webhook nests a
 * few levels), so deeper input is refused at the door, before anything starts.
 */

/** The deepest nesting accepted in a run's input or a request body (objects and arrays). */
export const MAX_INPUT_DEPTH = 64;

/** Input nests deeper than {@link MAX_INPUT_DEPTH}; nothing was started. */
export class InputTooDeepError extends Error {
  constructor(what: string, max: number = MAX_INPUT_DEPTH) {
    super(`${what} nests deeper than ${max} levels of objects and arrays; nothing was started`);
    this.name = 'InputTooDeepError';
  }
}

/**
 * Whether `value` nests objects and arrays more than `max` levels deep (a scalar is depth 0, `{}`
 * depth 1). Stops at the first path over the limit, so a cyclic value ends too.
 *
 * @example
 * nestsDeeperThan({ a: [{ b: 1 }] }, 2) // true (depth 3)
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Refuses input that nests deeper than {@link MAX_INPUT_DEPTH}.
 *
 * @throws InputTooDeepError naming `what`
 * @example
 * checkInputDepth(input, 'the input of the run');
 */
export function checkInputDepth(value: unknown, what: string): void {
  if (nestsDeeperThan(value, MAX_INPUT_DEPTH)) throw new InputTooDeepError(what);
}
