/**
 * `run`, deferred: the returned function asks for one call of `run` on the next turn of the event loop, however
 * often it is called before then. For work that batches what arrived in one turn (deliveries, announcements).
 */
export function onNextTurn(run: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      run();
    });
  };
}
