/** The demo's worker: hosts the models the page creates with WorkerRNN. */
import { serveRNN } from '../src/index.js';

serveRNN();
