/** Resources released in reverse order of acquisition; the first error is kept (graphile-worker's withReleasers). */
export class Releasers {
  private readonly releasers: { name: string; release: () => Promise<unknown> | unknown }[] = [];

  add(name: string, release: () => Promise<unknown> | unknown): void {
    this.releasers.push({ name, release });
  }

  async releaseAll(): Promise<void> {
    let firstError: unknown;
    while (this.releasers.length > 0) {
      const r = this.releasers.pop();
      if (!r) break;
      try {
        await r.release();
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError) throw firstError;
  }
}
