/**
 * Serves the dashboard (plain HTML/JS/CSS in ./dashboard). The files are read once at start-up; when running
 * from a tsc build (dist/), they are found in the source tree because tsc does not copy non-TS files.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { projectPath } from '../lib/project-path';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The source tree's copy, whether this runs from src/ or from a tsc build (tsc does not copy non-TS files). */
function dashboardDir(): string {
  const dir = projectPath('src', 'api', 'dashboard');
  if (!existsSync(path.join(dir, 'index.html'))) throw new Error(`dashboard files not found in ${dir}`);
  return dir;
}

export function registerDashboard(app: FastifyInstance): void {
  const dir = dashboardDir();
  const contents = Object.fromEntries(Object.keys(FILES).map((f) => [f, readFileSync(path.join(dir, f))]));
  const send = (file: string) => async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply
      .header('content-type', FILES[file]!)
      .header('cache-control', 'no-cache')
      // The page only talks to this origin; a strict CSP limits what an injected string could do.
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
      .send(contents[file]);
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard/', { schema: { hide: true } }, send('index.html'));
  app.get('/dashboard', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/dashboard/'));
  for (const file of Object.keys(FILES)) app.get(`/dashboard/${file}`, { schema: { hide: true } }, send(file));
}
