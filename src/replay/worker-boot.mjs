// Worker-thread entry: registers the TypeScript loader in this thread, then runs the simulator worker.
import { register } from 'tsx/esm/api';

register();
await import('./sim-worker.ts');
