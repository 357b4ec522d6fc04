/**
 * The `list` command group is shared by several command files (delete here; ls/show elsewhere). Each registers its
 * subcommands on the one group this returns: whichever registers first creates it, the others add to it.
 */
import type { Command } from 'commander';

export function listGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'list');
  if (existing) return existing;
  return program.command('list').description('contact lists imported with `bulksms import`: ls, show, delete');
}
