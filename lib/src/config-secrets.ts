const SECRET_NAME = /SECRET|TOKEN|PASSWORD|KEY/i;
// From the scheme's `://` to the last `@`: a password may hold `@` or `/` unencoded, and masking a little too much is
// harmless.
const URL_USERINFO = /:\/\/([\s\S]*)@/;

/**
 * Marks only a placeholder carries: "change me" and "replace me" in any spelling, "placeholder", "example",
 * "your-…", `<…>`, and the words todo, fixme, tbd and xxx. Words, not letters: `changemedia` is not a placeholder.
 */
const PLACEHOLDER_MARKS = [
  /change[-_. ]?(?:me|it|this)(?![a-z])/i,
  /replace[-_. ]?(?:me|this)(?![a-z])/i,
  /placeholder/i,
  /example/i,
  /^your[-_. ]/i,
  /^<.*>$/,
  /(?<![a-z0-9])(?:todo|fixme|tbd|x{3,})(?![a-z0-9])/i,
];

/**
 * Well-known default secrets, refused when they are the whole value but for case, punctuation and trailing digits
 * (`Admin123!`).
 */
const DEFAULT_SECRETS = new Set([
  'secret',
  'password',
  'passwd',
  'pass',
  'admin',
  'root',
  'token',
  'key',
  'apikey',
  'default',
  'test',
  'changeit',
  'letmein',
  'qwerty',
]);

/** Whether a variable's name says it holds a secret: `*SECRET*`, `*TOKEN*`, `*PASSWORD*` or `*KEY*`, in any case. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** `value` with the userinfo (user and password) of a URL in it replaced by `***`. */
export function maskUrlUserinfo(value: string): string {
  return value.replace(URL_USERINFO, '://***@');
}

/**
 * How a variable's value may be shown in an error: masked when the name says secret, without URL userinfo otherwise.
 */
export function printableValue(name: string, value: string): string {
  return isSecretName(name) ? 'a value, masked' : JSON.stringify(maskUrlUserinfo(value));
}

/** Whether `secret` is a placeholder or a well-known default rather than a real secret. */
export function isPlaceholderSecret(secret: string): boolean {
  const bare = secret
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .replace(/[0-9]+$/, '');
  return DEFAULT_SECRETS.has(bare) || PLACEHOLDER_MARKS.some((mark) => mark.test(secret));
}

/**
 * Why a variable's value may not be used as it is, or undefined: a secret-named variable holding a placeholder
 * (each item of a comma-separated list is checked), or any URL whose password is one.
 */
export function placeholderProblem(name: string, value: string): string | undefined {
  if (isSecretName(name) && value.split(',').some((item) => isPlaceholderSecret(item.trim()))) {
    return `${name}: looks like a placeholder; set a real secret (got ${printableValue(name, value)})`;
  }
  const password = URL_USERINFO.exec(value)?.[1]?.split(':').slice(1).join(':');
  if (password && isPlaceholderSecret(password)) {
    return (
      `${name}: the password in the URL looks like a placeholder; ` +
      `set a real one (got ${printableValue(name, value)})`
    );
  }
  return undefined;
}
