// A token bucket: take() resolves when a token is free, so a sender never exceeds `perSecond`
// (with a burst of at most `burst`). Used to keep announcement mail within SES's send rate.
export interface RateLimiter {
  take(): Promise<void>;
}

export function tokenBucket(
  perSecond: number,
  burst = Math.max(1, Math.floor(perSecond)),
  clock: () => number = Date.now,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): RateLimiter {
  if (!(perSecond > 0)) throw new Error('perSecond must be positive');
  let tokens = burst;
  let last = clock();
  let queue = Promise.resolve();
  const refill = () => {
    const now = clock();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond);
    last = now;
  };
  return {
    take() {
      // Serialise takers so each waits its turn.
      const turn = queue.then(async () => {
        refill();
        while (tokens < 1) {
          await sleep(Math.ceil(((1 - tokens) / perSecond) * 1000));
          refill();
        }
        tokens -= 1;
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}
