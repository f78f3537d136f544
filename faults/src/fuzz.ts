import { mulberry32 } from '@lizards/lib';

/** A seeded PRNG (lib's mulberry32), so a failing fuzz case can be replayed from its seed. */
export const prng = mulberry32;

const LONE_SURROGATES = ['\ud800', '\udfff'];
const UNICODE = [
  '\u0000',
  '\u202e',
  '\ufeff',
  '😀',
  'Ω',
  '中文',
  '\u0007',
  '\\',
  '"',
  '%00',
  '../',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, sent as plain text
  '${x}',
  '<script>',
];

export class Fuzzer {
  private readonly rand: () => number;
  private readonly alphabet: string[];

  constructor(seed: number) {
    this.rand = prng(seed);
    this.alphabet = [...UNICODE, ...LONE_SURROGATES];
  }

  int(max: number): number {
    return Math.floor(this.rand() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  string(maxLength = 20): string {
    let s = '';
    const n = this.int(maxLength + 1);
    for (let i = 0; i < n; i++)
      s += this.rand() < 0.3 ? this.pick(this.alphabet) : String.fromCharCode(32 + this.int(95));
    return s;
  }

  /** A random JSON value: every type, nested a little. */
  value(depth = 0): unknown {
    const kind = this.int(depth > 3 ? 6 : 8);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.rand() < 0.5;
      case 2:
        return this.pick([0, -1, 1e308, -1e-308, 2 ** 53 + 1, 3.14, Number.MAX_SAFE_INTEGER]);
      case 3:
        return this.string();
      case 4:
        return this.string(200);
      case 5:
        return this.int(1e6);
      case 6:
        return Array.from({ length: this.int(5) }, () => this.value(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: this.int(5) }, () => [this.string(8), this.value(depth + 1)]));
    }
  }

  /** `template` with some fields replaced by values of the wrong type. */
  wrongTypes(template: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...template };
    for (const key of Object.keys(out)) if (this.rand() < 0.6) out[key] = this.value(2);
    if (this.rand() < 0.3) out[this.string(6)] = this.value(1);
    return out;
  }

  /** A raw request body: random, truncated, deeply nested, huge, wrong types or odd unicode. */
  body(template: Record<string, unknown>): string {
    switch (this.int(7)) {
      case 0:
        return JSON.stringify(this.value());
      case 1: {
        const text = JSON.stringify(this.wrongTypes(template));
        return text.slice(0, Math.max(1, this.int(text.length)));
      }
      case 2: {
        const depth = 1000 + this.int(20_000);
        return '['.repeat(depth) + ']'.repeat(this.rand() < 0.5 ? depth : this.int(depth));
      }
      case 3:
        return JSON.stringify({ ...template, pad: 'x'.repeat(200_000 + this.int(2_000_000)) });
      case 4:
        return JSON.stringify(this.wrongTypes(template));
      case 5:
        return JSON.stringify(Object.fromEntries(Object.keys(template).map((k) => [k, this.string(40)])));
      default:
        return this.string(300);
    }
  }
}
