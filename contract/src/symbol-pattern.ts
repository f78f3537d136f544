/** Ticker symbols: upper case, a letter first, dots and dashes for share classes (`BRK.B`, `BF-B`). */
export const SYMBOL_PATTERN = '^[A-Z][A-Z0-9.\\-]{0,9}$';
