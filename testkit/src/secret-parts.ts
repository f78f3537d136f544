/** Every piece of `secret`, `size` characters long, that `text` contains: [] when no part of it leaked. */
export function secretParts(text: string, secret: string, size = 5): string[] {
  const parts: string[] = [];
  for (let i = 0; i + size <= secret.length; i++) {
    const part = secret.slice(i, i + size);
    if (text.includes(part)) parts.push(part);
  }
  return parts;
}
