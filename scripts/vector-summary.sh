#!/bin/sh
# Print how many published vectors each family ran, from the last ctest run's log.
log="${1:-build}/Testing/Temporary/LastTest.log"
[ -f "$log" ] || exit 0
echo "Published test vectors run (per family):"
grep '^vectors: ' "$log" | sed 's/^vectors: /  /' | sort
