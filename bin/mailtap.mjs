#!/usr/bin/env node
// The `mailtap` command: runs the TypeScript entry point through tsx's loader.
import { register } from 'tsx/esm/api'

register()
await import('../proxy/main.ts')
