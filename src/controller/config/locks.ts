/**
 * Datastore locks (RFC 6241 section 7.5, Junos `lock-configuration`): one holder per
 * datastore, and the lock binds everyone else — a NETCONF session, a CLI `configure`
 * session, a REST or gRPC script alike. The store owns the locks so every adapter sees the
 * same ones; each adapter asks `mayChange` before it edits the shared candidate or commits.
 */

export type Datastore = 'running' | 'candidate';

/** Who holds a lock: any object, described for the error a refused user reads. */
export interface LockHolder {
  /** e.g. "NETCONF session 3 (alice)" */
  readonly lockName: string;
  /** the NETCONF session-id for `error-info`, 0 when the holder is not a NETCONF session */
  readonly lockSessionId: number;
}

/** A change refused because another holder has the datastore locked. */
export class LockedError extends Error {
  constructor(
    readonly datastore: Datastore,
    readonly holder: LockHolder,
  ) {
    super(`the ${datastore} configuration is locked by ${holder.lockName}`);
  }
}

export class DatastoreLocks {
  private readonly held = new Map<Datastore, LockHolder>();

  holder(ds: Datastore): LockHolder | undefined {
    return this.held.get(ds);
  }

  /** Takes the lock; throws LockedError when someone holds it (even `who` itself). */
  lock(ds: Datastore, who: LockHolder): void {
    const h = this.held.get(ds);
    if (h) throw new LockedError(ds, h);
    this.held.set(ds, who);
  }

  /** false when `who` did not hold it */
  unlock(ds: Datastore, who: LockHolder): boolean {
    if (this.held.get(ds) !== who) return false;
    this.held.delete(ds);
    return true;
  }

  /** Throws LockedError when another holder has any of `stores` locked. */
  mayChange(who: LockHolder | undefined, ...stores: Datastore[]): void {
    for (const ds of stores) {
      const h = this.held.get(ds);
      if (h && h !== who) throw new LockedError(ds, h);
    }
  }
}
