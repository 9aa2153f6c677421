// Child-process entry of the simulator: registers the TypeScript loader, then runs the simulator.
import { register } from 'tsx/esm/api';

register();
await import('./sim-worker.ts');
