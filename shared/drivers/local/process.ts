/** Processes of this machine, as the local drivers check them. */

/**
 * Whether a process exists (signal 0 checks without sending anything; EPERM means it exists,
 * owned by another user).
 *
 * @example
 * processExists(process.pid) // true
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
