#!/usr/bin/env bash
# Prints the Debian archive URI the system's own apt sources use (what `apt-get
# indextargets` reports), so that no mirror host name is written in the
# repository.
set -euo pipefail
uri=$(apt-get indextargets --format '$(REPO_URI)' 'Origin: Debian' 'Label: Debian' 'Target-Of: deb' 2>/dev/null | sort -u | head -n1)
[ -n "$uri" ] || { echo "debian-mirror: no Debian archive in the system's apt sources (apt-get indextargets found none)" >&2; exit 1; }
echo "${uri%/}"
