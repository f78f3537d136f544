import { describe, expect, it } from 'vitest';
import { waitFor } from '@lizards/testkit';

describe('waitFor', () => {
  it('when the check turns truthy, then it returns that value; a throwing check is retried', async () => {
    let n = 0;
    const value = await waitFor(
      () => {
        if (++n < 3) throw new Error('not yet');
        return { n };
      },
      1000,
      'three polls',
      1,
    );
    expect(value).toEqual({ n: 3 });
  });

  it(
    'when abort gives a reason, then it stops at once with ' + 'that reason instead of waiting out the timeout',
    async () => {
      const started = Date.now();
      await expect(
        waitFor(
          () => false,
          10_000,
          'the service',
          20,
          () => 'it exited (1)',
        ),
      ).rejects.toThrow('gave up waiting for the service: it exited (1)');
      expect(Date.now() - started).toBeLessThan(5000);
    },
  );

  it('when the timeout passes, then it throws naming what it waited for and the last error', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('ECONNREFUSED');
        },
        50,
        'the port',
        5,
      ),
    ).rejects.toThrow(/timed out after 50 ms waiting for the port: ECONNREFUSED/);
  });
});
