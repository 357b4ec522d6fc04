import { loadManifest, parseManifest } from '../../../src/archive/manifest';
import { ValidationError } from '../../../src/errors';

describe('parseManifest', () => {
  it.each([
    ['not JSON', '{bad'],
    ['JSON of another shape', '{"hello":"world"}'],
  ])('a file that is %s is bad input (exit 2) naming the file, not a failing service', (_what, text) => {
    const parse = () => parseManifest(text, '/tmp/x/manifest.json');
    expect(parse).toThrow(ValidationError);
    expect(parse).toThrow(/^\/tmp\/x\/manifest\.json: not/);
    try {
      parse();
    } catch (err) {
      expect((err as ValidationError).exitCode).toBe(2);
    }
  });
});

describe('loadManifest', () => {
  const store = (text: string) => ({ location: '/srv/archive', readText: async () => text }) as unknown as Parameters<typeof loadManifest>[0];

  it("a damaged manifest in the archive's own store is the store's fault (exit 1)", async () => {
    await expect(loadManifest(store('{bad'))).rejects.toMatchObject({ exitCode: 1, message: expect.stringMatching(/^\/srv\/archive\/manifest\.json: not JSON/) });
  });

  it('a file the operator named that is not a manifest is bad input (exit 2)', async () => {
    await expect(loadManifest(store('{bad'), 'given.json', true)).rejects.toMatchObject({ exitCode: 2 });
  });
});
