/**
 * One dependency check for /ready: resolves to true or 'ok' (ready), false or a status word (not ready), or
 * `{ degraded: reason }` — the service still serves, with less (e.g. uncached): ready, and says so.
 */
export type ReadinessResult = boolean | string | { degraded: string };
export type ReadinessCheck = () => ReadinessResult | Promise<ReadinessResult>;

export interface ReadinessReport {
  /** 503 when a check is down, else 200. */
  statusCode: 200 | 503;
  body: { status: 'ready' | 'degraded' | 'not ready'; checks: Record<string, string> };
}

/** Runs every check (a throwing one counts as down, its message as the status) and sums them up. */
export async function readinessReport(readiness: Record<string, ReadinessCheck>): Promise<ReadinessReport> {
  const checks: Record<string, string> = {};
  let ready = true;
  let degraded = false;
  for (const [name, check] of Object.entries(readiness)) {
    let result: ReadinessResult;
    try {
      result = await check();
    } catch (err) {
      result = (err as Error).message || 'error';
    }
    if (typeof result === 'object') {
      degraded = true;
      checks[name] = `degraded: ${result.degraded}`;
      continue;
    }
    const ok = result === true || result === 'ok';
    checks[name] = ok ? 'ok' : result === false ? 'down' : String(result);
    ready &&= ok;
  }
  return {
    statusCode: ready ? 200 : 503,
    body: { status: !ready ? 'not ready' : degraded ? 'degraded' : 'ready', checks },
  };
}
