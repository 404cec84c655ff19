// Builds the operator console once, before the first `npm start` of a fresh clone, so the
// README's two commands serve /console. Later starts find it built and do nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';

if (!existsSync('dist/console/index.html')) {
  process.stderr.write('building the operator console (first start only): npm run build:console\n');
  const r = spawnSync('npm', ['run', '--silent', 'build:console', '--', '--logLevel', 'warn'], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
