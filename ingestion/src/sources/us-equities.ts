/** A US large-cap universe with realistic reference prices (USD, autumn 2024) and annualised volatility. */
export interface EquityProfile {
  symbol: string;
  price: number;
  volatility: number;
  /** Typical shares traded per second of a session, for plausible tick volumes. */
  volumePerSecond: number;
}

const rows: [string, number, number, number][] = [
  ['AAPL', 225.5, 0.25, 2400],
  ['MSFT', 430.1, 0.24, 850],
  ['GOOGL', 165.3, 0.3, 1100],
  ['AMZN', 186.4, 0.32, 1700],
  ['META', 524.8, 0.38, 560],
  ['NVDA', 119.1, 0.55, 12000],
  ['TSLA', 241.0, 0.6, 4000],
  ['BRK.B', 455.6, 0.16, 160],
  ['JPM', 211.2, 0.22, 390],
  ['V', 279.9, 0.18, 260],
  ['JNJ', 161.7, 0.15, 320],
  ['WMT', 80.1, 0.17, 670],
  ['PG', 170.4, 0.14, 280],
  ['MA', 491.3, 0.19, 110],
  ['UNH', 584.2, 0.24, 160],
  ['HD', 391.8, 0.22, 150],
  ['XOM', 115.6, 0.25, 720],
  ['CVX', 145.3, 0.25, 330],
  ['KO', 70.9, 0.13, 600],
  ['PEP', 171.2, 0.15, 250],
  ['ABBV', 195.7, 0.22, 250],
  ['MRK', 114.8, 0.21, 380],
  ['LLY', 907.5, 0.32, 130],
  ['AVGO', 165.4, 0.45, 1200],
  ['COST', 889.9, 0.2, 85],
  ['ORCL', 166.2, 0.3, 400],
  ['CSCO', 51.9, 0.2, 810],
  ['ADBE', 518.7, 0.32, 130],
  ['CRM', 271.3, 0.33, 260],
  ['NFLX', 701.0, 0.38, 130],
  ['AMD', 151.2, 0.5, 1900],
  ['INTC', 21.3, 0.45, 4700],
  ['QCOM', 170.1, 0.35, 360],
  ['TXN', 200.4, 0.25, 240],
  ['IBM', 214.8, 0.22, 190],
  ['BAC', 39.8, 0.25, 1700],
  ['WFC', 57.2, 0.26, 750],
  ['C', 62.9, 0.28, 590],
  ['GS', 501.5, 0.26, 100],
  ['MS', 104.9, 0.26, 310],
  ['DIS', 91.8, 0.27, 430],
  ['NKE', 84.6, 0.3, 480],
  ['MCD', 295.2, 0.17, 140],
  ['SBUX', 95.4, 0.28, 430],
  ['BA', 155.3, 0.38, 380],
  ['CAT', 361.7, 0.28, 110],
  ['GE', 180.6, 0.3, 220],
  ['HON', 210.4, 0.2, 130],
  ['UPS', 130.2, 0.27, 200],
  ['T', 21.4, 0.2, 1500],
  ['VZ', 42.3, 0.19, 900],
  ['PFE', 29.2, 0.24, 1700],
  ['TMO', 601.3, 0.22, 70],
  ['ABT', 114.9, 0.19, 260],
  ['CMCSA', 40.1, 0.24, 930],
  ['AMGN', 331.6, 0.22, 120],
  ['SPGI', 515.2, 0.2, 60],
  ['BLK', 901.4, 0.23, 30],
  ['PYPL', 72.3, 0.38, 690],
  ['UBER', 72.1, 0.42, 920],
];

export const US_EQUITIES: readonly EquityProfile[] = rows.map(([symbol, price, volatility, volumePerSecond]) => ({
  symbol,
  price,
  volatility,
  volumePerSecond,
}));

export const US_EQUITY_SYMBOLS: readonly string[] = US_EQUITIES.map((e) => e.symbol);
