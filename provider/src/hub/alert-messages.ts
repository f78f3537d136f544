import type { TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import {
  AboveAlert,
  AlertCancelMessage,
  BelowAlert,
  ChangeAlert,
  type AlertCondition,
  type AlertMessage,
} from '@lizards/contract';

const idChecker = TypeCompiler.Compile(AlertCancelMessage.properties.id);

const variants: [string, TypeCheck<TObject>][] = [
  ['above', TypeCompiler.Compile(AboveAlert)],
  ['below', TypeCompiler.Compile(BelowAlert)],
  ['change_pct', TypeCompiler.Compile(ChangeAlert)],
];
const cancelChecker = TypeCompiler.Compile(AlertCancelMessage);

/** `id`: a refused alert message's id, when it had a usable one. */
type Decoded<T> = { ok: true; message: T } | { ok: false; error: string; id?: string };

function firstError(check: TypeCheck<TObject>, value: unknown, type: string): string {
  const first = check.Errors(value).First();
  return `Invalid ${type} message: ${first ? `${first.path || '/'} ${first.message}` : 'bad shape'}`;
}

/** Checks an `alert` message: exactly one of `above`, `below` or `change_pct` (with `window_s`). */
export function decodeAlert(value: Record<string, unknown>): Decoded<AlertMessage> {
  const id = idChecker.Check(value.id) ? { id: value.id } : {};
  const present = variants.filter(([key]) => key in value);
  if (present.length !== 1) {
    const error = 'Invalid alert message: give exactly one of "above", "below" or "change_pct" (with "window_s")';
    return { ok: false, error, ...id };
  }
  const [, check] = present[0]!;
  if (!check.Check(value)) return { ok: false, error: firstError(check, value, 'alert'), ...id };
  if ('change_pct' in value && value.change_pct === 0) {
    return { ok: false, error: 'Invalid alert message: /change_pct must not be 0', ...id };
  }
  return { ok: true, message: value as AlertMessage };
}

export function decodeAlertCancel(value: Record<string, unknown>): Decoded<AlertCancelMessage> {
  if (!cancelChecker.Check(value)) return { ok: false, error: firstError(cancelChecker, value, 'alert_cancel') };
  return { ok: true, message: value as AlertCancelMessage };
}

/** The condition part of a checked alert message. */
export function conditionOf(msg: AlertMessage): AlertCondition {
  if ('above' in msg) return { above: msg.above };
  if ('below' in msg) return { below: msg.below };
  return { change_pct: msg.change_pct, window_s: msg.window_s };
}
