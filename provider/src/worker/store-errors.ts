/**
 * True for errors caused by the data itself (PostgreSQL classes 22 data exception, 23 integrity): retrying the same
 * rows cannot help.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}
