#!/bin/sh
# check.sh regenerates bucket_amd64.s and bucket_stub_amd64.go from this
# generator and fails when they differ from the committed files: the
# assembly must never be edited by hand or drift from its generator.
# Run from anywhere: sh internal/asmgen/check.sh
set -eu
cd "$(dirname "$0")/../.."
go generate -run asmgen .
git diff --exit-code -- bucket_amd64.s bucket_stub_amd64.go || {
	echo "bucket_amd64.s is stale: run 'go generate .' and commit the result" >&2
	exit 1
}
echo "generated assembly is up to date"
