import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  commonConfigProperties,
  listSetting,
  portSetting,
  SourceConfigError,
  storeTopologyConfigProperties,
} from '@lizards/lib';
import { POLLED_SOURCE_IDS, type PolledSourceId } from './ticks/tick.js';

const optionalUrl = (description: string) => Type.Optional(Type.String({ pattern: '^https?://', description }));

/**
 * Every environment variable ingestion reads. Source settings without a default here fall back to the config file, then
 * to built-in defaults.
 */
export const IngestionConfig = Type.Object({
  ...commonConfigProperties,
  INGESTION_CONFIG_FILE: Type.Optional(
    Type.String({ minLength: 1, description: 'JSON file with sources, symbols and intervals (env wins over it)' }),
  ),
  SOURCES: Type.Optional(Type.String({ description: 'comma-separated enabled sources (default simulated)' })),
  SYMBOLS: Type.Optional(
    Type.String({ description: 'comma-separated symbol universe (default: the 60 built-in US tickers)' }),
  ),
  POLL_INTERVAL_MS: Type.Optional(
    Type.Integer({ minimum: 100, description: 'poll interval of the HTTP sources (default 60000)' }),
  ),
  SIMULATED_SEED: Type.Optional(Type.Integer({ description: 'seed of the simulated market (default 42)' })),
  SIMULATED_TICK_MS: Type.Optional(
    Type.Integer({ minimum: 10, description: 'simulated market tick interval (default 1000)' }),
  ),
  STOOQ_BASE_URL: optionalUrl('default https://stooq.com/'),
  YAHOO_BASE_URL: optionalUrl('default https://query1.finance.yahoo.com/'),
  ALPHAVANTAGE_BASE_URL: optionalUrl('default https://www.alphavantage.co/'),
  FINNHUB_BASE_URL: optionalUrl('default https://finnhub.io/api/v1/'),
  ALPHAVANTAGE_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  FINNHUB_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  HTML_URL: optionalUrl('page scraped by the html source'),
  HTML_SELECTORS: Type.Optional(
    Type.String({ description: 'JSON {"row","symbol","price"[,"timestamp"][,"volume"]} of CSS selectors' }),
  ),
  RENDERED_URL: optionalUrl('page loaded in headless Chromium by the rendered source'),
  RENDERED_SELECTORS: Type.Optional(
    Type.String({ description: 'JSON selectors of the rendered page, as HTML_SELECTORS' }),
  ),
  RENDERED_WAIT_FOR: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'CSS selector the rendered page must show before it is read (default: the row selector)',
    }),
  ),
  RENDERED_TIMEOUT_MS: Type.Integer({
    default: 5000,
    minimum: 100,
    description: 'longest wait for the page to load and show RENDERED_WAIT_FOR; below FETCH_TIMEOUT_MS',
  }),
  RENDERED_CHROMIUM_PATH: Type.String({
    default: '/usr/bin/chromium',
    minLength: 1,
    description: 'the Chromium the rendered source drives (never downloaded)',
  }),
  RENDERED_JS_HEAP_MB: Type.Integer({
    default: 128,
    minimum: 16,
    description: "V8 heap limit of the rendered page's renderer",
  }),
  RENDERED_BROWSER_MAX_MB: Type.Integer({
    default: 512,
    minimum: 64,
    description: 'resident size over which the browser process is restarted after a poll',
  }),
  FETCH_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 50 }),
  FETCH_CONCURRENCY: Type.Integer({ default: 4, minimum: 1 }),
  FETCH_MAX_BYTES: Type.Integer({ default: 2_097_152, minimum: 1024 }),
  BACKOFF_BASE_MS: Type.Integer({ default: 1000, minimum: 10 }),
  BACKOFF_MAX_MS: Type.Integer({ default: 300_000, minimum: 10 }),
  TICK_MAX_FUTURE_SKEW_MS: Type.Integer({ default: 10_000, minimum: 0 }),
  AMQP_URL: Type.Optional(Type.String({ pattern: '^amqps?://' })),
  ...storeTopologyConfigProperties,
  PUBLISH_BATCH_SIZE: Type.Integer({ default: 500, minimum: 1 }),
  OUTBOX_RETRY_MS: Type.Integer({ default: 5000, minimum: 50 }),
  PUBLISH_TIMEOUT_MS: Type.Integer({
    default: 10_000,
    minimum: 10,
    description: 'how long a poll or gRPC call waits for a confirm before leaving its ticks to the outbox',
  }),
  MONGO_URL: Type.Optional(Type.String({ pattern: '^mongodb(\\+srv)?://' })),
  MONGO_DB: Type.String({ default: 'lizards', minLength: 1 }),
  RAW_RETENTION_DAYS: Type.Number({ default: 7, exclusiveMinimum: 0 }),
  RAW_STORE_DIR: Type.Optional(Type.String({ minLength: 1 })),
  RAW_STORE_MAX_BYTES: Type.Integer({
    default: 67_108_864,
    minimum: 1_048_576,
    description:
      'byte budget of the embedded raw store: published documents are evicted for room, unpublished never; ' +
      'when they fill it new input is refused',
  }),
  RAW_RECOVER_AFTER_MS: Type.Integer({
    default: 60_000,
    minimum: 0,
    description: 'at start, unprocessed raw documents older than this are processed',
  }),
  GRPC_PORT: portSetting({ default: 0 }),
  GRPC_MAX_MESSAGE_BYTES: Type.Integer({ default: 1_048_576, minimum: 1024 }),
  INGEST_TOKEN: Type.Optional(
    Type.String({
      minLength: 16,
      description: 'bearer token every ProcessData call must carry; required unless HOST is loopback',
    }),
  ),
  GRPC_MAX_CONCURRENT_CALLS_PER_PEER: Type.Integer({
    default: 8,
    minimum: 1,
    description: 'ProcessData calls one client address may have in flight',
  }),
  GRPC_RATE_LIMIT_MAX: Type.Integer({
    default: 50,
    minimum: 1,
    description: 'ProcessData calls one client address may make per window',
  }),
  GRPC_RATE_LIMIT_WINDOW_MS: Type.Integer({ default: 1000, minimum: 100 }),
});
export type IngestionConfig = Static<typeof IngestionConfig>;

const Symbols = Type.Array(Type.String({ minLength: 1 }));
const strict = { additionalProperties: false };
const HttpSourceFile = Type.Partial(
  Type.Object({
    baseUrl: Type.String({ pattern: '^https?://' }),
    intervalMs: Type.Integer({ minimum: 100 }),
    symbols: Symbols,
  }),
  strict,
);

export const HtmlSelectorsSchema = Type.Object(
  {
    row: Type.String({ minLength: 1 }),
    symbol: Type.String({ minLength: 1 }),
    price: Type.String({ minLength: 1 }),
    timestamp: Type.Optional(Type.String({ minLength: 1 })),
    volume: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

/** A quote page's settings in the config file: the `html` source's, and the `rendered` source's. */
const quotePageFields = {
  url: Type.String({ pattern: '^https?://' }),
  intervalMs: Type.Integer({ minimum: 100 }),
  symbols: Symbols,
  selectors: HtmlSelectorsSchema,
};

/** The optional JSON config file (INGESTION_CONFIG_FILE). API keys are not read from it: env only. */
export const IngestionFileConfig = Type.Object(
  {
    sources: Type.Optional(Type.Array(Type.String())),
    symbols: Type.Optional(Symbols),
    pollIntervalMs: Type.Optional(Type.Integer({ minimum: 100 })),
    simulated: Type.Optional(
      Type.Partial(
        Type.Object({ seed: Type.Integer(), tickMs: Type.Integer({ minimum: 10 }), symbols: Symbols }),
        strict,
      ),
    ),
    stooq: Type.Optional(HttpSourceFile),
    yahoo: Type.Optional(HttpSourceFile),
    alphavantage: Type.Optional(HttpSourceFile),
    finnhub: Type.Optional(HttpSourceFile),
    html: Type.Optional(Type.Partial(Type.Object(quotePageFields), strict)),
    // The same page settings, and the selector the rendered page must show before it is read.
    rendered: Type.Optional(
      Type.Partial(Type.Object({ ...quotePageFields, waitFor: Type.String({ minLength: 1 }) }), strict),
    ),
  },
  { additionalProperties: false },
);
export type IngestionFileConfig = Static<typeof IngestionFileConfig>;

/** Checks a parsed config file against its schema. */
export function parseFileConfig(json: unknown): IngestionFileConfig {
  const error = Value.Errors(IngestionFileConfig, json).First();
  if (error) throw new SourceConfigError(`config file ${error.path || '(root)'}: ${error.message}`);
  return json as IngestionFileConfig;
}

interface CommonSourceSettings {
  intervalMs: number;
  symbols: string[];
}
export type SourceSettings =
  | ({ id: 'simulated'; seed: number } & CommonSourceSettings)
  | ({ id: 'stooq' | 'yahoo'; baseUrl: string } & CommonSourceSettings)
  | ({ id: 'alphavantage' | 'finnhub'; baseUrl: string; apiKey: string } & CommonSourceSettings)
  | ({ id: 'html'; url: string; selectors: Static<typeof HtmlSelectorsSchema> } & CommonSourceSettings)
  | ({
      id: 'rendered';
      url: string;
      selectors: Static<typeof HtmlSelectorsSchema>;
      waitFor: string;
      timeoutMs: number;
      maxBytes: number;
      browser: { executablePath: string; jsHeapMb: number; maxResidentBytes: number };
    } & CommonSourceSettings);

export const DEFAULT_BASE_URLS = {
  stooq: 'https://stooq.com/',
  yahoo: 'https://query1.finance.yahoo.com/',
  alphavantage: 'https://www.alphavantage.co/',
  finnhub: 'https://finnhub.io/api/v1/',
} as const;

const DEFAULT_POLL_INTERVAL_MS = 60_000;
const DEFAULT_SIMULATED_TICK_MS = 1000;
const DEFAULT_SIMULATED_SEED = 42;

function parseSelectors(
  text: string,
  variable: 'HTML_SELECTORS' | 'RENDERED_SELECTORS',
): Static<typeof HtmlSelectorsSchema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SourceConfigError(`${variable} is not JSON`);
  }
  const error = Value.Errors(HtmlSelectorsSchema, json).First();
  if (error) throw new SourceConfigError(`${variable}${error.path}: ${error.message}`);
  return json as Static<typeof HtmlSelectorsSchema>;
}

/** Resolves which sources run, for which symbols and how often: env, then the config file, then defaults. */
export function resolveSourceSettings(
  config: IngestionConfig,
  file: IngestionFileConfig = {},
  defaultSymbols: readonly string[] = [],
): SourceSettings[] {
  const ids = config.SOURCES !== undefined ? listSetting(config.SOURCES) : (file.sources ?? ['simulated']);
  const unknown = ids.filter((id) => !(POLLED_SOURCE_IDS as readonly string[]).includes(id));
  if (unknown.length > 0)
    throw new SourceConfigError(`unknown source(s) ${unknown.join(', ')}; known: ${POLLED_SOURCE_IDS.join(', ')}`);
  const universe = config.SYMBOLS !== undefined ? listSetting(config.SYMBOLS) : (file.symbols ?? [...defaultSymbols]);
  const pollMs = config.POLL_INTERVAL_MS ?? file.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const envBase: Record<'stooq' | 'yahoo' | 'alphavantage' | 'finnhub', string | undefined> = {
    stooq: config.STOOQ_BASE_URL,
    yahoo: config.YAHOO_BASE_URL,
    alphavantage: config.ALPHAVANTAGE_BASE_URL,
    finnhub: config.FINNHUB_BASE_URL,
  };
  return [...new Set(ids as PolledSourceId[])].map((id): SourceSettings => {
    switch (id) {
      case 'simulated':
        return {
          id,
          seed: config.SIMULATED_SEED ?? file.simulated?.seed ?? DEFAULT_SIMULATED_SEED,
          intervalMs: config.SIMULATED_TICK_MS ?? file.simulated?.tickMs ?? DEFAULT_SIMULATED_TICK_MS,
          symbols: config.SYMBOLS !== undefined ? universe : (file.simulated?.symbols ?? universe),
        };
      case 'html': {
        const url = config.HTML_URL ?? file.html?.url;
        const selectors =
          config.HTML_SELECTORS !== undefined
            ? parseSelectors(config.HTML_SELECTORS, 'HTML_SELECTORS')
            : file.html?.selectors;
        if (!url || !selectors) throw new SourceConfigError('the html source needs HTML_URL and HTML_SELECTORS');
        return {
          id,
          url,
          selectors,
          intervalMs: file.html?.intervalMs ?? pollMs,
          symbols: file.html?.symbols ?? universe,
        };
      }
      case 'rendered': {
        const url = config.RENDERED_URL ?? file.rendered?.url;
        const selectors =
          config.RENDERED_SELECTORS !== undefined
            ? parseSelectors(config.RENDERED_SELECTORS, 'RENDERED_SELECTORS')
            : file.rendered?.selectors;
        if (!url || !selectors)
          throw new SourceConfigError('the rendered source needs RENDERED_URL and RENDERED_SELECTORS');
        if (config.RENDERED_TIMEOUT_MS >= config.FETCH_TIMEOUT_MS) {
          throw new SourceConfigError(
            `RENDERED_TIMEOUT_MS (${config.RENDERED_TIMEOUT_MS}) must be below ` +
              `FETCH_TIMEOUT_MS (${config.FETCH_TIMEOUT_MS}), which bounds the whole fetch`,
          );
        }
        return {
          id,
          url,
          selectors,
          waitFor: config.RENDERED_WAIT_FOR ?? file.rendered?.waitFor ?? selectors.row,
          timeoutMs: config.RENDERED_TIMEOUT_MS,
          maxBytes: config.FETCH_MAX_BYTES,
          browser: {
            executablePath: config.RENDERED_CHROMIUM_PATH,
            jsHeapMb: config.RENDERED_JS_HEAP_MB,
            maxResidentBytes: config.RENDERED_BROWSER_MAX_MB * 2 ** 20,
          },
          intervalMs: file.rendered?.intervalMs ?? pollMs,
          symbols: file.rendered?.symbols ?? universe,
        };
      }
      case 'alphavantage':
      case 'finnhub': {
        const apiKey = id === 'alphavantage' ? config.ALPHAVANTAGE_API_KEY : config.FINNHUB_API_KEY;
        if (!apiKey) throw new SourceConfigError(`the ${id} source needs ${id.toUpperCase()}_API_KEY`);
        const f = file[id];
        return {
          id,
          apiKey,
          baseUrl: envBase[id] ?? f?.baseUrl ?? DEFAULT_BASE_URLS[id],
          intervalMs: f?.intervalMs ?? pollMs,
          symbols: f?.symbols ?? universe,
        };
      }
      default: {
        const f = file[id];
        return {
          id,
          baseUrl: envBase[id] ?? f?.baseUrl ?? DEFAULT_BASE_URLS[id],
          intervalMs: f?.intervalMs ?? pollMs,
          symbols: f?.symbols ?? universe,
        };
      }
    }
  });
}
