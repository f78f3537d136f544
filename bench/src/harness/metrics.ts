import { request } from 'undici';
import type { ServiceProcess } from './services.js';

/**
 * Sum of a Prometheus counter's samples whose labels contain every `labels` pair, scraped from a service's /metrics
 * on its admin listener (the one place that knows where a service serves it).
 */
export async function scrapeCounter(
  service: Pick<ServiceProcess, 'adminUrl'>,
  metric: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const res = await request(`${service.adminUrl}/metrics`);
  const text = await res.body.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
