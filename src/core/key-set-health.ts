// A handler whose key set is missing or empty denies every check; health
// says so too (NOT_SERVING on the authorization services' names, "" stays
// SERVING), until --keys-dir holds keys for every set that was missing.
import type { KeySets } from '../security/key-sets.js';
import type { AdapterHealth } from '../transport/health.js';
import { AUTHORIZATION_SERVICE } from '../wire/load.js';
import { EXT_AUTHZ_HEALTH } from '../wire/envoy.js';

const CAUSE = 'key sets';

export class KeySetHealth {
  private readonly missing = new Set<string>();

  constructor(
    private readonly health: AdapterHealth,
    private readonly keySets: () => KeySets | undefined,
  ) {}

  /** A check found `name` missing or empty. */
  report(name: string): void {
    if (this.missing.has(name)) return;
    this.missing.add(name);
    this.publish();
  }

  /** The key sets were re-read: sets that now hold keys are fine again. */
  recheck(): void {
    for (const name of this.missing) {
      if ((this.keySets()?.get(name)?.ids.size ?? 0) > 0) this.missing.delete(name);
    }
    this.publish();
  }

  private publish(): void {
    const on = this.missing.size > 0;
    this.health.degrade(AUTHORIZATION_SERVICE, on, CAUSE);
    this.health.degrade(EXT_AUTHZ_HEALTH, on, CAUSE);
  }
}
