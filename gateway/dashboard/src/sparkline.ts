const WIDTH = 96;
const HEIGHT = 26;
const MAX_POINTS = 240;

/**
 * A row's sparkline of the session: one point per minute (the minute's last price), the current minute
 * following live prices. Drawn as an SVG polyline scaled to its own low and high.
 */
export class Sparkline {
  readonly element: SVGSVGElement;
  private readonly line: SVGPolylineElement;
  /** Minute (epoch ms) → last price of that minute, in time order. */
  private readonly points = new Map<number, number>();

  constructor(label: string) {
    const ns = 'http://www.w3.org/2000/svg';
    this.element = document.createElementNS(ns, 'svg');
    this.element.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    this.element.setAttribute('class', 'sparkline');
    this.element.setAttribute('role', 'img');
    this.element.setAttribute('aria-label', label);
    this.line = document.createElementNS(ns, 'polyline');
    this.element.append(this.line);
  }

  get length(): number {
    return this.points.size;
  }

  /**
   * The session so far: minute closes from the candles route (replaces what was there, live points after them kept).
   */
  seed(closes: { start: string; close: number }[]): void {
    const live = [...this.points].filter(
      ([minute]) => closes.length === 0 || minute > Date.parse(closes.at(-1)!.start),
    );
    this.points.clear();
    for (const c of closes) this.points.set(Date.parse(c.start), c.close);
    for (const [minute, price] of live) this.points.set(minute, price);
    this.draw();
  }

  add(timestamp: string, price: number): void {
    const minute = Math.floor(Date.parse(timestamp) / 60_000) * 60_000;
    const lastMinute = [...this.points.keys()].at(-1);
    if (lastMinute !== undefined && minute < lastMinute) return;
    this.points.set(minute, price);
    while (this.points.size > MAX_POINTS) this.points.delete(this.points.keys().next().value!);
    this.draw();
  }

  private draw(): void {
    const values = [...this.points.values()];
    if (values.length === 0) {
      this.line.setAttribute('points', '');
      return;
    }
    const low = Math.min(...values);
    const high = Math.max(...values);
    const span = high - low || 1;
    const step = values.length > 1 ? WIDTH / (values.length - 1) : 0;
    const y = (v: number) => (HEIGHT - 2 - ((v - low) / span) * (HEIGHT - 4)).toFixed(1);
    const coords =
      values.length === 1
        ? [`0,${y(values[0]!)}`, `${WIDTH},${y(values[0]!)}`]
        : values.map((v, i) => `${(i * step).toFixed(1)},${y(v)}`);
    this.line.setAttribute('points', coords.join(' '));
    this.element.dataset.trend = values.at(-1)! > values[0]! ? 'up' : values.at(-1)! < values[0]! ? 'down' : 'flat';
  }
}
