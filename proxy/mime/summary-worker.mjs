// Entry point of the summary worker. mailtap runs TypeScript through tsx, either with
// `--import tsx` or with tsx's register() API (bin/mailtap.mjs), whose hooks a worker does
// not inherit; the worker starts with no node flags (summary.ts says why). tsImport()
// loads the .ts worker in every case, resolving tsx from here, not from the cwd.
import { tsImport } from 'tsx/esm/api'

await tsImport('./summary-worker.ts', import.meta.url)
