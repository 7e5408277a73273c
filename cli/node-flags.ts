/**
 * V8 flags every Porta process runs with: `npm start`, `npm run porta`, the `porta` command's
 * shebang, the test helpers' real processes and the gateway benchmark all pass these (a test checks
 * that package.json and the shebang agree with this list).
 *
 * `--no-memory-reducer`: V8's memory reducer compacts the heap of a process that has gone quiet for a
 * while, to hand memory back. A gateway that was idle for a minute then ran at about half its speed
 * for many seconds of load (the second rounds of the same processes in `npm run bench -- gateway`:
 * full/bare 0.50–0.66 with it in four runs, 0.72–0.87 without in two; the bare proxy, with a
 * smaller heap, was unaffected). A server keeps its peak heap instead (tens of MB).
 */
export const NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];
