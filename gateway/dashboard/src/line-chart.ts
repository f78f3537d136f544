import { AreaSeries, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { LizardsClient } from '@lizards/client';
import { themedChart, toChartTime } from './chart-theme.js';
import { cssVar } from './formats.js';

const WINDOW_MS = 30 * 60_000;

function seriesColors() {
  const line = cssVar('--accent');
  return { lineColor: line, topColor: `${line}55`, bottomColor: `${line}05`, lineWidth: 2 as const };
}

/** The selected symbol's last 30 minutes from its history, one point per second, then its live prices. */
export class LineChart {
  private chart: IChartApi | undefined;
  private series: ISeriesApi<'Area'> | undefined;
  private symbol: string | undefined;
  private ready = false;
  private pending: { timestamp: string; price: number }[] = [];
  private lastTime = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly client: LizardsClient,
  ) {}

  async show(symbol: string): Promise<void> {
    this.symbol = symbol;
    if (!this.chart) {
      this.chart = themedChart(this.container, () => this.series?.applyOptions(seriesColors()), true);
      this.series = this.chart.addSeries(AreaSeries, {
        ...seriesColors(),
        priceLineVisible: true,
        lastValueVisible: true,
      });
    }
    this.ready = false;
    this.pending = [];
    this.lastTime = 0;
    this.series!.setData([]);
    const points = await this.client
      .history(symbol, { from: new Date(Date.now() - WINDOW_MS), limit: 5000 })
      .catch(() => []);
    if (this.symbol !== symbol) return;
    // One point per second (the chart's resolution): the last price of each second.
    const bySecond = new Map<number, number>();
    for (const p of points) bySecond.set(toChartTime(p.timestamp), p.price);
    const data = [...bySecond]
      .sort((a, b) => a[0] - b[0])
      .map(([time, value]) => ({ time: time as UTCTimestamp, value }));
    this.series!.setData(data);
    this.lastTime = data.at(-1)?.time ?? 0;
    this.ready = true;
    for (const p of this.pending.splice(0)) this.add(symbol, p.timestamp, p.price);
    this.chart!.timeScale().fitContent();
  }

  add(symbol: string, timestamp: string, price: number): void {
    if (symbol !== this.symbol) return;
    if (!this.ready) {
      this.pending.push({ timestamp, price });
      return;
    }
    const time = toChartTime(timestamp);
    if (time < this.lastTime) return;
    this.lastTime = time;
    this.series?.update({ time: time as UTCTimestamp, value: price });
  }
}
