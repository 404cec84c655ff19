import { runCli } from './run.js';

/** `npm run migrate`: applies pending migrations (every process also does this at start, under an advisory lock). */
await runCli(async () => {
  // startApp has migrated by the time the command runs; saying so is all that is left.
  console.log('migrations are up to date');
});
