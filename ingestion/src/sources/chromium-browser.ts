import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SourceUnavailableError } from '@lizards/lib';
import { findChildProcess, residentBytes } from './browser-process.js';
import type { SourceAvailability } from './source.js';

export interface ChromiumBrowserOptions {
  /** A Chromium installed on the machine (Debian's /usr/bin/chromium); no browser is ever downloaded. */
  executablePath: string;
  /** V8 heap limit of each page's renderer, in MB. */
  jsHeapMb: number;
  /**
   * After a page is closed, a browser process resident over this many bytes is closed; the next page launches a fresh
   * one.
   */
  maxResidentBytes: number;
  launchTimeoutMs?: number;
  log?: Pick<FastifyBaseLogger, 'info' | 'warn'>;
}

/** Headless Chromium with nothing that reaches the network on its own (updates, background fetches). */
export const CHROMIUM_LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** The first line of a Playwright error, without the API call it names (its later lines are a call log). */
export const playwrightMessage = (err: unknown): string =>
  ((err as Error).message ?? String(err))
    .split('\n')[0]!
    .replace(/^\w+\.\w+: /, '')
    .slice(0, 300);

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * One headless Chromium for the process: launched on first use and reused; launched again after it exits or
 * when it has grown over its memory bound. Each page gets a fresh context, closed when the page is done (also on
 * an error or an abort). The service's own shutdown closes it (Playwright's signal handlers are off).
 */
export class ChromiumBrowser {
  private launching: Promise<Browser> | undefined;
  private pid: number | undefined;
  private launchError: string | undefined;
  private closed = false;
  // Marks this browser's command line, to find its process for the memory bound.
  private readonly tag = `--lizards-browser=${randomUUID()}`;

  constructor(private readonly opts: ChromiumBrowserOptions) {}

  /** Unavailable while the executable is missing or its last launch failed; a later page tries again. */
  availability(): SourceAvailability {
    const reason = this.launchError ?? this.missingExecutable();
    return reason === undefined ? { available: true } : { available: false, reason };
  }

  /** Browser contexts open now (one per page in use). */
  async openContexts(): Promise<number> {
    const browser = await this.launching?.catch(() => undefined);
    return browser?.contexts().length ?? 0;
  }

  /** Runs `use` on a new page in a new context; the context is closed afterwards, and at once when `signal` aborts. */
  async withPage<T>(signal: AbortSignal, use: (page: Page) => Promise<T>): Promise<T> {
    const browser = await untilAborted(this.launched(), signal);
    const context = await browser.newContext({ serviceWorkers: 'block', acceptDownloads: false });
    // A second close() returns before the first is done: every caller waits on the first.
    let closing: Promise<void> | undefined;
    const closeContext = () => (closing ??= context.close().catch(() => {}));
    const abort = () => void closeContext();
    let pageInTheMaking: Promise<Page> | undefined;
    try {
      const making = context.newPage();
      const page = await untilAborted(making, signal).catch((err: unknown) => {
        pageInTheMaking = making;
        throw err;
      });
      signal.addEventListener('abort', abort, { once: true });
      signal.throwIfAborted();
      return await use(page);
    } catch (err) {
      throw signal.aborted ? (signal.reason as Error) : err;
    } finally {
      signal.removeEventListener('abort', abort);
      // Closing a context while its page is being made leaves newPage() unsettled for good (Playwright 1.65):
      // after an abort then, the context is closed once the page exists, or with the browser.
      if (pageInTheMaking) void pageInTheMaking.then(closeContext, closeContext);
      else await closeContext();
      await this.boundMemory();
    }
  }

  /** Closes the browser (waiting for a launch in progress); no page can be opened afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await this.shutDown();
  }

  private launched(): Promise<Browser> {
    if (this.closed) return Promise.reject(new SourceUnavailableError('the browser is closed'));
    if (!this.launching) {
      const launching = this.launch();
      this.launching = launching;
      launching.then(
        (browser) =>
          browser.on('disconnected', () => {
            if (this.launching !== launching) return;
            this.launching = undefined;
            this.pid = undefined;
            this.opts.log?.warn(
              { executablePath: this.opts.executablePath },
              'chromium exited; the next poll launches it again',
            );
          }),
        () => {
          if (this.launching === launching) this.launching = undefined;
        },
      );
    }
    return this.launching;
  }

  private async launch(): Promise<Browser> {
    const { executablePath } = this.opts;
    const missing = this.missingExecutable();
    if (missing) throw new SourceUnavailableError((this.launchError = missing));
    let browser: Browser;
    try {
      browser = await chromium.launch({
        executablePath,
        args: [...CHROMIUM_LAUNCH_ARGS, `--js-flags=--max-old-space-size=${this.opts.jsHeapMb}`, this.tag],
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        timeout: this.opts.launchTimeoutMs ?? 30_000,
      });
    } catch (err) {
      this.launchError = `chromium at ${executablePath} failed to launch: ${playwrightMessage(err)}`;
      throw new SourceUnavailableError(this.launchError);
    }
    this.launchError = undefined;
    this.pid = await findChildProcess(this.tag);
    this.opts.log?.info({ executablePath, pid: this.pid, version: browser.version() }, 'chromium launched');
    return browser;
  }

  private missingExecutable(): string | undefined {
    try {
      accessSync(this.opts.executablePath, constants.X_OK);
      return undefined;
    } catch {
      return `no executable chromium at ${this.opts.executablePath}`;
    }
  }

  private async boundMemory(): Promise<void> {
    const pid = this.pid;
    const resident = pid === undefined ? undefined : await residentBytes(pid);
    if (resident === undefined || resident <= this.opts.maxResidentBytes) return;
    this.opts.log?.warn(
      { pid, residentMb: Math.round(resident / 2 ** 20), maxMb: Math.round(this.opts.maxResidentBytes / 2 ** 20) },
      'chromium over its memory bound; closed, the next poll launches a fresh one',
    );
    await this.shutDown();
  }

  private async shutDown(): Promise<void> {
    const launching = this.launching;
    this.launching = undefined;
    this.pid = undefined;
    const browser = await launching?.catch(() => undefined);
    await browser?.close().catch(() => {});
  }
}
