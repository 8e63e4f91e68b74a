/**
 * Interleaved rounds: every side is measured in every round, the order reversed from one round
 * to the next, so that none always runs first (on a freshly collected heap, a cool CPU, a
 * quiet machine) and a slow spell of the machine touches all sides alike.
 */

/** The order of round `round` (from 0): as given in even rounds, reversed in odd ones. */
export function roundOrder<T>(sides: readonly T[], round: number): readonly T[] {
  return round % 2 ? [...sides].reverse() : sides;
}

/**
 * `rounds` rounds of `measure` for each side, in roundOrder; each side's results in round
 * order. `onRound`, if given, sees each round's results as it ends.
 */
export async function interleave<K extends string, R>(
  sides: readonly K[],
  rounds: number,
  measure: (side: K, round: number) => R | Promise<R>,
  onRound?: (round: number, results: Record<K, R>) => void,
): Promise<Record<K, R[]>> {
  const all = Object.fromEntries(sides.map((side) => [side, [] as R[]])) as Record<K, R[]>;
  for (let r = 0; r < rounds; r++) {
    const results = {} as Record<K, R>;
    for (const side of roundOrder(sides, r)) {
      results[side] = await measure(side, r);
      all[side].push(results[side]);
    }
    onRound?.(r, results);
  }
  return all;
}
