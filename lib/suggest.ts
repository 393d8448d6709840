// "Did you mean …?" for names a person types (software, people): the names closest to what
// was typed, by case-insensitive equality first, then edit distance.

/** Levenshtein distance, case-insensitive. */
export function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[y.length]!;
}

/** Up to three names close to `typed` (a third of its length may differ, at least 2), closest first. */
export function closestNames(typed: string, names: string[]): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 3));
  return names
    .map((name) => ({ name, d: distance(typed, name) }))
    .filter((c) => c.d <= limit && c.name !== typed)
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name))
    .slice(0, 3)
    .map((c) => c.name);
}
