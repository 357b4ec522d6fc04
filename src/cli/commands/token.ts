import type { Command } from 'commander';
import { createToken, listTokens, revokeToken } from '../../access/tokens';
import { auditCliAction } from '../audit-cli';
import { withContainer } from '../context';
import { padToWidth } from '../display-width';
import { printable } from '../listing';
import { printResult } from '../output';

export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens with roles (owner, operator, viewer), stored hashed');
  token
    .command('create')
    .description('create a token and print it once (only its SHA-256 is stored)')
    .requiredOption('--role <role>', 'owner | operator | viewer')
    .option('--name <name>', 'who or what the token is for')
    .option('--phone <number>', 'phone for the SMS second factor (owners who need unmasked message data)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  bulksms token create --role owner --name alice --phone +919876543210 --json')
    .action(
      withContainer(async (c, opts: { role: string; name?: string; phone?: string; json?: boolean }) => {
        const result = await createToken(c, { role: opts.role, name: opts.name, phone: opts.phone });
        // Who made it (the OS user and host), as for every CLI action: the entry has no token to name.
        await auditCliAction(c, 'token.create', result.tokenId, { role: result.role });
        printResult(opts, { tokenId: result.tokenId, token: result.token, role: result.role, name: result.name }, () =>
          [
            `token ${result.tokenId} (${result.role}) created; it is shown only this once:`,
            result.token,
          ].join('\n'),
        );
      }),
    );
  token
    .command('list')
    .description('list tokens (ids, names, roles, masked phones, last use); secrets are never shown again')
    .option('--all', 'include revoked tokens')
    .option('--json', 'print one JSON object')
    .action(
      withContainer(async (c, opts: { all?: boolean; json?: boolean }) => {
        const tokens = await listTokens(c, { includeRevoked: opts.all });
        printResult(opts, { tokens }, () =>
          tokens.length
            ? tokens
                .map((t) => `${t.tokenId}  ${t.role.padEnd(8)} ${padToWidth(printable(t.name ?? '-'), 16)} ${t.phone ?? '-'}${t.revokedAt ? '  (revoked)' : ''}`)
                .join('\n')
            : 'no tokens',
        );
      }),
    );
  token
    .command('revoke <id>')
    .description('revoke a token by id (takes effect on the next request)')
    .option('--json', 'print one JSON object')
    .action(
      withContainer(async (c, id: string, opts: { json?: boolean }) => {
        const result = await revokeToken(c, id);
        await auditCliAction(c, 'token.revoke', id);
        printResult(opts, { tokenId: result.tokenId, revokedAt: result.revokedAt.toISOString() }, () => `token ${id} revoked`);
      }),
    );
}
