/**
 * The console's build: served by the Stampede server under /console (src/app/console.ts), so every
 * asset URL carries that base. `npm run dev` proxies the API to a server on :3000.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 600 },
  server: { proxy: { '/v1': 'http://127.0.0.1:3000' } },
});
