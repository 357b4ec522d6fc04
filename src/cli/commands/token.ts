import type { Command } from 'commander';
import { createToken, listTokens, revokeToken, type TokenSummary } from '../../access/tokens';
import { auditCliAction } from '../audit-cli';
import { withContainer } from '../context';
import { formatTable, istOrDash } from '../listing';
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
        // A table with a header, like `campaign list` and `list ls`: bare columns left "-" and the role to guess, and
        // the last use the help promises was not printed at all.
        printResult(opts, { tokens }, () =>
          tokens.length
            ? formatTable(tokens, [
                { header: 'ID', value: (t) => t.tokenId },
                { header: 'ROLE', value: (t) => t.role },
                { header: 'NAME', value: (t) => t.name ?? '-', max: 24 },
                { header: 'PHONE', value: (t) => t.phone ?? '-' },
                { header: 'CREATED', value: (t) => istOrDash(t.createdAt) },
                { header: 'LAST USED', value: (t) => istOrDash(t.lastUsedAt) },
                ...(opts.all ? [{ header: 'REVOKED', value: (t: TokenSummary) => istOrDash(t.revokedAt) }] : []),
              ])
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
