// `npm run bench`: every benchmark, printed figures with their targets. Sections whose module
// is not built in this checkout are skipped with a note. Pass section names to run a subset
// (e.g. `node dist/bench/run.js ring protocol`).

import * as fs from 'node:fs';
import * as path from 'node:path';

const SECTIONS: Array<[string, string, string]> = [
  ['ring', './ring', 'benchRing'],
  ['protocol', './protocol', 'benchProtocol'],
  ['nic', './nic', 'benchNic'],
  ['tcp', './tcp', 'benchTcp'],
  ['peer', './peer', 'benchPeer'],
];

async function main(): Promise<void> {
  const want = process.argv.slice(2);
  for (const [name, mod, fn] of SECTIONS) {
    if (want.length && !want.includes(name)) continue;
    const file = path.join(__dirname, mod + '.js');
    if (!fs.existsSync(file)) {
      console.log(`# ${name}: not built, skipped`);
      continue;
    }
    console.log(`\n===== ${name} =====`);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    await require(file)[fn]();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
