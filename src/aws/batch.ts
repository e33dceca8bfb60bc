/** Splits `items` into arrays of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Fetches every page: `fetch(token)` returns a page, `items` and `nextToken` read it. An empty-string
 * token ends pagination too, as some AWS APIs end it.
 */
export async function allPages<P, T>(
  fetch: (token: string | undefined) => Promise<P>,
  items: (page: P) => T[],
  nextToken: (page: P) => string | undefined,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    for (const item of items(page)) out.push(item);
    token = nextToken(page) || undefined;
  } while (token);
  return out;
}
