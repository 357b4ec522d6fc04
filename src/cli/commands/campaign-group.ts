/**
 * The `campaign` command group is shared by several command files (create here; start/pause/resume/cancel/
 * status/retry in the sending domain). Each registers its subcommands on the one group this returns.
 */
import type { Command } from 'commander';

export function campaignGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'campaign');
  if (existing) return existing;
  return program.command('campaign').description('create and run SMS campaigns');
}
