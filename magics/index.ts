// Importing this module registers every built-in magic with the kernel's registry. Later modules
// (profiler, graph debugger, sweeps) add one import line here.
import './core.js';
import './timing.js';
