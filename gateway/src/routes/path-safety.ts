import { UnsafePathError } from '@lizards/lib';

// Encoded dot, slash, backslash or percent: a segment hiding them could be read differently upstream.
const ENCODED_SEPARATOR = /%(?:2e|2f|5c|25)/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
const FORBIDDEN_CHARS = /[\\\x00-\x1f\x7f]/;

/**
 * The path of a request target made safe to forward: duplicate slashes collapsed; rejected when it is not
 * origin-form, has `.`/`..` segments, encoded separators or control characters, or does not decode.
 * The query string is returned unchanged.
 */
export function normalizeRequestTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  if (!rawPath.startsWith('/')) throw new UnsafePathError(rawPath.slice(0, 64));
  if (ENCODED_SEPARATOR.test(rawPath) || FORBIDDEN_CHARS.test(rawPath)) throw new UnsafePathError(rawPath.slice(0, 64));
  // Each check below runs only when its trigger character is there: most paths have none.
  if (rawPath.includes('%')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rawPath);
    } catch {
      throw new UnsafePathError(rawPath.slice(0, 64));
    }
    if (FORBIDDEN_CHARS.test(decoded)) throw new UnsafePathError(rawPath.slice(0, 64));
  }
  if (rawPath.includes('/.') && rawPath.split('/').some((s) => s === '.' || s === '..'))
    throw new UnsafePathError(rawPath.slice(0, 64));
  const path = rawPath.includes('//') ? rawPath.replace(/\/{2,}/g, '/') : rawPath;
  return { path, query };
}
