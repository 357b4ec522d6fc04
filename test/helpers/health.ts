/**
 * A `/health` probe waits at most 1 s for the provider check (src/api/health.ts) and answers `skipped` ("first check
 * still in progress") when it takes longer: on a loaded machine, or while the request budget is spent. Tests that
 * want the check's result probe again until it is in.
 */
export async function probeUntilProviderChecked<T>(probe: () => Promise<T>, providerStatus: (answer: T) => string, timeoutMs = 5_000): Promise<T> {
  let answer = await probe();
  for (const end = Date.now() + timeoutMs; providerStatus(answer) === 'skipped' && Date.now() < end; answer = await probe()) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return answer;
}

/** The provider check's status in a `/health` answer read with the api-server helper's `http`. */
export function providerStatusOf(res: { json: <T>() => T }): string {
  return res.json<{ checks: { provider: { status: string } } }>().checks.provider.status;
}
