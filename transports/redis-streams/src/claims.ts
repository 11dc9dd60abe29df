import { Renewal } from '@nest-transports/shared';

/**
 * Keeps held entries from being taken over while their handlers run: every third of `claimIdle`
 * the held ids are claimed again by their own consumer (`XCLAIM … JUSTID`, which resets their idle
 * time and leaves the delivery count alone).
 */
export class ClaimRenewal extends Renewal<string> {
  constructor(
    claimIdle: number,
    /** Claims `ids` again for this consumer; returns how many it still owned. */
    renew: (ids: string[]) => Promise<number>,
    /** Some ids were no longer this consumer's (another took them over), or Redis did not answer. */
    onLost: (count: number, err?: unknown) => void,
  ) {
    super(
      async (ids) => {
        try {
          for (let i = 0; i < ids.length; i += 1000) {
            const chunk = ids.slice(i, i + 1000);
            const owned = await renew(chunk);
            if (owned < chunk.length) onLost(chunk.length - owned);
          }
        } catch (err) {
          // Redis is away: the entries stay with this consumer until another takes them after claimIdle.
          onLost(0, err);
        }
      },
      Math.max(50, Math.floor(claimIdle / 3)),
    );
  }
}
