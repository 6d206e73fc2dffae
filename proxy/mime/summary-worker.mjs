// Entry point of the summary worker. mailtap runs TypeScript through tsx; a worker thread
// inherits `--import tsx` from execArgv, but not the hooks of tsx's register() API that
// bin/mailtap.mjs uses. tsImport() loads the .ts worker either way, resolving tsx from here.
import { tsImport } from 'tsx/esm/api'

await tsImport('./summary-worker.ts', import.meta.url)
