"""Process setup every command shares: threads, memory, quiet output, progress, devices,
distributed ranks, the config and its --help, and the checks Hydra runs before a job."""
