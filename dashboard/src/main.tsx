// Dashboard entry: mounts the app and opens the live socket.
import { createRoot } from 'react-dom/client'
import { App } from './views/app.tsx'
import { socket } from './live/sync.ts'
import './styles.css'

socket.start()
createRoot(document.getElementById('root')!).render(<App />)
