import type { Writable } from 'node:stream';
import { type Dispatcher, errors } from 'undici';
import type { HeaderMap } from './hop-by-hop.js';

/**
 * Where a relayed response goes: called once with the upstream's status and headers, returns the writable for the
 * body.
 */
export type RelayTarget = (status: number, headers: HeaderMap) => Writable;

/**
 * An undici dispatch handler that writes the upstream's response into the writable `respond` returns at the headers,
 * pausing the upstream while the writable needs draining. `settle` is called once: without an error when the body has
 * been written (the writable closed after finishing), with the error when the request failed — before the headers,
 * or after them (the writable is then destroyed), or when the writable closed early (`ERR_STREAM_PREMATURE_CLOSE`,
 * the upstream request is then aborted).
 *
 * What undici's `stream()` does, without its `AsyncResource` per request and `finished()`'s listeners: one `close`
 * and one `drain` listener.
 */
export class ResponseRelay implements Dispatcher.DispatchHandler {
  private res: Writable | null = null;
  private controller: Dispatcher.DispatchController | null = null;
  private error: Error | null = null;
  private settled = false;

  constructor(
    private readonly answered: (status: number) => void,
    private readonly respond: RelayTarget,
    private readonly settle: (err: Error | null) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: HeaderMap): void {
    if (statusCode < 200 || this.res || this.settled) return;
    this.answered(statusCode);
    let res: Writable;
    try {
      res = this.respond(statusCode, headers);
    } catch (err) {
      controller.abort(err as Error);
      return;
    }
    this.res = res;
    res.on('close', this.onClose);
    res.on('drain', this.onDrain);
    if (res.destroyed || res.closed) process.nextTick(this.onClose);
    else if (res.writableNeedDrain) controller.pause();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res && !this.res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.res?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const res = this.res;
    if (!res) {
      this.finish(err);
      return;
    }
    this.error ??= err;
    res.destroy(err);
  }

  private readonly onDrain = (): void => {
    this.controller?.resume();
  };

  private readonly onClose = (): void => {
    if (this.error || (this.res as Writable).writableFinished) {
      this.finish(this.error);
      return;
    }
    this.finish(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    this.controller?.abort(new errors.RequestAbortedError());
  };

  private finish(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(err);
  }
}
