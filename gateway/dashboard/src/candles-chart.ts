import { CandlestickSeries, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { CandleInterval, LizardsClient } from '@lizards/client';
import { themedChart, toChartTime } from './chart-theme.js';
import { $, cssVar } from './formats.js';

export type CandleRange = '1h' | '1d' | '1w';
type ShownInterval = Extract<CandleInterval, '1m' | '5m' | '1h'>;

const INTERVAL_MS: Record<ShownInterval, number> = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000 };
const RANGE_MS: Record<CandleRange, number> = { '1h': 3_600_000, '1d': 86_400_000, '1w': 7 * 86_400_000 };
/** The candles route answers at most this many per request. */
const MAX_CANDLES = 10_000;

function seriesColors() {
  const up = cssVar('--up');
  const down = cssVar('--down');
  return {
    upColor: up,
    downColor: down,
    borderUpColor: up,
    borderDownColor: down,
    wickUpColor: up,
    wickDownColor: down,
  };
}

/** Whether a range in candles of an interval fits one request (1 w of 1 m candles does not). */
export function fits(interval: ShownInterval, range: CandleRange): boolean {
  return RANGE_MS[range] / INTERVAL_MS[interval] <= MAX_CANDLES;
}

interface Bar {
  time: UTCTimestamp;
  open: number;
  high: number;
  low: number;
  close: number;
}

/**
 * OHLC candles of the selected symbol from `GET /prices/:symbol/candles`, in the interval and over the range the
 * two radio groups choose; live prices extend the last candle or open the next.
 */
export class CandlesChart {
  private chart: IChartApi | undefined;
  private series: ISeriesApi<'Candlestick'> | undefined;
  private symbol: string | undefined;
  private interval: ShownInterval = '1m';
  private range: CandleRange = '1h';
  private last: Bar | undefined;
  private loading = 0;
  /** Candles shown, for the tests. */
  count = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly client: LizardsClient,
  ) {
    for (const input of document.querySelectorAll<HTMLInputElement>('input[name=interval], input[name=range]')) {
      input.addEventListener('change', () => {
        if (input.name === 'interval') this.interval = input.value as ShownInterval;
        else this.range = input.value as CandleRange;
        void this.load();
      });
    }
    this.syncChoices();
  }

  show(symbol: string): Promise<void> {
    this.symbol = symbol;
    return this.load();
  }

  add(symbol: string, timestamp: string, price: number): void {
    if (symbol !== this.symbol || !this.last || this.loading > 0) return;
    const start = toChartTime(
      Math.floor(Date.parse(timestamp) / INTERVAL_MS[this.interval]) * INTERVAL_MS[this.interval],
    ) as UTCTimestamp;
    if (start < this.last.time) return;
    if (start === this.last.time) {
      this.last = {
        ...this.last,
        high: Math.max(this.last.high, price),
        low: Math.min(this.last.low, price),
        close: price,
      };
    } else {
      this.last = { time: start, open: price, high: price, low: price, close: price };
      this.count++;
    }
    this.series?.update(this.last);
  }

  /** Intervals that do not fit the range are disabled; a chosen one that no longer fits moves to the next coarser. */
  private syncChoices(): void {
    const inputs = [...document.querySelectorAll<HTMLInputElement>('input[name=interval]')];
    for (const input of inputs) input.disabled = !fits(input.value as ShownInterval, this.range);
    if (!fits(this.interval, this.range)) {
      const next = inputs.find((i) => !i.disabled)!;
      next.checked = true;
      this.interval = next.value as ShownInterval;
    }
  }

  private async load(): Promise<void> {
    this.syncChoices();
    const symbol = this.symbol;
    if (!symbol) return;
    if (!this.chart) {
      this.chart = themedChart(this.container, () => this.series?.applyOptions(seriesColors()), false);
      this.series = this.chart.addSeries(CandlestickSeries, { ...seriesColors(), priceLineVisible: false });
    }
    const interval = this.interval;
    const range = this.range;
    const note = $('candles-note');
    $('candles-title').textContent = `${symbol} · ${interval} candles · last ${range}`;
    this.container.setAttribute('aria-label', `${symbol} candles of ${interval} over the last ${range}`);
    this.loading++;
    try {
      const to = new Date();
      const reply = await this.client.candles(symbol, { interval, from: new Date(to.getTime() - RANGE_MS[range]), to });
      if (symbol !== this.symbol || interval !== this.interval || range !== this.range) return;
      const bars: Bar[] = reply.candles.map((c) => ({
        time: toChartTime(c.start) as UTCTimestamp,
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
      }));
      this.series!.setData(bars);
      this.last = bars.at(-1);
      this.count = bars.length;
      this.container.dataset.interval = interval;
      this.container.dataset.range = range;
      note.textContent = bars.length === 0 ? `No ${symbol} prices in the last ${range}.` : '';
      this.chart!.timeScale().fitContent();
    } catch (err) {
      note.textContent = `Candles unavailable: ${(err as Error).message}`;
    } finally {
      this.loading--;
    }
  }
}
