// Package deploy holds what runs wfbench as containers: nginx.conf, the reverse proxy's
// configuration that docker-compose.yml (at the repository's root) mounts. It has no
// code: its test checks the compose file with `docker-compose config` (no Docker engine
// needed) and that every flag and variable the file gives wfbench exists.
package deploy
