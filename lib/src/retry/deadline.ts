/**
 * `work`'s outcome, or `onTimeout()`'s when `work` has not settled within `ms` (a throw from `onTimeout` rejects).
 * `work` itself goes on; a rejection it settles with after the deadline is dropped, since nobody waits for it.
 */
export async function withDeadline<T, U>(work: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}
