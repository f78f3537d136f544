import { ColorType, createChart, type IChartApi } from 'lightweight-charts';
import { cssVar } from './formats.js';

function chartColors() {
  return {
    layout: {
      background: { type: ColorType.Solid, color: cssVar('--panel') },
      textColor: cssVar('--muted'),
      fontFamily: cssVar('--font'),
    },
    grid: { vertLines: { color: cssVar('--grid') }, horzLines: { color: cssVar('--grid') } },
    rightPriceScale: { borderColor: cssVar('--border') },
    timeScale: { borderColor: cssVar('--border'), timeVisible: true },
  };
}

/** A chart in the page's colours, following light and dark as they change; `restyle` recolours its series. */
export function themedChart(container: HTMLElement, restyle: () => void, secondsVisible: boolean): IChartApi {
  const chart = createChart(container, { autoSize: true, ...chartColors(), crosshair: { mode: 0 } });
  chart.applyOptions({ timeScale: { secondsVisible } });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    chart.applyOptions(chartColors());
    restyle();
  });
  return chart;
}

export function toChartTime(timestamp: string | number): number {
  return Math.floor((typeof timestamp === 'number' ? timestamp : Date.parse(timestamp)) / 1000);
}
