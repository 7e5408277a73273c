/**
 * `npm run bench`: runs every benchmark module in bench/ that exports `run()`, one after another
 * (they would steal each other's CPU on two cores), and prints their figures and ratios.
 * `npm run bench -- gateway` runs only the named ones.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface BenchResult {
  name: string;
  lines: string[];
}

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const modules = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, '')));

let failed = false;
for (const file of modules) {
  const mod = (await import(new URL(file, import.meta.url).href)) as { run?: () => Promise<BenchResult> };
  if (typeof mod.run !== 'function') continue;
  process.stdout.write(`\n== ${file} ==\n`);
  try {
    const result = await mod.run();
    process.stdout.write(`${result.name}\n${result.lines.map((l) => `  ${l}`).join('\n')}\n`);
  } catch (error) {
    failed = true;
    process.stdout.write(`  failed: ${(error as Error).stack ?? String(error)}\n`);
  }
}
process.exit(failed ? 1 : 0);
