"""Real panda-server 1.0.4 behind a lab TLS front: installer, configuration, launcher, CLI (docs/panda-real.md)."""
