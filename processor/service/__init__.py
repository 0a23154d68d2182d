"""The long-running processor: the daemon, its worker processes, one job (load, process, save
a crash), and the wiring that opens the configured storage and queue (once, for every
command and service)."""
