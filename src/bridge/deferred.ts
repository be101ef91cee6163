/** A promise with its resolve/reject outside; an unawaited rejection never becomes an unhandled one. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => {}); // consumers that await still see the rejection; nobody else crashes on it
  return { promise, resolve, reject };
}
