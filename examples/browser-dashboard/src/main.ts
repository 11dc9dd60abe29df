import { startDashboard } from './server.js';

const port = Number(process.env.PORT ?? 8080);
const { url } = await startDashboard(port);
console.log(`Dashboard on ${url} (Ctrl-C to stop)`);
