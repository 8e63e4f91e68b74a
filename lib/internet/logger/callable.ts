/**
 * Twisted's observers, filters and predicates are callable objects: a FilteringLogObserver is
 * both an object with state and the function a publisher calls. A JavaScript class cannot be
 * called, so these constructors return a function that has the class's prototype.
 */

/** `call`, made an instance of the class whose prototype is given (for a constructor to return). */
export function callableInstance<T extends object>(prototype: object, call: (...args: never[]) => unknown): T {
  Object.setPrototypeOf(call, prototype);
  return call as unknown as T;
}
