/** `--name value` and bare `--name` flags of a script's command line. */
export function readFlags(argv: readonly string[] = process.argv.slice(2)) {
  return {
    /** The value after `--name`, or `def` when the flag (or its value) is missing. */
    value(name: string, def: string): string {
      const i = argv.indexOf(`--${name}`);
      return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
    },
    /** True when the bare flag `--name` is present. */
    has(name: string): boolean {
      return argv.includes(`--${name}`);
    },
  };
}
