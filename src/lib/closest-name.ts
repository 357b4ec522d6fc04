/**
 * The name a person most likely meant when the one typed matches nothing: "Orders" or "diwalli" for the list
 * "orders" or "diwali". A mistyped list name was answered "import it first", which sent people to import the file
 * again under the typo.
 */

/** Edits (insert, delete, substitute, swap two neighbours) between a and b; stops counting past `limit`. */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  // Optimal string alignment: Levenshtein plus transpositions ("dwiali"), the commonest slip on a keyboard.
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, beforePrevious[j - 2]! + 1);
      current.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Of `names`, the one `typed` most likely meant: equal but for case and surrounding spaces, else the closest within
 * a few edits (one per four characters typed, at least one); null when none is that close, or two are equally so.
 */
export function closestName(typed: string, names: readonly string[]): string | null {
  const wanted = typed.trim().toLowerCase();
  if (wanted === '') return null;
  const sameButCase = names.filter((n) => n.trim().toLowerCase() === wanted);
  if (sameButCase.length) return sameButCase.length === 1 ? sameButCase[0]! : null;
  const limit = Math.max(1, Math.floor(wanted.length / 4));
  let best: string | null = null;
  let bestDistance = limit + 1;
  let tie = false;
  for (const name of names) {
    const d = editDistance(wanted, name.trim().toLowerCase(), limit);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance && name !== best) {
      tie = true;
    }
  }
  return best !== null && !tie ? best : null;
}
