import { describe, expect, it } from 'vitest';
import { parseWatchArgs } from '../src/cli/watch-command.js';

describe('lizards watch arguments', () => {
  it('when symbols and alert flags are given, then the symbols (alert symbols too) and the alerts are read', () => {
    expect(
      parseWatchArgs(['aapl', '--above', 'AAPL=230.5', '--below', 'tsla=180', '--change', 'NVDA=-5/300', 'AAPL']),
    ).toEqual({
      symbols: ['AAPL', 'TSLA', 'NVDA'],
      alerts: [
        { symbol: 'AAPL', above: 230.5 },
        { symbol: 'TSLA', below: 180 },
        { symbol: 'NVDA', change_pct: -5, window_s: 300 },
      ],
    });
  });

  it.each([
    [[], 'name at least one symbol'],
    [['AAPL', '--above'], '--above : expected --above SYMBOL=PRICE'],
    [['--above', 'AAPL'], '--above AAPL: expected --above SYMBOL=PRICE'],
    [['--below', 'AAPL=cheap'], '--below AAPL=cheap: expected --below SYMBOL=PRICE'],
    [['--above', '=230'], '--above =230: expected --above SYMBOL=PRICE'],
    [['--above', 'AAPL=230=5'], '--above AAPL=230=5: expected --above SYMBOL=PRICE'],
    [['--change', 'NVDA=-5'], '--change NVDA=-5: expected --change SYMBOL=PCT/SECONDS'],
    [['--change', 'NVDA=-5/1.5'], '--change NVDA=-5/1.5: expected --change SYMBOL=PCT/SECONDS'],
    [['AAPL', '--loud'], 'unknown option --loud'],
  ])('when given %j, then it is refused with a message saying why', (args, error) => {
    expect(parseWatchArgs(args)).toEqual({ error });
  });
});
