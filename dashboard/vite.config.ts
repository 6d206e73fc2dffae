// Vite build of the dashboard. `npm run build` writes dashboard/dist, which mailtap's
// express app serves at the --http address. In dev (`vite --config dashboard/vite.config.ts`)
// /api and /ws are proxied to a running mailtap given by MAILTAP_URL.
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('.', import.meta.url))
const target = process.env.MAILTAP_URL ?? 'http://127.0.0.1:8725'

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // React plus the EN/ES explanation tables: one ~420 kB chunk, fine for a local tool.
    chunkSizeWarningLimit: 600,
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target, changeOrigin: false },
      '/ws': { target: target.replace(/^http/, 'ws'), ws: true },
    },
  },
})
