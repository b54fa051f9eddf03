/**
 * Ownership of disposables. An owner adds what it creates to its store as it creates it; disposing
 * the store disposes all of it once, newest first (what was made later may use what was made
 * before). Something added to a store already disposed is disposed at once, so an owner that goes
 * away while an asynchronous creation is under way cannot leak what that creation makes.
 */

/** Anything with a `dispose()`: VS Code's disposables, event subscriptions, the update throttle. */
export interface Disposable {
  dispose(): unknown;
}

/** The disposables of one owner. */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed_ = false;

  /** Whether `dispose()` has been called. */
  get disposed(): boolean {
    return this.disposed_;
  }

  /** Keeps `d` until the store is disposed (disposes it now if the store already is); returns `d`. */
  add<T extends Disposable>(d: T): T {
    if (this.disposed_) d.dispose();
    else this.items.push(d);
    return d;
  }

  /**
   * Disposes everything added, newest first; later calls do nothing. Every item is disposed even if
   * some throw; then the error is rethrown (several as one AggregateError).
   */
  dispose(): void {
    if (this.disposed_) return;
    this.disposed_ = true;
    const errors: unknown[] = [];
    for (const d of this.items.splice(0).reverse()) {
      try {
        d.dispose();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'Several disposables failed to dispose.');
  }
}

/** A disposable that calls `fn` (an unsubscribe function, say). */
export function toDisposable(fn: () => void): Disposable {
  return { dispose: fn };
}
