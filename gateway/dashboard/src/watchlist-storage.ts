const STORAGE_KEY = 'lizards.watchlist';
const SYMBOL = /^[A-Z][A-Z0-9.-]{0,11}$/;

/** What a first visit shows: the market, live, before anyone types a ticker. */
export const DEFAULT_WATCHLIST = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META'];

export function isSymbol(text: string): boolean {
  return SYMBOL.test(text);
}

/** The user's own list once they have changed it (even to empty); the default list before that. */
export function loadWatchlist(): string[] {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === null) return [...DEFAULT_WATCHLIST];
  try {
    const list = JSON.parse(saved) as unknown;
    return Array.isArray(list)
      ? list.filter((s): s is string => typeof s === 'string' && isSymbol(s))
      : [...DEFAULT_WATCHLIST];
  } catch {
    return [...DEFAULT_WATCHLIST];
  }
}

export function saveWatchlist(symbols: string[]): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(symbols));
}
